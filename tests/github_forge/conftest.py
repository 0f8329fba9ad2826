"""Fixtures: the GitHub emulator on a real uvicorn server, a repository seeded with one commit."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import uvicorn

from orchestrator.forges.github import GitHubForge, GitHubSettings
from tests.github_forge.emulator import State, create_app
from workflows.gitops import run_git

TOKEN = "github_pat_11EMULATORtoken0123456789abcdef"
REPO = "acme/widgets"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_emulator(root: Path, seed: Path, repo: str = REPO, token: str = TOKEN) -> Iterator[State]:
    """The emulator on a real uvicorn server in a thread, ``repo`` cloned from the git work tree ``seed``."""
    st = State(root=root, tokens={token})
    port = _free_port()
    st.base = f"http://127.0.0.1:{port}"
    st.create_repo(repo, seed)
    server = uvicorn.Server(uvicorn.Config(create_app(st), host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="github-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail(f"GitHub emulator did not start on {st.base}")
        time.sleep(0.02)
    try:
        yield st
    finally:
        server.should_exit = True
        thread.join(timeout=5)


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
