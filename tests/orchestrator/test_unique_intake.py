"""Uniqueness lives in the database: the same webhook delivered 20 times at once, or 20 concurrent
enqueues of one ticket, make one ticket and one job — on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, Repository, Ticket
from orchestrator.web import create_app
from tests.conftest import free_port
from tests.web.store_rows import WEBHOOK_SECRET, sign

ISSUE = {
    "action": "labeled",
    "label": {"name": "shipyard"},
    "issue": {"number": 42, "title": "Crash on empty input", "body": "", "labels": [{"name": "shipyard"}],
              "author_association": "MEMBER"},
    "repository": {"full_name": "acme/widgets"},
    "sender": {"login": "alice"},
}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ship(request, tmp_path, scrub_env) -> Shipyard:
    db = {"database_url": request.getfixturevalue("postgres_url")} if request.param == "postgresql" else {}
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", webhook_secret=WEBHOOK_SECRET, **db))
    with ship.store.session() as s:
        s.add(Repository(name="widgets", forge="github", url="acme/widgets", base_branch="main"))
    yield ship
    ship.store.dispose()


@pytest.fixture
def server(ship):
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(create_app(ship), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def rows(ship) -> tuple[list, list]:
    with ship.store.session() as s:
        tickets = [(t.source, t.external_id) for t in s.scalars(select(Ticket))]
        jobs = [(j.ticket_id, j.state) for j in s.scalars(select(Job))]
    return tickets, jobs


def post_all(url: str, bodies_and_ids: list[tuple[bytes, str]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies_and_ids))

    def post(item):
        body, delivery = item
        headers = {"X-GitHub-Event": "issues", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign(body),
                   "Content-Type": "application/json"}  # fmt: skip
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return client.post(f"{url}/webhooks/github", content=body, headers=headers)

    with ThreadPoolExecutor(len(bodies_and_ids)) as pool:
        return list(pool.map(post, bodies_and_ids))


def test_one_delivery_sent_20_times_at_once_makes_one_ticket_and_one_job(ship, server):
    body = json.dumps(ISSUE).encode()
    responses = post_all(server, [(body, "delivery-1")] * 20)
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses if r.status_code != 202]
    actions = sorted(r.json()["action"] for r in responses)
    assert actions.count("queued") == 1 and set(actions) <= {"queued", "duplicate"}, actions
    tickets, jobs = rows(ship)
    assert tickets == [("github", "42")]
    assert len(jobs) == 1 and jobs[0][1] == "queued"
    assert len({r.json()["job_id"] for r in responses}) == 1


def test_20_distinct_deliveries_about_one_issue_make_one_ticket_and_one_job(ship, server):
    body = json.dumps(ISSUE).encode()
    responses = post_all(server, [(body, f"delivery-{i}") for i in range(20)])
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses if r.status_code != 202]
    assert sorted(r.json()["action"] for r in responses).count("queued") == 1
    tickets, jobs = rows(ship)
    assert tickets == [("github", "42")] and len(jobs) == 1


def test_20_concurrent_enqueues_of_one_ticket_make_one_job(ship):
    with ship.store.session() as s:
        s.add(Repository(name="local", forge="local", url="/nowhere", base_branch="main"))
    ticket = add_ticket(ship.store, repo="local", title="t", labels=["shipyard"])
    barrier = threading.Barrier(20)

    def enqueue(_):
        barrier.wait()
        return ship.enqueue_ticket(ticket.id)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(enqueue, range(20)))
    assert sum(created for _, created in results) == 1
    assert len({job_id for job_id, _ in results}) == 1
    _, jobs = rows(ship)
    assert jobs == [(ticket.id, "queued")]
