"""Where each job keeps its files on the orchestrator's host: one directory per job.

``<root>/<job id>/`` holds ``git/``, the job's bare clone (its base and every attempt's commit;
the sandbox only ever sees a work tree checked out from it), and scratch trees while the job
runs. The directory is a cache of the worker that ran the job: the job's commits are also on
the forge (``workflows.job_refs``), and retention removes the directory some days after the
job finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def git_dir(job_dir: Path) -> Path:
    """The job's bare git dir (the sandbox sees only a work tree checked out from it)."""
    return job_dir / "git"


@dataclass(frozen=True)
class JobDirs:
    """The jobs' directories under one root (``data_dir/jobs``)."""

    root: Path

    def job(self, job_id: int) -> Path:
        """The directory of job ``job_id`` (it may not exist)."""
        return self.root / str(job_id)

    def git(self, job_id: int) -> Path:
        """Job ``job_id``'s bare git dir (it may not exist)."""
        return git_dir(self.job(job_id))

    def job_ids(self) -> list[int]:
        """The jobs that have a directory under the root, lowest id first."""
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit() and p.is_dir())
