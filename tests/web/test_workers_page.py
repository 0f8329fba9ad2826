"""Ops can see workers: alive with the jobs in hand, dead after a kill -9 with the jobs the sweep
recovered from them, stopped after a clean shutdown — from real worker processes' heartbeats."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from tests.orchestrator.test_stopping import SLOW
from tests.pipeline.harness import Worker, queue_ticket, register, sample_repository, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from tests.web.logins import api_client


def poll_workers(client: TestClient, wanted, what: str, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = client.get("/api/workers").json()["workers"]
        if wanted(rows):
            return rows
        time.sleep(0.2)
    pytest.fail(f"workers never showed {what} within {timeout}s: {rows}")


@pytest.mark.slow
@pytest.mark.workers
def test_the_workers_page_shows_alive_dead_and_stopped_workers_with_their_jobs(tmp_path, scrub_env):
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10))
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    client = api_client(ship)
    assert "No worker has ever reported" in client.get("/workers").text
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, SLOW)

    first = Worker(ship.settings)
    try:
        rows = poll_workers(
            client, lambda rows: any(job_id in w["jobs_in_hand"] for w in rows), f"job {job_id} in hand"
        )
        (a,) = rows
        assert (a["status"], a["concurrency"], a["pid"]) == ("alive", 2, first.proc.pid)
        first.kill()  # SIGKILL to the whole worker: no clean stop is recorded
        rows = poll_workers(
            client, lambda rows: rows and rows[0]["status"] == "dead", "the killed worker as dead", timeout=30
        )
        assert rows[0]["jobs_in_hand"] == []
        page = client.get("/workers").text
        assert "No live worker" in page and 'data-status="dead"' in page
        assert "No live worker" in client.get("/").text  # the queue overview says it too
        # Its job is still "running": flagged as stranded the moment its worker is seen dead.
        assert rows[0]["stranded_jobs"] == [job_id]
        assert f'stranded: <a href="/jobs/{job_id}">#{job_id}</a>' in page
        job_page = " ".join(client.get(f"/jobs/{job_id}").text.split())
        assert "Stranded:</strong> its worker" in job_page and "is dead" in job_page
        assert "no live worker is seen: start one with <code>shipyard worker</code>" in job_page
    finally:
        first.stop()

    second = Worker(ship.settings)
    try:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, timeout=180, worker=second)
        assert job["state"] == "awaiting_review", job["reason"]
        recovered = [e["message"] for e in job["events"] if e["kind"] == "recovered"]
        assert recovered and recovered[0].startswith(f"worker lost ({a['host']}:"), recovered
        rows = {w["pid"]: w for w in client.get("/api/workers").json()["workers"]}
        assert rows[first.proc.pid]["status"] == "dead" and rows[first.proc.pid]["recovered_jobs"] == [job_id]
        assert rows[second.proc.pid]["status"] == "alive"
        page = client.get("/workers").text
        assert f'href="/jobs/{job_id}"' in page and "No live worker" not in page
        assert "1 live worker" in client.get("/").text
    finally:
        second.stop()
    rows = {w["pid"]: w for w in client.get("/api/workers").json()["workers"]}
    assert rows[second.proc.pid]["status"] == "stopped"
