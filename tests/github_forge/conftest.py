"""Fixtures: the GitHub emulator on a real uvicorn server, a repository seeded with one commit, and a
labelled issue polled into a queued job."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.emulators.github.asgi import State
from orchestrator.emulators.github.server import EmulatorError
from orchestrator.emulators.github.server import serve_emulator as emulator_server
from orchestrator.forges.github import GitHubForge, GitHubSettings
from orchestrator.intake.github_poller import GitHubPoller
from orchestrator.intake.github_repository import register_github_repository
from orchestrator.settings import Settings
from orchestrator.store.tables import Job
from tests.web.conftest import client, github_repo, ship  # noqa: F401 - the webhook's fixtures, for GitHub's own tests
from workflows.gitops import run_git

TOKEN = "github_pat_11EMULATORtoken0123456789abcdef"
REPO = "acme/widgets"


@contextmanager
def serve_emulator(root: Path, seed: Path, repo: str = REPO, token: str = TOKEN) -> Iterator[State]:
    """The local GitHub emulator serving ``repo`` (seeded from ``seed``); a test fails if it cannot start."""
    try:
        with emulator_server(root, seed, repo, token) as st:
            yield st
    except EmulatorError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[State]:
    seed = tmp_path / "seed"
    seed.mkdir()
    run_git(["init", "-q", "-b", "main"], cwd=seed)
    (seed / "app.py").write_text("def add(a, b):\n    return a - b\n")
    run_git(["add", "."], cwd=seed)
    run_git(["commit", "-q", "-m", "initial"], cwd=seed)
    with serve_emulator(tmp_path / "github", seed) as st:
        yield st


@pytest.fixture
def forge(emulator: State) -> GitHubForge:
    return GitHubForge(GitHubSettings(api_url=f"{emulator.base}/api/v3", git_url=emulator.base, token=TOKEN))


def token_env(emulator: State, token: str = TOKEN) -> dict[str, str]:
    """The environment that points Shipyard at ``emulator``'s API and git, signed in with ``token``."""
    return {
        "SHIPYARD_GITHUB_TOKEN": token,
        "SHIPYARD_GITHUB_API_URL": f"{emulator.base}/api/v3",
        "SHIPYARD_GITHUB_GIT_URL": emulator.base,
    }


def open_issue(
    emulator: State,
    number: int,
    title: str = "t",
    body: str = "",
    *,
    labels: Iterable[str] = (),
    repo: str = REPO,
    **fields: str,
) -> None:
    """Issue ``number`` of ``repo``, open on the emulator with ``labels`` already on it: no event says who
    applied them (``emulator.label_issue`` records one). ``fields`` adds keys such as ``updated_at``."""
    emulator.issues[(repo, number)] = {
        "id": next(emulator.ids),
        "number": number,
        "title": title,
        "body": body,
        "state": "open",
        "labels": [{"name": name} for name in labels],
        **fields,
    }


def queue_labelled_issue(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    emulator: State,
    env: dict[str, str],
    issue: tuple[str, int, str, str],
    cassette: Path,
) -> tuple[Shipyard, int]:
    """A Shipyard reaching the local GitHub through ``env`` (set for this test and its workers), with
    issue ``(repo, number, title, body)`` labelled ``shipyard`` by a writer and polled into a queued
    job that replays ``cassette``; returns the Shipyard and the job's id."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    deployment = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=30))
    repo, number, title, body = issue
    register_github_repository(deployment.store, f"github:{repo}")
    open_issue(emulator, number, title, body, repo=repo)
    emulator.permissions["alice"] = "write"
    emulator.label_issue(repo, number, "shipyard", "alice")
    (job_id,) = GitHubPoller(deployment).poll_once()
    with deployment.store.session() as s:
        s.get(Job, job_id).ticket.cassette = str(cassette)
    return deployment, job_id
