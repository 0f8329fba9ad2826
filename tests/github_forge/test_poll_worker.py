"""Polling GitHub through the queue and a worker process: a label removed while the job is queued
cancels it, an edit while queued updates the ticket, rate limits (429, and a primary limit with
``X-RateLimit-Reset``) are waited out by the poller and mid-job by the worker, and an idle poll
is a 304 that costs nothing against the rate limit."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from github import Auth, Github
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.intake.github_poller import GitHubPoller
from orchestrator.intake.github_repository import register_github_repository
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, Job, Ticket
from tests.github_forge.conftest import open_issue
from tests.github_forge.test_pipeline_github import HUMAN, REPO, assert_no_token, github  # noqa: F401 - fixture
from tests.pipeline.conftest import CASSETTES
from tests.pipeline.harness import ROOT, running_worker, settings_env, wait_for_job

SLUGIFY = "`slugify('Hello,  World!')` returns `hello---world`; it should be `hello-world`."


def _labelled(emulator, number: int, title: str, body: str) -> None:
    open_issue(emulator, number, title, body, repo=REPO)
    emulator.label_issue(REPO, number, "shipyard", "alice")  # alice has write access (the fixture)


@pytest.mark.slow
@pytest.mark.workers
def test_polled_label_removed_cancels_edit_updates_and_rate_limits_are_waited_out(tmp_path: Path, github):  # noqa: F811
    emulator, env = github
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=30))
    register_github_repository(ship.store, f"github:{REPO}")
    _labelled(emulator, 1, "Rename the module", "Call it textkit2.")
    _labelled(emulator, 2, "slugify leaves repeated dashes", "it is broken")
    poller = GitHubPoller(ship)
    dropped, kept = poller.poll_once()
    with ship.store.session() as s:
        s.get(Job, kept).ticket.cassette = str(CASSETTES / "slugify-review.yml")

    human = Github(auth=Auth.Token(HUMAN), base_url=f"{emulator.base}/api/v3").get_repo(REPO)
    human.get_issue(1).remove_from_labels("shipyard")
    human.get_issue(2).edit(body=SLUGIFY)
    emulator.faults.too_many_requests = 1  # the next poll meets a 429 with Retry-After …
    emulator.faults.primary_exhausted = 1  # … then the primary limit, reset a second later
    started = time.monotonic()
    assert poller.poll_once() == []
    assert (
        time.monotonic() - started >= 1.0
        and emulator.faults.too_many_requests == emulator.faults.primary_exhausted == 0
    )
    with ship.store.session() as s:
        cancelled, ticket = s.get(Job, dropped), s.get(Job, kept).ticket
        assert cancelled.state == "cancelled"
        assert cancelled.reason == f"{REPO}#1 is no longer open with the label 'shipyard' (seen by polling)"
        assert ticket.body == SLUGIFY
        assert s.scalar(select(Event.message).where(Event.job_id == kept, Event.kind == "ticket")).startswith(
            "issue edited on GitHub"
        )

    used = emulator.rate_used
    assert poller.poll_once() == [] and poller.not_modified == 1
    assert emulator.rate_used == used, "an unchanged issue list must cost nothing against the rate limit"

    emulator.faults.too_many_requests = 2  # the worker's first API calls meet rate limits mid-job:
    emulator.faults.primary_exhausted, emulator.faults.primary_status = 1, 429  # a 429 until X-RateLimit-Reset too
    with running_worker(ship.settings, env=env) as worker:
        done = wait_for_job(ship, kept, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert done["state"] == "awaiting_review", done["reason"]
        assert wait_for_job(ship, dropped, {"cancelled"}, worker=worker)["state"] == "cancelled"
        log = worker.log_path.read_text(errors="replace")
    assert emulator.faults.too_many_requests == emulator.faults.primary_exhausted == 0
    assert [r.get("status") for r in emulator.requests if r.get("status") in (403, 429)]
    ((_, pr),) = emulator.pulls.items()  # only the kept issue got a pull request
    assert pr["body"].startswith("Closes #2")
    with ship.store.session() as s:
        assert s.get(Job, dropped).attempts == 0
    assert_no_token(ship, log, emulator)


@pytest.mark.workers
def test_worker_poll_github_queues_labelled_issues(tmp_path: Path, github):  # noqa: F811
    emulator, env = github
    settings = Settings(data_dir=tmp_path / "data", sandbox_backend="local")
    ship = Shipyard.load(settings)
    register_github_repository(ship.store, f"github:{REPO}")
    _labelled(emulator, 3, "slugify leaves repeated dashes", SLUGIFY)
    cmd = [
        sys.executable,
        "-m",
        "orchestrator",
        "worker",
        "--poll",
        "github",
        "--poll-interval",
        "0.5",
        "--concurrency",
        "1",
    ]
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen(
        cmd, env=settings_env(settings, env), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with ship.store.session() as s:
                trigger = s.scalar(select(Event.message).where(Event.kind == "trigger"))
            if trigger is not None:
                break
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker's poller never queued the labelled issue"
            time.sleep(0.2)
    finally:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    with ship.store.session() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.external_id == "3"))
        assert [j.id for j in s.scalars(select(Job).where(Job.ticket_id == ticket.id))] == [1]
    assert trigger == f"GitHub issue {REPO}#3 found labelled 'shipyard' by polling"
