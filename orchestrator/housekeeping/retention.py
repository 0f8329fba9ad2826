"""Retention: a finished job's working directory is removed some days after the job finished.

A job's directory (``data_dir/jobs/<id>``: its clone, its attempts' commits, scratch trees) is a
cache of the worker that ran it. What a reader of the job needs stays: events, attempts, gate
reports, cost and the pull request live in the store, the branch on the forge, and the diffs the
job page and API show are copied into the store (``kept_diffs``) just before the directory goes.

Driven by what is on disk (each host cleans its own data directory) and idempotent, so every
worker's sweep and ``shipyard jobs gc`` may run it at once.
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from orchestrator.store import Store
from orchestrator.store.db import insert_or_skip
from orchestrator.store.tables import FINAL_STATES, Job, KeptDiff, utcnow
from workflows.gitops import GitError, GitRepo
from workflows.job_dirs import JobDirs

MAX_DIFF_CHARS = 200_000
"""Longest diff shown (and kept); longer ones are cut with a note."""


@dataclass(frozen=True)
class FreedDir:
    job_id: int
    bytes: int


def render_diff(git_dir: Path, old: str, new: str) -> str:
    """``old..new`` with stat and patch, cut at ``MAX_DIFF_CHARS``; raises ``GitError``."""
    text = GitRepo(git_dir).git("diff", "--no-color", "--stat", "--patch", old, new)
    if len(text) > MAX_DIFF_CHARS:
        return text[:MAX_DIFF_CHARS] + f"\n… diff truncated ({len(text) - MAX_DIFF_CHARS} more characters)"
    return text


def kept_diff(session, job_id: int, old: str, new: str) -> str | None:
    return session.scalar(
        select(KeptDiff.diff).where(KeptDiff.job_id == job_id, KeptDiff.old_sha == old, KeptDiff.new_sha == new)
    )


def shown_commit_pairs(job: Job) -> list[tuple[str, str]]:
    """The diffs a job's page shows: base → candidate, and each attempt's change on the one before."""
    pairs = [(job.base_sha, job.head_sha)] if job.base_sha and job.head_sha and job.base_sha != job.head_sha else []
    heads = [a.head_sha for a in job.attempt_rows if a.head_sha]
    pairs += [(old, new) for old, new in itertools.pairwise(heads) if old != new]
    return pairs


def keep_diffs(store: Store, job_dirs: JobDirs, job_id: int) -> None:
    """Copy the job's shown diffs into the store (a diff git cannot produce is not kept)."""
    git_dir = job_dirs.git(job_id)
    with store.session() as s:
        job = s.get(Job, job_id)
        for old, new in shown_commit_pairs(job):
            try:
                text = render_diff(git_dir, old, new)
            except GitError:
                continue
            s.execute(
                insert_or_skip(s, KeptDiff)
                .values(job_id=job_id, old_sha=old, new_sha=new, diff=text)
                .on_conflict_do_nothing()
            )


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def expired_job_ids(store: Store, job_ids: list[int], older_than: timedelta) -> list[int]:
    """Of ``job_ids``, the jobs that finished more than ``older_than`` ago."""
    cutoff = utcnow() - older_than
    finals = [s.value for s in FINAL_STATES]
    rows = []
    with store.session() as s:
        for i in range(0, len(job_ids), 500):
            chunk = job_ids[i : i + 500]
            rows += s.execute(select(Job.id, Job.finished_at).where(Job.id.in_(chunk), Job.state.in_(finals))).all()
    return sorted(job_id for job_id, finished in rows if finished is not None and _aware(finished) <= cutoff)


def collect_job_dirs(store: Store, job_dirs: JobDirs, retain_days: float) -> list[FreedDir]:
    """Remove the directories of jobs finished more than ``retain_days`` ago; returns what was freed."""
    on_disk = job_dirs.job_ids()
    freed: list[FreedDir] = []
    for job_id in expired_job_ids(store, on_disk, timedelta(days=retain_days)) if on_disk else []:
        job_dir = job_dirs.job(job_id)
        keep_diffs(store, job_dirs, job_id)
        size = dir_size(job_dir)
        shutil.rmtree(job_dir, ignore_errors=True)
        if job_dir.exists():
            continue  # another sweeper is removing it too, or a file is not ours to remove: next round
        with store.session() as s:
            s.execute(update(Job).where(Job.id == job_id, Job.dir_removed_at.is_(None)).values(dir_removed_at=utcnow()))
        freed.append(FreedDir(job_id, size))
    return freed
