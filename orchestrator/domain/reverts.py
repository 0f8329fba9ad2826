"""Reverts of merged agent pull requests, found on the base branch and recorded on the ledger.

A revert names the commit it undoes: ``git revert`` and GitHub's *Revert* button both write
"This reverts commit <sha>" (the button adds ", reversing changes made to …"). Each merged job's
merge commit (kept on its ``merged`` event) is looked for in the base branch's later history; a
match is recorded once, as a ``reverted`` event on the job, and counted by the outcome metrics.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from orchestrator.domain.jobs import add_event
from orchestrator.store.paths import resolved_path
from orchestrator.store.tables import Event, Job, JobState, Repository, Ticket
from workflows.gitops import GitError, GitRepo, run_git

log = logging.getLogger("shipyard.reverts")
REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")


@dataclass(frozen=True)
class MergedJob:
    job_id: int
    merge_commit: str
    repository_id: int


def _merged_jobs(session) -> list[MergedJob]:
    reverted = set(session.scalars(select(Event.job_id).where(Event.kind == "reverted")))
    rows = session.execute(
        select(Job.id, Ticket.repository_id, Event.data)
        .join(Ticket, Job.ticket_id == Ticket.id)
        .join(Event, Event.job_id == Job.id)
        .where(Job.state == JobState.MERGED.value, Event.kind == "merged")
    )
    return [
        MergedJob(job_id, (data or {})["merge_commit"], repo_id)
        for job_id, repo_id, data in rows
        if job_id not in reverted and (data or {}).get("merge_commit")
    ]


def reverts_in_history(git_dir: Path, branch: str) -> dict[str, str]:
    """Reverted commit (as named) → the reverting commit, over ``branch``'s history in ``git_dir``."""
    log = run_git(["--git-dir", str(git_dir), "log", "--format=%H%x00%B%x1e", branch])
    found: dict[str, str] = {}
    for entry in log.split("\x1e"):
        sha, _, message = entry.strip().partition("\x00")
        for named in REVERTS.findall(message):
            found.setdefault(named, sha)
    return found


def _base_history(ship, repo: Repository) -> Path:
    """A git dir holding ``repo``'s base branch as the forge has it now."""
    if repo.forge != "github":
        where = Path(resolved_path(ship.settings.data_dir, repo.url))
        return Path(run_git(["rev-parse", "--absolute-git-dir"], cwd=where).strip())
    from orchestrator.forges.github import GitHubForge, GitHubSettings

    git_dir = ship.settings.cache_dir / "reverts" / f"{repo.id}.git"
    git_dir.parent.mkdir(parents=True, exist_ok=True)
    if not (git_dir / "HEAD").exists():
        run_git(["init", "-q", "--bare", str(git_dir)])
    forge = GitHubForge(GitHubSettings())
    forge._git(
        GitRepo(git_dir),
        "fetch",
        "-q",
        "--no-tags",
        forge._clone_url(repo.url),
        f"+refs/heads/{repo.base_branch}:refs/heads/{repo.base_branch}",
    )
    return git_dir


def record_reverts(ship) -> list[int]:
    """Look for reverts of every merged, not yet reverted job; record them; returns the job ids."""
    with ship.store.session() as s:
        merged = _merged_jobs(s)
        repos = {
            r.id: r for r in s.scalars(select(Repository).where(Repository.id.in_({m.repository_id for m in merged})))
        }
        s.expunge_all()
    found_jobs: list[int] = []
    for repo_id, repo in repos.items():
        try:
            history = reverts_in_history(_base_history(ship, repo), repo.base_branch)
        except (GitError, RuntimeError) as exc:  # one unreachable repository does not stop the others
            log.warning("cannot read %s's %s history to look for reverts: %s", repo.name, repo.base_branch, exc)
            continue
        for job in (m for m in merged if m.repository_id == repo_id):
            revert = next((by for named, by in history.items() if job.merge_commit.startswith(named)), None)
            if revert is None:
                continue
            with ship.store.session() as s:
                add_event(
                    s,
                    job.job_id,
                    "reverted",
                    f"merge commit {job.merge_commit[:10]} was reverted on {repo.base_branch} by {revert[:10]}",
                    {"merge_commit": job.merge_commit, "revert_commit": revert},
                )
            found_jobs.append(job.job_id)
    return found_jobs
