"""Fixtures for the web tests: a real Shipyard on a SQLite file in a tmp dir, rows inserted
through the SQLAlchemy models, and the app served by FastAPI's TestClient or a real uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import Repository
from orchestrator.web import create_app
from tests.web.chromium import browser, page  # noqa: F401 - the browser tests' fixtures, for every web test
from tests.web.logins import api_client
from tests.web.store_rows import WEBHOOK_SECRET, JobSpec, insert_job


@pytest.fixture
def ship(tmp_path: Path, scrub_env) -> Shipyard:
    return Shipyard.load(Settings(data_dir=tmp_path / "data", webhook_secret=WEBHOOK_SECRET))


@pytest.fixture
def client(ship: Shipyard) -> Iterator[TestClient]:
    """The app as an admin's script sees it (an API token on every request)."""
    with api_client(ship, "admin") as c:
        yield c


@pytest.fixture
def github_repo(ship: Shipyard) -> None:
    """``acme/widgets`` registered as a GitHub repository (named ``widgets``), as the webhook payloads name it."""
    with ship.store.session() as s:
        s.add(Repository(name="widgets", forge="github", url="acme/widgets", base_branch="main"))


@pytest.fixture
def add_job(ship: Shipyard) -> Callable[..., int]:
    """``add_job(state="awaiting_review", usage=[("m", 0.5)], ...)`` → job id."""
    return lambda **fields: insert_job(ship, JobSpec(**fields))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(ship: Shipyard) -> Iterator[str]:
    """The app on a real uvicorn server in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(ship), host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(ship: Shipyard) -> Iterator[str]:
    """The app on a real uvicorn server in a thread; yields its base URL."""
    with serving(ship) as url:
        yield url
