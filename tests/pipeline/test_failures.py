"""What a user sees when things go wrong: the job says why, nothing done is lost, it can be retried."""

from __future__ import annotations

import time
from functools import partial

import pytest
import yaml
from sqlalchemy import select

from orchestrator.domain.backlog import BacklogError, add_ticket
from orchestrator.reporting import job_views as views
from orchestrator.store.tables import PullRequest
from tests.pipeline.conftest import CASSETTES
from tests.pipeline.harness import ASSETS, queue_ticket, running_worker, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from tests.web.logins import api_client
from workflows.gitops import run_git


def wait_for_event(ship, job_id: int, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
        if any(text in e["message"] for e in detail["events"]):
            return
        time.sleep(0.2)
    raise AssertionError(f"no event containing {text!r} within {timeout}s: {[e['message'] for e in detail['events']]}")


@pytest.mark.slow
@pytest.mark.workers
def test_a_worker_killed_mid_job_is_replaced_and_the_job_resumes_with_one_pull_request(make_ship):
    ship = make_ship(sandbox_backend="local", lease_seconds=10)
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, CASSETTES / "slugify-slow.yml")
    with running_worker(ship.settings) as worker:
        wait_for_event(ship, job_id, "sleep 6", timeout=120)
        worker.kill()
    assert views.job_detail(ship.store, ship.settings.job_dirs, job_id)["state"] == "running"
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, timeout=180, worker=worker)
    assert job["state"] == "awaiting_review", job["reason"]
    messages = [e["message"] for e in job["events"]]
    assert any("worker lost" in m for m in messages), messages
    # Triage and plan ran once: the resumed run continued from the checkpoint.
    assert sum(1 for e in job["events"] if e["kind"] == "routing" and e["message"].startswith("triage")) == 1
    with ship.store.session() as s:
        assert len(s.scalars(select(PullRequest)).all()) == 1
    branches = run_git(["branch", "--list", "shipyard/*"], cwd=ship.settings.data_dir.parent / "textkit").split()
    assert branches == [job["pr"]["branch"]]


def _write_config(repo, text: str) -> None:
    (repo / ".shipyard.yml").write_text(text)
    run_git(["commit", "-qam", "change config"], cwd=repo)


@pytest.mark.slow
@pytest.mark.workers
def test_bad_input_ends_jobs_blocked_with_a_reason_and_the_ticket_can_be_retried(make_ship, tmp_path):
    ship = make_ship(sandbox_backend="local")
    repo = tmp_path / "textkit"
    cassette = ASSETS / "cassettes" / "slugify-dashes.yml"

    _write_config(repo, "gates:\n  coverage:\n    target: 120\n")
    bad_config = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, cassette)
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, bad_config, {"blocked", "failed", "awaiting_review"}, worker=worker)
        assert job["state"] == "blocked"
        assert job["reason"].startswith("invalid configuration: .shipyard.yml: gates.coverage.target:")
        assert "120" in job["reason"]

        _write_config(repo, "test:\n  command: ''\n")
        retried = ship.retry(bad_config)
        job = wait_for_job(ship, retried, {"blocked", "failed", "awaiting_review"}, worker=worker)
        assert job["state"] == "blocked"
        assert "test.command: empty" in job["reason"]

        # A broken cassette is refused when the ticket is added; one broken afterwards blocks its job.
        broken_cassette_ticket = partial(
            add_ticket, ship.store, repo="textkit", title="Broken cassette", body="x", labels=["shipyard"]
        )
        (tmp_path / "cassette-broken.yml").write_text("code:\n  - - tool: edt\n")
        with pytest.raises(BacklogError, match="cassette-broken.yml.*edt"):
            broken_cassette_ticket(cassette=tmp_path / "cassette-broken.yml")
        (tmp_path / "later-broken.yml").write_text(cassette.read_text())
        ticket = broken_cassette_ticket(cassette=tmp_path / "later-broken.yml")
        (tmp_path / "later-broken.yml").write_text("code:\n  - - tool: edt\n")
        broken, _ = ship.enqueue_ticket(ticket.id)
        job = wait_for_job(ship, broken, {"blocked", "failed", "awaiting_review"}, worker=worker)
        assert job["state"] == "blocked"
        assert "later-broken.yml" in job["reason"] and "edt" in job["reason"]


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.workers
@pytest.mark.xdist_group("docker-sweep")  # its worker sweeps leaked containers host-wide (see the reaper test)
def test_a_sandbox_that_cannot_start_blocks_the_job_with_the_reason(make_ship, tmp_path, docker_engine):
    ship = make_ship(sandbox_backend="docker")
    _write_config(tmp_path / "textkit", "sandbox:\n  image: shipyard-no-such-image:latest\n")
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, ASSETS / "cassettes" / "slugify-dashes.yml")
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"blocked", "failed", "awaiting_review"}, worker=worker)
    assert job["state"] == "blocked"
    assert "sandbox could not be prepared" in job["reason"] and "shipyard-no-such-image" in job["reason"]


@pytest.mark.slow
@pytest.mark.workers
def test_a_repository_whose_tests_cannot_run_on_base_stops_after_one_attempt_with_the_fix(make_ship, tmp_path):
    ship = make_ship(sandbox_backend="local")
    _write_config(
        tmp_path / "textkit",
        "test:\n  command: >-\n    python -m pytest -q -p no:cacheprovider --junitxml=.shipyard/junit.xml "
        "-k no_such_test_anywhere\n    --cov=. --cov-report=xml:.shipyard/coverage.xml\nagent:\n  max_attempts: 3\n",
    )
    # The demo's replay without its run_tests turns (whose expected output this suite cannot give).
    cassette = yaml.safe_load((ASSETS / "cassettes" / "slugify-dashes.yml").read_text())
    cassette["code"] = [[turn for turn in cassette["code"][0] if turn["tool"] != "run_tests"]]
    (tmp_path / "no-run-tests.yml").write_text(yaml.safe_dump(cassette))
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, tmp_path / "no-run-tests.yml")
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"blocked", "failed", "awaiting_review"}, worker=worker)
    assert job["state"] == "blocked"
    assert job["reason"].startswith("the base commit's tests could not be measured, so no attempt can pass the gate"), (
        job["reason"]
    )
    assert "ran no tests" in job["reason"] and "`shipyard doctor textkit`" in job["reason"]
    assert len(job["attempt_list"]) == 1  # not three attempts and three baselines
    # The job page shows what each tool returned to the agent (here: the file it viewed).
    page = api_client(ship).get(f"/jobs/{job_id}").text
    assert page.count("output the agent saw") == 4 and "def slugify(" in page  # view, edit, edit, finish
