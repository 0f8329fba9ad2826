"""Worker processes on PostgreSQL + Redis: the first jobs on a fresh database all run (checkpointer
set-up once per process, not racing per job), and a respawned pool child never reuses its parent's
connections (a killed child's job is recovered, later jobs run cleanly)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import PullRequest
from orchestrator.worker.celery_app import child_pids
from tests.pipeline.harness import ASSETS, queue_ticket, register, running_worker, sample_repository, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE

CASSETTE = ASSETS / "cassettes" / "slugify-dashes.yml"
SETTLED = {"awaiting_review", "blocked", "failed"}


def pool_children(pid: int) -> list[int]:
    return sorted(child_pids(pid))


def wait_for_children(pid: int, count: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = pool_children(pid)
        if len(children) >= count:
            return children
        time.sleep(0.1)
    pytest.fail(f"worker {pid} has {pool_children(pid)} pool children after {timeout}s, expected {count}")


@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.postgres
@pytest.mark.redis
def test_fresh_postgres_first_jobs_run_and_a_respawned_pool_child_uses_its_own_connections(
    tmp_path, scrub_env, postgres_url, redis_db_url
):
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=postgres_url,
        broker_url=redis_db_url,
        sandbox_backend="local",
        lease_seconds=10,
    )
    ship = Shipyard.load(settings)
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    first = [queue_ticket(ship, "textkit", f"{SLUG_TITLE} ({i})", SLUG_BODY, CASSETTE) for i in range(3)]
    with running_worker(ship.settings, concurrency=3) as worker:
        for job_id in first:
            job = wait_for_job(ship, job_id, SETTLED, timeout=180, worker=worker)
            assert job["state"] == "awaiting_review", job["reason"]
        # Kill one pool child: the pool forks a replacement from the main process, which holds a
        # store (the sweep's); the replacement must open its own connections.
        victim = wait_for_children(worker.proc.pid, 3)[0]
        os.kill(victim, signal.SIGKILL)
        later = [queue_ticket(ship, "textkit", f"{SLUG_TITLE} (later {i})", SLUG_BODY, CASSETTE) for i in range(3)]
        for job_id in later:
            job = wait_for_job(ship, job_id, SETTLED, timeout=180, worker=worker)
            assert job["state"] == "awaiting_review", job["reason"]
        log = worker.log_path.read_text(errors="replace")
    for problem in ("DuplicatePreparedStatement", "UniqueViolation", "DeadlockDetected"):
        assert problem not in log, log
    with ship.store.session() as s:
        assert len(s.scalars(select(PullRequest)).all()) == 6
    ship.store.dispose()
