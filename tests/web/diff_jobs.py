"""A job whose change is real commits in its job git directory (the page reads the diff from there)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from orchestrator.store.tables import Job

GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@t"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def job_with_change(ship, add_job, workdir: Path, base: dict[str, str], head: dict[str, str], **job_fields) -> int:
    """A job (``add_job`` fields) whose head commit changes the ``base`` files into ``head``."""
    job_id = add_job(**{"state": "awaiting_review", "pr_state": "open", **job_fields})
    src = workdir / f"src-{job_id}"
    src.mkdir(parents=True)
    _git(src, "init", "-q", "-b", "main")
    _write(src, base)
    _git(src, "add", "-A")
    _git(src, *GIT_ID, "commit", "-qm", "base", "--allow-empty")
    _write(src, head)
    _git(src, "add", "-A")
    _git(src, *GIT_ID, "commit", "-qm", "change")
    _git(workdir, "clone", "-q", "--bare", str(src), str(ship.settings.job_dirs.git(job_id)))
    base_sha, head_sha = _git(src, "rev-parse", "HEAD~1", "HEAD").split()
    with ship.store.session() as s:
        job = s.get(Job, job_id)
        job.base_sha, job.head_sha = base_sha, head_sha
    return job_id
