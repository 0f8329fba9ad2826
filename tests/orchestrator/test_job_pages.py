"""Job lists come a page at a time, newest first, with a state filter: CLI and JSON API."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, Repository, Ticket
from tests.web.logins import api_client


@pytest.fixture
def ship(tmp_path, monkeypatch, scrub_env) -> Shipyard:
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data"))
    with ship.store.session() as s:
        repo = Repository(name="lib", forge="local", url=str(tmp_path), base_branch="main")
        s.add(repo)
        s.flush()
        for i in range(7):
            ticket = Ticket(repository_id=repo.id, title=f"ticket {i}", body="", labels=["shipyard"])
            s.add(ticket)
            s.flush()
            s.add(Job(ticket_id=ticket.id, state="blocked" if i % 2 else "merged"))
    return ship


def test_api_pages_through_jobs_with_a_cursor_and_a_state_filter(ship):
    with api_client(ship) as client:
        first = client.get("/api/jobs?limit=3")
        assert first.status_code == 200
        assert [j["id"] for j in first.json()] == [7, 6, 5]
        cursor = first.headers["x-next-cursor"]
        second = client.get(f"/api/jobs?limit=3&cursor={cursor}")
        assert [j["id"] for j in second.json()] == [4, 3, 2]
        last = client.get(f"/api/jobs?limit=3&cursor={second.headers['x-next-cursor']}")
        assert [j["id"] for j in last.json()] == [1]
        assert "x-next-cursor" not in last.headers
        blocked = client.get("/api/jobs?state=blocked&limit=2")
        assert [(j["id"], j["state"]) for j in blocked.json()] == [(6, "blocked"), (4, "blocked")]
        bad = client.get("/api/jobs?limit=0")
        assert bad.status_code == 400 and "limit" in bad.json()["error"]


def test_cli_pages_through_jobs(ship):
    runner = CliRunner()
    out = runner.invoke(
        app, ["jobs", "list", "--json", "--limit", "2", "--before", "5", "--state", "merged"], catch_exceptions=False
    )
    assert out.exit_code == 0, out.output
    assert [j["id"] for j in json.loads(out.output)] == [3, 1]
    table = runner.invoke(app, ["jobs", "list", "--limit", "3"], catch_exceptions=False)
    assert "--before 5" in table.output
    bad = runner.invoke(app, ["jobs", "list", "--limit", "5000"])
    assert bad.exit_code != 0 and "limit" in bad.output
