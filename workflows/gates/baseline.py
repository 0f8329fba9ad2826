"""The base commit's test results, computed once per base SHA and test configuration.

Every attempt of every job on the same base compares against the same baseline, so it is
cached on disk: key = base SHA + hash of (test config, setup commands, sandbox image). Only
usable results are cached; a timeout or a missing JUnit file is retried next time.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workflows.gates.junit import TestCase
from workflows.gates.suite import SuiteRun
from workflows.repo_config import RepoConfig

FORMAT_VERSION = 2
"""2: test keys relative to the workspace on every backend."""


@dataclass
class Baseline:
    cases: dict[str, TestCase] = field(default_factory=dict)
    total_coverage: float | None = None
    coverage_error: str = ""
    error: str = ""
    output_tail: str = ""
    cached: bool = False
    duration_s: float | None = None
    """How long the suite took on the base commit (candidate runs' timeouts derive from it)."""

    @property
    def ok(self) -> bool:
        return not self.error

    @classmethod
    def from_run(cls, run: SuiteRun) -> Baseline:
        return cls(
            cases=run.cases,
            total_coverage=run.coverage.total_percent() if run.coverage else None,
            coverage_error=run.coverage_error,
            error=run.error,
            output_tail=run.output_tail,
            duration_s=run.duration_s,
        )


def cache_path(cache_dir: Path, base_sha: str, config: RepoConfig, image: str) -> Path:
    material = json.dumps(
        {"v": FORMAT_VERSION, "test": config.test.model_dump(mode="json"), "setup": config.setup, "image": image},
        sort_keys=True,
    )
    digest = hashlib.sha256(material.encode()).hexdigest()[:16]
    return cache_dir / f"baseline-{base_sha}-{digest}.json"


@contextmanager
def single_flight(path: Path) -> Iterator[None]:
    """Hold the lock of one baseline: jobs (and ``shipyard doctor``) on the same base commit and
    configuration wait for the first one's run instead of running the suite again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load(path: Path) -> Baseline | None:
    """The cached baseline, or None when absent or unreadable (it is then recomputed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cases = {k: TestCase(**v) for k, v in data["cases"].items()}
        return Baseline(
            cases=cases,
            total_coverage=data.get("total_coverage"),
            coverage_error=data.get("coverage_error", ""),
            cached=True,
            duration_s=data.get("duration_s"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(path: Path, baseline: Baseline) -> None:
    """Write atomically, so a concurrent job never reads half a file."""
    if not baseline.ok:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "cases": {k: asdict(v) for k, v in baseline.cases.items()},
        "total_coverage": baseline.total_coverage,
        "coverage_error": baseline.coverage_error,
        "duration_s": baseline.duration_s,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".baseline-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)
