"""A job's commits on the forge, so any host can resume it: the data directory is only a cache.

Each snapshot commit (the base at ``prepare``, then every attempt's commit, already scrubbed by the
redactor) is pushed to the job's hidden ref (``refs/shipyard/jobs/<id>``). A worker that resumes a
job whose git dir is missing, or lacks the checkpoint's commits, rebuilds it from the forge: the
base branch, then the job ref, whose history holds the base commit and every attempt.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from workflows.gitops import GitError, GitRepo
from workflows.job_dirs import git_dir
from workflows.ports import JobServices, job_ref
from workflows.state import RepoInput, TicketState


class JobCommitsLost(RuntimeError):
    """The checkpoint names commits that are neither in this host's job directory nor on the forge."""


def save_job_commit(services: JobServices, repo: RepoInput, job_id: int, sha: str) -> None:
    """Push ``sha`` to the job's hidden ref. A forge that refuses leaves the work on this host only:
    the job goes on, and its timeline says it could not resume elsewhere."""
    try:
        services.forge.push_job_ref(repo["url"], git_dir(services.job_dir), job_id, sha)
    except (GitError, RuntimeError) as exc:
        services.recorder.event(
            "forge",
            f"commit {sha[:10]} not saved under {job_ref(job_id)} ({exc}); "
            "until it is, only this host can resume the job",
        )


def has_commits(gdir: Path, *shas: str) -> bool:
    if not (gdir / "HEAD").exists():
        return False
    repo = GitRepo(gdir)
    try:
        for sha in shas:
            repo.git("cat-file", "-e", f"{sha}^{{commit}}")
    except GitError:
        return False
    return True


def restore_job_git(services: JobServices, state: TicketState) -> bool:
    """Make the job's git dir hold the checkpoint's base and head commits, from the forge when this
    host lacks them. Returns True when it had to rebuild; raises ``JobCommitsLost`` when it cannot."""
    base = state.get("base_sha")
    if not base:
        return False  # prepare has not run yet: it clones
    head = state.get("head_sha") or base
    gdir = git_dir(services.job_dir)
    if has_commits(gdir, base, head):
        return False
    repo, job_id = state["repo"], state["job_id"]
    services.job_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=services.job_dir) as scratch:
            services.forge.clone(repo["url"], repo["base_branch"], gdir, Path(scratch))
        saved = services.forge.fetch_job_ref(repo["url"], gdir, job_id)
    except (GitError, RuntimeError) as exc:
        raise JobCommitsLost(f"cannot rebuild job {job_id}'s working copy from the forge: {exc}") from None
    if not has_commits(gdir, base, head):
        where = f"{job_ref(job_id)} at {saved[:10]}" if saved else f"no {job_ref(job_id)} on the forge"
        raise JobCommitsLost(
            f"job {job_id}'s commits (base {base[:10]}, head {head[:10]}) are not on this host "
            f"and not on the forge ({where}); retry it to start over: `shipyard jobs retry {job_id}`"
        )
    services.recorder.event(
        "resumed",
        f"working copy rebuilt from the forge ({repo['base_branch']} and "
        f"{job_ref(job_id)}, head {head[:10]}): this host had none",
    )
    return True
