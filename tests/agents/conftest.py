"""Fixtures for the agents tests: real sandboxes (``sandboxes.local``), real files, and an
in-memory job recorder that keeps what the workflow's recorder would store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandboxes.base import SandboxSpec
from sandboxes.local import LocalSandboxProvider
from workflows.gitops import GitRepo, run_git
from workflows.nodes.prepare import git_dir
from workflows.ports import JobServices
from workflows.repo_config import RepoConfig

DEMO_ASSETS = Path(__file__).resolve().parents[2] / "orchestrator" / "demo" / "assets"
SAMPLE_REPO = DEMO_ASSETS / "sample_repo"


@dataclass
class MemoryRecorder:
    """A ``JobRecorder`` keeping the timeline and the usage ledger in lists."""

    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    usages: list[Any] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)

    def set_job(self, **fields: Any) -> None:
        self.job.update(fields)

    def event(self, kind: str, message: str, **data: Any) -> None:
        self.events.append((kind, message, data))

    def usage(self, record: Any) -> None:
        self.usages.append(record)

    def messages(self, kind: str) -> list[str]:
        return [m for k, m, _ in self.events if k == kind]


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@pytest.fixture(scope="session")
def sandbox_provider(tmp_path_factory) -> LocalSandboxProvider:
    return LocalSandboxProvider(tmp_path_factory.mktemp("sandboxes"))


def fill_workspace(sandbox, source: Path) -> None:
    """Copy a repository into the sandbox workspace through the Sandbox interface."""
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            sandbox.write_file(path.relative_to(source).as_posix(), path.read_bytes())


@pytest.fixture
def sample_sandbox(sandbox_provider) -> Iterator[Any]:
    """A sandbox whose workspace holds a fresh copy of the demo sample repository."""
    sandbox = sandbox_provider.acquire(SandboxSpec(command_timeout_s=120))
    fill_workspace(sandbox, SAMPLE_REPO)
    yield sandbox
    sandbox.close()


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, dest, ignore=shutil.ignore_patterns("__pycache__", ".coverage"))
    return dest


CFG = RepoConfig.model_validate(
    {
        "test": {"command": "python -m pytest -q -p no:cacheprovider"},
        "gates": {"coverage": {"target": 85}, "protected_paths": ["docs/**"]},
        "agent": {"max_steps": 25},
    }
)


@pytest.fixture
def job(tmp_path, sample_copy, sandbox_provider):
    """Job services and state for a bug ticket (configured by ``CFG``) whose job directory's git dir
    holds the sample repository at its base commit."""
    job_dir = tmp_path / "job"
    gdir = git_dir(job_dir)
    gdir.parent.mkdir(parents=True)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        run_git(["--git-dir", str(gdir), "--work-tree", str(sample_copy), *args], cwd=sample_copy)
    base = GitRepo(gdir).rev_parse("HEAD")
    services = JobServices(
        recorder=MemoryRecorder(),
        forge=None,
        sandboxes=sandbox_provider,  # type: ignore[arg-type]
        job_dir=job_dir,
        models=None,
        cache_dir=tmp_path / "cache",
    )
    state = {
        "job_id": 1,
        "ticket": {
            "id": 1,
            "title": "Wrap keeps long words",
            "body": "Do not split words.",
            "labels": [],
            "cassette": None,
        },
        "base_sha": base,
        "head_sha": base,
        "config": CFG.model_dump(mode="json"),
        "attempt": 0,
        "kind": "bug",
    }
    yield services, state
    services.close()
