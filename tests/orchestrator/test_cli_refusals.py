"""Nonsense is refused in one line naming the option or field, never a traceback or a silent no-op:
out-of-range numbers, unwritable files, negative job ids, a budget amount on a pull request approval,
comments on files the pull request does not touch, and tickets that would block the moment they run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from tests.orchestrator.gitrepo import make_repo
from tests.web.store_rows import JobSpec, insert_job


@pytest.fixture
def shipyard(tmp_path, monkeypatch, scrub_env):
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == code, result.output
        return " ".join(result.output.replace("│", " ").split())

    return run


def test_numbers_and_paths_out_of_range_are_one_line_errors(shipyard, tmp_path):
    assert "Invalid value for '--days'" in shipyard("outcomes", "--days", "100000000", code=2)
    out = shipyard("report", "--sprint", "--out", str(tmp_path / "nonexistent" / "dir" / "x.md"), code=2)
    assert "Invalid value for --out" in out and "cannot write: No such file or directory" in out
    for command in (["jobs", "show"], ["jobs", "cancel"], ["review", "approve"], ["review", "reject"]):
        out = shipyard(*command, "-1", code=2)
        assert "Invalid value for 'job_id'" in out and "No such option" not in out


def test_a_budget_amount_on_a_pull_request_approval_is_refused(shipyard, tmp_path):
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data"))
    job_id = insert_job(ship, JobSpec(state="awaiting_review", pr_state="open"))
    out = shipyard("review", "approve", str(job_id), "--extra-usd", "5", code=1)
    assert "extra_usd: only approving a budget extension takes an amount" in out
    assert "waits at the pr gate" in out


def test_tickets_that_would_block_as_soon_as_they_run_are_refused_at_ticket_add(shipyard, tmp_path):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    shipyard("init", str(tmp_path / "lib"), "--yes")
    empty = tmp_path / "empty.yml"
    empty.write_text("{}\n")
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "x", "--label", "shipyard", "--cassette", str(empty),
                   code=1)  # fmt: skip
    assert "--cassette: empty.yml: records nothing to replay" in out
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "x", "--label", "shipyard", code=1)
    assert "no API key: set OPENAI_API_KEY" in out and "pass --cassette" in out
    assert "not queued" in shipyard("ticket", "add", "--repo", "lib", "--title", "later")  # no model runs yet
    assert "[]" == shipyard("jobs", "list", "--json")
