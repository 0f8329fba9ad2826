"""Fixtures shared by every test area: real services, found or failing loudly — never skipped."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ("tests.tier_guard", "tests.parallel_run", "pytester")

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
POSTGRES_ADMIN_URL = os.environ.get(
    "SHIPYARD_TEST_POSTGRES", "postgresql+psycopg://shipyard:shipyard@127.0.0.1:5432/postgres"
)
SETUP_HINT = "run `make services` (or `make test`, which starts it)"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _port_open(REDIS_HOST, REDIS_PORT):
        pytest.fail(f"redis-server is not reachable on {REDIS_HOST}:{REDIS_PORT}: {SETUP_HINT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}"


REDIS_TEST_DBS = range(1, 16)
"""The databases tests lease (a redis-server has 16; database 0 holds the leases)."""


@pytest.fixture
def redis_db_url(redis_url: str) -> Iterator[str]:
    """A Redis database of its own for one test (flushed before use), held until the test ends."""
    import redis

    # Leased through a key in database 0, so that tests running side by side (pytest -n, and
    # other checkouts' suites on the same server) never share a database. A lease left by a
    # killed run expires.
    admin = redis.Redis.from_url(f"{redis_url}/0")
    token, first = uuid.uuid4().hex, admin.incr("shipyard-tests:next-db")
    deadline = time.monotonic() + 120
    while True:
        dbs = [REDIS_TEST_DBS[(first + i) % len(REDIS_TEST_DBS)] for i in range(len(REDIS_TEST_DBS))]
        db = next((d for d in dbs if admin.set(f"shipyard-tests:db:{d}", token, nx=True, ex=3600)), None)
        if db is not None:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"every Redis test database ({REDIS_TEST_DBS}) stayed leased for 120 s")
        time.sleep(0.5)
    redis.Redis.from_url(f"{redis_url}/{db}").flushdb()
    yield f"{redis_url}/{db}"
    if admin.get(f"shipyard-tests:db:{db}") == token.encode():
        admin.delete(f"shipyard-tests:db:{db}")
    admin.close()


@pytest.fixture
def postgres_url() -> str:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text

    if not _port_open("127.0.0.1", 5432):
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432: {SETUP_HINT}")
    name = f"shipyard_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def docker_engine():
    """The Docker engine, or a loud failure saying how to start it."""
    import docker

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any reason means the same to the user
        pytest.fail(f"the Docker engine is not reachable ({exc}): {SETUP_HINT}")
    try:
        client.images.get("shipyard-sandbox:latest")
    except docker.errors.ImageNotFound:
        pytest.fail(f"the sandbox image shipyard-sandbox:latest is missing: {SETUP_HINT}")
    return client


@pytest.fixture
def scrub_env(monkeypatch) -> None:
    """Keep the developer's own SHIPYARD_* settings out of tests."""
    for key in list(os.environ):
        if key.startswith("SHIPYARD_"):
            monkeypatch.delenv(key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ROOT = Path(__file__).resolve().parent.parent
