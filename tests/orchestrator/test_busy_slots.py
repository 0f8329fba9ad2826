"""A job waiting while every worker slot is busy (a slow local model holds them) is waiting, not
lost: the sweep sends no message again and the timeline gets no "redelivered" line until a slot
frees up."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import select, update

from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket
from orchestrator.domain.jobs import create_job
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, Job, JobState, utcnow
from orchestrator.worker.celery_app import make_celery, recover_stale_jobs
from orchestrator.worker.heartbeats import register_worker
from tests.pipeline.harness import register, sample_repository


def redelivered(ship: Shipyard, job_id: int) -> int:
    with ship.store.session() as s:
        kinds = s.scalars(select(Event.kind).where(Event.job_id == job_id)).all()
    return kinds.count("redelivered")


def test_no_redelivery_while_every_slot_is_busy_then_one_when_a_slot_frees(tmp_path, scrub_env):
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10))
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    busy, waiting = (
        create_job(ship.store, add_ticket(ship.store, repo="textkit", title=t, labels=["shipyard"]).id)[0]
        for t in ("Busy on the slow model", "Waiting for a slot")
    )
    register_worker(ship.store, concurrency=1)  # one live worker with one slot
    long_ago = utcnow() - timedelta(seconds=600)
    with ship.store.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == busy)
            .values(
                state=JobState.RUNNING.value,
                lease_owner=f"{socket.gethostname()}:{os.getpid()}:1",
                lease_expires_at=utcnow() + timedelta(seconds=300),
            )
        )
        s.execute(update(Job).where(Job.id == waiting).values(dispatched_at=long_ago))
    app = make_celery(ship.settings)
    assert recover_stale_jobs(ship.settings, ship.store, app) == []
    assert redelivered(ship, waiting) == 0

    with ship.store.session() as s:  # the slow job settles: its slot is free
        s.execute(update(Job).where(Job.id == busy).values(state=JobState.BLOCKED.value, lease_owner=None))
    assert recover_stale_jobs(ship.settings, ship.store, app) == [waiting]
    assert redelivered(ship, waiting) == 1
