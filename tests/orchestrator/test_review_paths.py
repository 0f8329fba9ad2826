"""A pull request is never left open with no way to close it: the demo's "request changes" path, where
the replayed agent has nothing more to say, ends blocked with its pull request open, and a rejection
(CLI, web, API) then closes it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.web.app import create_app
from orchestrator.web.read_models import decision_log
from tests.pipeline.harness import ASSETS, queue_ticket, running_worker, wait_for_attempts, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from tests.web.logins import api_client

DEMO_CASSETTE = ASSETS / "cassettes" / "slugify-dashes.yml"  # one attempt: nothing to answer comments with


@pytest.mark.slow
@pytest.mark.workers
def test_the_demos_request_changes_path_ends_with_the_pull_request_closable(ship, monkeypatch):
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, DEMO_CASSETTE)
    with running_worker(ship.settings) as worker:
        first = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert first["state"] == "awaiting_review", first["reason"]
        ship.decide(job_id, "request_changes", comment="Name the separator in a constant.")
        job = wait_for_attempts(ship, job_id, 3, worker=worker)
    assert job["state"] == "blocked" and job["pr"]["state"] == "open", job["reason"]
    assert "still open — reject it to close it, or retry the ticket" in job["reason"]  # and that works:

    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))
    monkeypatch.setenv("SHIPYARD_SANDBOX_BACKEND", "local")
    runner = CliRunner()
    again = runner.invoke(app, ["review", "request-changes", str(job_id), "--comment", "again"])
    assert again.exit_code == 1 and "still open: reject closes it" in again.output, again.output

    with api_client(ship, role="viewer", app=create_app(ship)) as viewer:
        page = viewer.get(f"/jobs/{job_id}").text
    assert "The pull request is still open" in page and 'id="close-pr"' not in page  # a viewer cannot close it
    with api_client(ship, role="reviewer", app=create_app(ship)) as reviewer:
        assert 'id="close-pr"' in reviewer.get(f"/jobs/{job_id}").text

    closed = runner.invoke(app, ["review", "reject", str(job_id), "--comment", "Not worth another round."])
    assert closed.exit_code == 0 and "pull request closed; the job is closed" in closed.output, closed.output
    shown = runner.invoke(app, ["jobs", "show", str(job_id), "--json"])
    detail = json.loads(shown.output)
    assert (detail["state"], detail["pr"]["state"]) == ("closed", "closed")
    assert (
        detail["reason"] == "pull request rejected by the reviewer after the job was blocked: Not worth another round."
    )
    assert [(d["gate"], d["decision"], d["by"]) for d in decision_log(ship.store, job_id)] == [
        ("pr", "request_changes", "cli"),
        ("pr", "reject", "cli"),
    ]
