"""The store is the source of truth: whatever the broker or a worker loses, every queued job reaches an outcome."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from orchestrator.deployment import Shipyard
from orchestrator.domain import jobs
from orchestrator.domain.backlog import add_ticket
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, Job, PullRequest, utcnow
from tests.pipeline.harness import ASSETS, queue_ticket, register, running_worker, sample_repository, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE

CASSETTE = ASSETS / "cassettes" / "slugify-dashes.yml"
SETTLED = {"awaiting_review", "blocked", "failed"}


@pytest.fixture
def ship(tmp_path, scrub_env) -> Shipyard:
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10))
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    return ship


def lost_job(ship: Shipyard, title: str = SLUG_TITLE, cassette=CASSETTE, age_s: float = 600) -> int:
    """A job queued ``age_s`` ago whose message the broker lost (never sent)."""
    ticket = add_ticket(ship.store, repo="textkit", title=title, body=SLUG_BODY, labels=["shipyard"], cassette=cassette)
    job_id, created = jobs.create_job(ship.store, ticket.id)
    assert created
    with ship.store.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(dispatched_at=utcnow() - timedelta(seconds=age_s)))
    return job_id


def event_kinds(ship: Shipyard, job_id: int) -> list[str]:
    with ship.store.session() as s:
        return list(s.scalars(select(Event.kind).where(Event.job_id == job_id).order_by(Event.id)))


@pytest.mark.slow
@pytest.mark.workers
def test_a_queued_job_whose_message_was_lost_is_sent_again_and_finishes(ship):
    job_id = lost_job(ship)
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, SETTLED, timeout=120, worker=worker)
    assert job["state"] == "awaiting_review", job["reason"]
    assert event_kinds(ship, job_id).count("redelivered") == 1


@pytest.mark.slow
@pytest.mark.workers
def test_a_running_job_with_an_empty_lease_is_recovered(ship):
    """A worker that let go of a job without settling it (the lease dropped, state still running)."""
    job_id = lost_job(ship, age_s=0)
    with ship.store.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(state="running", lease_owner=None, lease_expires_at=None))
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, SETTLED, timeout=120, worker=worker)
    assert job["state"] == "awaiting_review", job["reason"]
    assert "recovered" in event_kinds(ship, job_id)


@pytest.mark.slow
@pytest.mark.workers
def test_a_non_utf8_cassette_ends_the_job_failed_with_the_reason(ship, tmp_path):
    cassette = tmp_path / "binary.yml"
    cassette.write_bytes(CASSETTE.read_bytes())  # valid when added (a binary one is refused then)
    ticket = add_ticket(
        ship.store, repo="textkit", title="Binary cassette", body="x", labels=["shipyard"], cassette=cassette
    )
    cassette.write_bytes(b"\xff\xfe\x00garbage \xc3\x28 not utf-8\n")
    job_id, _ = ship.enqueue_ticket(ticket.id)
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, SETTLED | {"merged"}, timeout=90, worker=worker)
    assert job["state"] in {"failed", "blocked"}
    assert "UnicodeDecodeError" in job["reason"] or "utf-8" in job["reason"].lower(), job["reason"]
    with ship.store.session() as s:
        assert s.get(Job, job_id).lease_owner is None


@pytest.mark.slow
@pytest.mark.workers
def test_a_message_delivered_three_times_runs_the_job_once(ship):
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, CASSETTE)
    ship.dispatch(job_id)
    ship.dispatch(job_id)
    with running_worker(ship.settings, concurrency=2) as worker:
        job = wait_for_job(ship, job_id, SETTLED, timeout=120, worker=worker)
        assert job["state"] == "awaiting_review", job["reason"]
        # Let the duplicates be consumed, then check that nothing ran twice.
        messages = ship.settings.queue_dir / "messages"
        deadline = time.monotonic() + 30
        while any(messages.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(messages.iterdir()), "duplicate messages were never consumed"
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
    assert detail["state"] == "awaiting_review"
    triage = [e for e in detail["events"] if e["kind"] == "routing" and e["message"].startswith("triage")]
    assert len(triage) == 1, [e["message"] for e in detail["events"]]
    with ship.store.session() as s:
        assert len(s.scalars(select(PullRequest)).all()) == 1
