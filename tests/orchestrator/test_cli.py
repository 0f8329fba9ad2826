"""The `shipyard` command line as a user types it: clear errors, `--json` for scripts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app
from tests.orchestrator.gitrepo import make_repo


@pytest.fixture
def shipyard(tmp_path, monkeypatch, scrub_env):
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    # A ticket for a live model is accepted only when that model has a key; no worker runs here.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-sent")
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return run


def test_init_refuses_a_directory_that_is_not_a_git_repository(shipyard, tmp_path):
    (tmp_path / "plain").mkdir()
    out = shipyard("init", str(tmp_path / "plain"), ok=False)
    assert "not a git repository" in out


def test_a_labelled_ticket_is_queued_and_visible_as_json(shipyard, tmp_path):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    assert "registered lib" in shipyard("init", str(tmp_path / "lib"))
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "Add y", "--body", "y = 2", "--label", "shipyard")
    assert "ticket 1 added" in out and "queued as job 1" in out
    shipyard("ticket", "add", "--repo", "lib", "--title", "Later", "--label", "idea")
    tickets = json.loads(shipyard("ticket", "list", "--json"))
    assert [(t["title"], t["last_state"]) for t in tickets] == [("Add y", "queued"), ("Later", None)]
    jobs = json.loads(shipyard("jobs", "list", "--json"))
    assert [(j["id"], j["state"], j["title"]) for j in jobs] == [(1, "queued", "Add y")]
    detail = json.loads(shipyard("jobs", "show", "1", "--json"))
    assert detail["events"][0]["message"] == "queued ticket 1"
    # A second trigger for the same ticket is a no-op.
    assert "already active: job 1" in shipyard("ticket", "queue", "1")


def test_bad_requests_name_the_field_and_the_reason(shipyard, tmp_path):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    shipyard("init", str(tmp_path / "lib"))
    assert "ticket title: must not be empty" in shipyard("ticket", "add", "--repo", "lib", "--title", " ", ok=False)
    assert "--repo nope: no such repository" in shipyard("ticket", "add", "--repo", "nope", "--title", "x", ok=False)
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "x", "--cassette", str(tmp_path / "none.yml"), ok=False)
    assert "no such file" in out
    shipyard("ticket", "add", "--repo", "lib", "--title", "Add y", "--label", "shipyard")
    assert "not waiting for a human decision" in shipyard("review", "approve", "1", ok=False)
    assert "job 9 does not exist" in shipyard("jobs", "cancel", "9", ok=False)
    assert "job 1 cancelled" in shipyard("jobs", "cancel", "1")
    assert "already cancelled" in shipyard("jobs", "cancel", "1", ok=False)
    assert "queued job 2" in shipyard("jobs", "retry", "1")


def test_outcomes_report_counts_finished_jobs_by_outcome(shipyard, tmp_path):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    shipyard("init", str(tmp_path / "lib"))
    shipyard("ticket", "add", "--repo", "lib", "--title", "Add y", "--label", "shipyard")
    shipyard("jobs", "cancel", "1")
    report = json.loads(shipyard("outcomes", "--json"))
    assert report["real"]["cancelled"] == 1 and report["real"]["merged"] == 0
    assert report["real"]["cost_per_merged_pr_usd"] is None  # nothing merged: no figure, not $0
    assert "cost per merged PR" in shipyard("outcomes")
