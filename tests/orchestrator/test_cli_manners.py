"""The command line's manners: every option explained, bad values refused with the valid ones,
one clear line when our own infrastructure is down, and a word when nobody will do the work."""

from __future__ import annotations

import json
import socket

import pytest
import typer
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.worker.heartbeats import register_worker
from tests.conftest import free_port
from tests.orchestrator.gitrepo import make_repo
from tests.web.store_rows import JobSpec, gate_report, insert_job


@pytest.fixture
def shipyard(tmp_path, monkeypatch, scrub_env):
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    # A ticket for a live model is accepted only when that model has a key; no worker runs here.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-sent")
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def _commands(group, path=()):
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name)) if hasattr(command, "commands") else [((*path, name), command)]


def test_every_option_and_argument_of_every_command_says_what_it_is_for():
    root = typer.main.get_command(app)
    missing = [f"shipyard {' '.join(path)} {p.name}" for path, command in _commands(root) for p in command.params
               if p.name != "help" and not (getattr(p, "help", None) or "").strip()]  # fmt: skip
    assert len(list(_commands(root))) > 15
    assert missing == []


def test_bad_filter_values_are_errors_that_list_the_valid_ones(shipyard):
    out = shipyard("jobs", "list", "--state", "bogus", code=2)
    assert "'bogus' is not a job state" in out and "awaiting_review" in out and "cancelled" in out
    assert "--days" in shipyard("outcomes", "--days", "-3", code=2)
    assert shipyard("--version").startswith("shipyard ")


def test_an_unlabelled_ticket_says_it_is_not_queued_and_how_to_queue_it(shipyard, tmp_path):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    shipyard("init", str(tmp_path / "lib"), "--yes")
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "Later")
    assert "not queued: it has no `shipyard` label; queue it with `shipyard ticket queue 1`" in out


def test_work_left_for_a_worker_warns_when_no_live_worker_is_seen(shipyard, tmp_path):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    shipyard("init", str(tmp_path / "lib"), "--yes")
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "Add y", "--label", "shipyard")
    assert "queued as job 1" in out and "no live worker is seen: start one with `shipyard worker`" in out
    assert "no live worker" in shipyard("workers")
    # A worker heartbeat in the store (this process registers as one): the warning goes.
    register_worker(Shipyard.load(Settings()).store, concurrency=2)
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "Add z", "--label", "shipyard")
    assert "queued as job 2" in out and "no live worker" not in out
    rows = json.loads(shipyard("workers", "--json"))
    assert [(w["status"], w["concurrency"]) for w in rows] == [("alive", 2)]


def test_an_unreachable_database_is_one_line_without_the_password(shipyard, monkeypatch):
    monkeypatch.setenv(
        "SHIPYARD_DATABASE_URL", f"postgresql+psycopg://shipyard:hunter2secret@127.0.0.1:{free_port()}/shipyard"
    )
    out = shipyard("jobs", "list", code=1)
    assert out.startswith("error: the database is unreachable (") and "SHIPYARD_DATABASE_URL" in out
    assert "Traceback" not in out and "hunter2secret" not in out and len(out.splitlines()) <= 3


def test_an_unreachable_broker_keeps_the_ticket_and_says_what_happens_next(shipyard, tmp_path, monkeypatch):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    shipyard("init", str(tmp_path / "lib"), "--yes")
    monkeypatch.setenv("SHIPYARD_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    out = shipyard("ticket", "add", "--repo", "lib", "--title", "Add y", "--label", "shipyard", code=1)
    assert (
        "ticket 1 (its job recorded as queued) is saved, but the queue's broker is unreachable" in out
        and "Traceback" not in out
    )
    jobs = json.loads(shipyard("jobs", "list", "--json"))
    assert [(j["id"], j["state"]) for j in jobs] == [(1, "queued")]
    shipyard("jobs", "cancel", "1")
    out = shipyard("jobs", "retry", "1", code=1)
    assert "the retry of job 1 is saved, but the queue's broker is unreachable" in out and "Traceback" not in out


def test_a_port_in_use_is_named_with_the_way_out(shipyard):
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        out = shipyard("web", "--host", "127.0.0.1", "--port", str(port), code=1)
    assert f"cannot listen on 127.0.0.1:{port}" in out and "pass --port" in out and "Errno" not in out


def test_jobs_show_prints_the_whole_plan_and_each_attempts_gate_table(shipyard, tmp_path):
    ship = Shipyard.load(Settings())
    plan = "1. Parse the header.\n2. " + "Handle every edge case carefully " * 8 + "and finish.\n3. Test it."
    job_id = insert_job(ship, JobSpec(state="blocked", reason="gate failed", events=[("plan", plan)],
                                      gates=[gate_report(False, 40.0, "diff coverage 40.0% < 90%")]))  # fmt: skip
    out = shipyard("jobs", "show", str(job_id))
    assert "and finish." in out and "3. Test it." in out  # the plan, not cut
    assert "diff coverage 40.0% < 90%" in out and "fail" in out and "Diff coverage: 40.0%" in out


def test_a_long_reason_is_not_cut_mid_word_in_a_pipe(shipyard):
    ship = Shipyard.load(Settings())
    reason = "configuration error: .shipyard.yml: test_command: " + "a very long explanation " * 6 + "END-OF-REASON"
    insert_job(ship, JobSpec(state="blocked", reason=reason))
    out = shipyard("jobs", "list")
    assert "END-OF-REASON" in out.replace("\n", "").replace("│", "").replace(" ", "")


def test_a_bad_cassette_is_refused_at_ticket_add_with_every_problem(shipyard, tmp_path):
    make_repo(tmp_path / "lib", {"lib.py": "x = 1\n"})
    shipyard("init", str(tmp_path / "lib"), "--yes")
    bad = tmp_path / "bad.yml"
    bad.write_text("triage: {eligible: maybe}\nbogus: 1\nextra_key: 2\n")
    out = shipyard(
        "ticket", "add", "--repo", "lib", "--title", "x", "--cassette", str(bad), "--label", "shipyard", code=1
    )
    assert "--cassette: bad.yml:" in out and "bogus: unknown key" in out and "extra_key: unknown key" in out
    assert json.loads(shipyard("ticket", "list", "--json")) == []
