"""Fixtures: the GitHub emulator on a real uvicorn server, a repository seeded with one commit."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from orchestrator.forges.github import GitHubForge, GitHubSettings
from orchestrator.github_emulator.app import State
from orchestrator.github_emulator.server import EmulatorError, serve_emulator as emulator_server
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
