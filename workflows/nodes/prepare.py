"""prepare: fetch the base commit into the job's git dir and read ``.shipyard.yml`` at it."""

from __future__ import annotations

from pathlib import Path

from langchain_core.runnables import RunnableConfig

from workflows.gitops import GitError, GitRepo
from workflows.job_refs import git_dir, save_job_commit
from workflows.nodes import services_of
from workflows.repo_config import CONFIG_FILE, ConfigError, RepoConfig, parse_repo_config
from workflows.state import TicketState

BASE_MARKER = ".shipyard-base-sha"
"""In the base tree: the commit it holds."""


def base_tree_dir(job_dir: Path) -> Path:
    """A read-only checkout of the base commit on the orchestrator's host (parsed, never run)."""
    return job_dir / "base"


STORED_CONFIG = "stored configuration"


def config_source(committed: bytes | None, stored: str | None) -> tuple[str | None, str, str]:
    """The configuration text that applies, the name its errors are reported under, and where it
    comes from: the repository's committed ``.shipyard.yml`` wins over the copy kept in the
    store; neither means the defaults."""
    if committed is not None:
        return committed.decode("utf-8", "replace"), CONFIG_FILE, f"from {CONFIG_FILE}"
    if stored:
        return (
            stored,
            f"{STORED_CONFIG} ({CONFIG_FILE})",
            f"{STORED_CONFIG} (shipyard init; no {CONFIG_FILE} committed)",
        )
    return None, CONFIG_FILE, f"defaults (no {CONFIG_FILE})"


def prepare(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    ticket = state["ticket"]
    if not (ticket["title"].strip() or ticket["body"].strip()):
        return {"outcome": "blocked", "reason": "the ticket is empty: give it a title and a description of the change"}
    if state.get("base_sha"):
        return {}
    repo = state["repo"]
    services.recorder.event("prepare", f"fetching {repo['name']} ({repo['base_branch']})")
    gdir = git_dir(services.job_dir)
    tree = base_tree_dir(services.job_dir)
    try:
        base_sha = services.forge.clone(repo["url"], repo["base_branch"], gdir, tree)
    except (GitError, RuntimeError) as exc:
        return {"outcome": "blocked", "reason": f"cannot fetch the repository: {exc}"}
    # The clone's checkout is the base tree the next steps read: kept, not checked out again.
    (tree / BASE_MARKER).write_text(base_sha)
    raw = GitRepo(gdir).show_file(base_sha, CONFIG_FILE)
    text, name, source = config_source(raw, repo.get("config"))
    try:
        repo_config = parse_repo_config(text, name) if text is not None else RepoConfig()
    except ConfigError as exc:
        return {"outcome": "blocked", "reason": f"invalid configuration: {exc}", "base_sha": base_sha}
    if not repo_config.test.command.strip():
        return {
            "outcome": "blocked",
            "reason": f"{CONFIG_FILE}: test.command: empty — the gate needs a command that runs the test suite",
        }
    services.recorder.set_job(base_sha=base_sha)
    save_job_commit(services, repo, state["job_id"], base_sha)  # the base stays reachable if the branch moves on
    services.recorder.repository_cap(repo_config.queue.max_running_jobs)
    services.recorder.event("prepare", f"base commit {base_sha[:10]}; configuration {source}")
    return {
        "base_sha": base_sha,
        "head_sha": base_sha,
        "config": repo_config.model_dump(mode="json"),
        "attempt": 0,
        "gate_failures": 0,
    }
