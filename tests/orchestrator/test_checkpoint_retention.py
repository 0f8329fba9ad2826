"""Checkpoint retention: the LangGraph checkpoints of a job finished longer ago than the retention
are removed by the workers' sweep and by `shipyard jobs gc` (which prints the rows and bytes
freed), on SQLite and on PostgreSQL; the job's page and API show the same as before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from orchestrator.cli.main import app as cli_app
from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, utcnow
from orchestrator.worker.celery_app import collect_job_dirs
from orchestrator.worker.job_runner import JobRunner, ticket_graph
from tests.pipeline.harness import ASSETS, queue_ticket, register, sample_repository
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from tests.web.logins import api_client
from workflows.gitops import run_git

INELIGIBLE = ASSETS / "cassettes" / "rotate-keys.yml"
"""Triage finds the ticket ineligible: a job that ends ``blocked`` within seconds, checkpoints written."""
PLANNED = ASSETS / "cassettes" / "slugify-dashes.yml"
"""Eligible, with a plan: in a repository whose plans need approval, the job waits (not final)."""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ship(request, tmp_path, scrub_env) -> Shipyard:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    ship = Shipyard.load(
        Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10, database_url=url)
    )
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    approving = sample_repository(tmp_path / "approving")
    (approving / ".shipyard.yml").write_text((approving / ".shipyard.yml").read_text() + "  plan_approval: always\n")
    run_git(["commit", "-q", "-am", "plans need approval"], cwd=approving)
    register(ship, approving, "approving")
    yield ship
    ship.store.dispose()


def checkpointed(ship: Shipyard, job_id: int) -> bool:
    state = ticket_graph(ship.settings).get_state({"configurable": {"thread_id": str(job_id)}})
    return bool(state.values)


def finished_days_ago(ship: Shipyard, job_id: int, days: float) -> None:
    with ship.store.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(finished_at=utcnow() - timedelta(days=days)))


def test_checkpoints_of_jobs_finished_past_the_retention_are_removed_and_their_pages_unchanged(ship, monkeypatch):
    old, recent = (queue_ticket(ship, "textkit", "Rotate the production keys", "x", INELIGIBLE) for _ in range(2))
    waiting = queue_ticket(ship, "approving", SLUG_TITLE, SLUG_BODY, PLANNED)
    runner = JobRunner(ship.settings, ship.store)
    assert [runner.run(old), runner.run(recent), runner.run(waiting)] == [
        "blocked",
        "blocked",
        "awaiting_plan_approval",
    ]
    assert checkpointed(ship, old) and checkpointed(ship, recent) and checkpointed(ship, waiting)
    with api_client(ship, "admin") as client:
        before = client.get(f"/api/jobs/{old}").json()

    # Finished 15 days ago (retention 14): the sweep removes its checkpoints, not the recent job's.
    finished_days_ago(ship, old, 15)
    collect_job_dirs(ship.settings, ship.store)
    assert not checkpointed(ship, old) and checkpointed(ship, recent)
    with api_client(ship, "admin") as client:
        after = client.get(f"/api/jobs/{old}").json()
        page = client.get(f"/jobs/{old}")
    assert after["state"] == before["state"] == "blocked" and after["reason"] == before["reason"]
    assert after["events"] == before["events"] and after["attempt_list"] == before["attempt_list"]
    assert after["diff"] == before["diff"] and page.status_code == 200 and "not eligible" in page.text.lower()

    # `shipyard jobs gc --days 0` removes the rest now and prints the rows and bytes it freed.
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))
    if ship.settings.database_url:
        monkeypatch.setenv("SHIPYARD_DATABASE_URL", ship.settings.database_url)
    out = CliRunner().invoke(cli_app, ["jobs", "gc", "--days", "0"], catch_exceptions=False).output
    assert f"job {recent}: removed " in out and " checkpoint row(s) (" in out, out
    assert "from 1 finished job(s)" in out.split("checkpoints:")[1], out
    assert not checkpointed(ship, recent)
    assert checkpointed(ship, waiting)  # not final: it resumes from its checkpoints once a human decides
    again = CliRunner().invoke(cli_app, ["jobs", "gc", "--days", "0"], catch_exceptions=False).output
    assert "checkpoints: 0 row(s), 0 B from 0 finished job(s)" in again
