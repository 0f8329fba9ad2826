"""A decision taken shows at once, everywhere, as pending until a worker applies it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.domain.jobs import mark_decision_applied, pending_decision
from orchestrator.store.tables import Attempt


def csrf_of(client, job_id: int) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(f"/jobs/{job_id}").text).group(1)


def buttons_disabled(html: str) -> bool:
    form = html[html.index('id="decision-form"') :]
    return bool(re.search(r"<fieldset disabled", form[: form.index("</form>")]))


def test_requested_changes_show_as_pending_on_every_view(client, ship, add_job, tmp_path, monkeypatch):
    job_id = add_job(state="awaiting_review", pr_state="open")
    assert not buttons_disabled(client.get(f"/jobs/{job_id}").text)

    client.post(
        f"/jobs/{job_id}/decision",
        data={"csrf": csrf_of(client, job_id), "decision": "request_changes", "comment": "handle None"},
    )

    page = client.get(f"/jobs/{job_id}").text
    assert "changes requested — waiting for a worker" in page and "handle None" in page
    assert buttons_disabled(page)
    assert "changes requested — waiting for a worker" in client.get("/reviews").text
    assert "changes requested — waiting for a worker" in client.get("/").text
    api = client.get(f"/api/jobs/{job_id}").json()
    assert api["pending_decision"]["decision"] == "request_changes"

    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list"], catch_exceptions=False, env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and "changes requested — waiting for a worker" in listed.output
    as_json = json.loads(runner.invoke(app, ["review", "list", "--json"], catch_exceptions=False).output)
    assert as_json[0]["pending_decision"]["text"] == "changes requested — waiting for a worker"

    mark_decision_applied(ship.store, pending_decision(ship.store, job_id)["review_id"])
    page = client.get(f"/jobs/{job_id}").text
    assert "waiting for a worker" not in page and not buttons_disabled(page)


def test_wall_time_is_time_worked_not_age(client, ship, add_job):
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    job_id = add_job(state="awaiting_review", pr_state="open", created_at=long_ago, gates=[{"passed": True}])
    with ship.store.session() as s:
        attempt = s.scalar(select(Attempt).where(Attempt.job_id == job_id))
        attempt.started_at, attempt.finished_at = long_ago, long_ago + timedelta(seconds=9)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["wall_s"] == 9.0 and job["age_s"] >= 7200
