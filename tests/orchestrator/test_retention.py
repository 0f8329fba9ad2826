"""Retention: a finished job's working directory is removed by the workers' sweep (or `shipyard jobs
gc`) once the retention has passed; its page and API still show it, diff included. A killed worker's
local sandbox directories are removed by the next sweep of any worker."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from orchestrator.cli.main import app as cli_app
from orchestrator.store.tables import Job, utcnow
from orchestrator.worker.sandboxing import sandbox_provider
from sandboxes.base import SandboxSpec
from tests.orchestrator.conftest import wait_until
from tests.pipeline.harness import ASSETS, queue_ticket, running_worker, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from tests.web.logins import api_client

CASSETTE = ASSETS / "cassettes" / "slugify-dashes.yml"
INELIGIBLE = ASSETS / "cassettes" / "rotate-keys.yml"
SLOW = Path(__file__).resolve().parents[1] / "pipeline" / "cassettes" / "slugify-slow.yml"


@pytest.mark.slow
@pytest.mark.workers
def test_a_finished_job_directory_is_removed_after_the_retention_and_its_page_still_shows_the_diff(ship, monkeypatch):
    merged = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, CASSETTE)
    recent = queue_ticket(ship, "textkit", "Rotate the production keys", "x", INELIGIBLE)
    with running_worker(ship.settings) as worker:
        wait_for_job(ship, merged, {"awaiting_review"}, timeout=120, worker=worker)
        ship.decide(merged, "approve")
        wait_for_job(ship, merged, {"merged"}, timeout=120, worker=worker)
        wait_for_job(ship, recent, {"blocked"}, timeout=120, worker=worker)
    job_dirs = ship.settings.job_dirs
    assert job_dirs.git(merged).is_dir()  # within the retention (14 days by default): kept
    with api_client(ship, "admin") as client:
        before = client.get(f"/api/jobs/{merged}").json()
    assert "slug" in before["diff"] and before["dir_removed_at"] is None

    # Finished 15 days ago: the next worker's sweep removes its directory; the recent job's stays.
    with ship.store.session() as s:
        s.execute(update(Job).where(Job.id == merged).values(finished_at=utcnow() - timedelta(days=15)))
    with running_worker(ship.settings) as worker:
        wait_until(lambda: not job_dirs.job(merged).exists(), 60, "the sweep removing the old job's directory")
        assert worker.proc.poll() is None
    assert job_dirs.job(recent).is_dir()

    with api_client(ship, "admin") as client:
        after = client.get(f"/api/jobs/{merged}").json()
        page = client.get(f"/jobs/{merged}")
        listed = client.get("/api/jobs").json()
    assert after["state"] == "merged" and after["dir_removed_at"] is not None
    assert after["diff"] == before["diff"]
    assert after["events"] == before["events"] and after["attempt_list"] == before["attempt_list"]
    assert page.status_code == 200 and "slug.py" in page.text and "diff unavailable" not in page.text
    assert {j["id"] for j in listed} == {merged, recent}

    # An operator frees the rest now: `shipyard jobs gc --days 0` prints what it removed.
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))
    monkeypatch.setenv("SHIPYARD_SANDBOX_BACKEND", "local")
    result = CliRunner().invoke(cli_app, ["jobs", "gc", "--days", "0"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (
        f"job {recent}: removed" in result.output
        and "freed" in result.output
        and "from 1 finished job" in result.output
    )
    assert not job_dirs.job(recent).exists()
    again = CliRunner().invoke(cli_app, ["jobs", "gc", "--days", "0"], catch_exceptions=False)
    assert "freed 0 B from 0 finished job(s)" in again.output


@pytest.mark.slow
@pytest.mark.workers
def test_a_killed_workers_local_sandbox_directories_are_removed_by_the_next_sweep(ship):
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, SLOW)
    sandboxes = ship.settings.data_dir / "sandboxes"
    with running_worker(ship.settings) as worker:
        wait_until(
            lambda: sandboxes.is_dir() and any(p.name.startswith("local-") for p in sandboxes.iterdir()),
            120,
            "a sandbox directory",
        )
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
    left = [p for p in sandboxes.iterdir() if p.name.startswith("local-")]
    assert left, "the killed worker left no sandbox directory to reap"
    # A live process's sandbox is spared: this test process signs one of its own.
    live = sandbox_provider(ship.settings).acquire(SandboxSpec())
    try:
        with running_worker(ship.settings) as worker:
            wait_until(
                lambda: not any(p.exists() for p in left),
                60,
                "the sweep removing the killed worker's sandbox directories",
            )
            job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, timeout=180, worker=worker)
        assert job["state"] == "awaiting_review", job["reason"]
        assert live.exec("echo alive").output.strip() == "alive"
    finally:
        live.close()
    assert [p.name for p in sandboxes.iterdir() if p.name.startswith("local-")] == []


def test_retention_and_the_reaper_remove_only_their_own_directories_and_follow_no_links(ship, tmp_path):
    """What an agent planted (links out of its workspace) and what is not a finished job's are left alone."""
    from orchestrator.domain import jobs
    from orchestrator.domain.backlog import add_ticket
    from orchestrator.housekeeping.retention import collect_job_dirs
    from sandboxes.reaper import reap_leaked_dirs

    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    ids = []
    for title in ("finished", "running"):
        ticket = add_ticket(ship.store, repo="textkit", title=title, body="x", labels=["shipyard"], cassette=None)
        ids.append(jobs.create_job(ship.store, ticket.id)[0])
    finished, running = ids
    with ship.store.session() as s:
        s.execute(
            update(Job).where(Job.id == finished).values(state="failed", finished_at=utcnow() - timedelta(days=30))
        )
        s.execute(
            update(Job).where(Job.id == running).values(state="running", finished_at=utcnow() - timedelta(days=30))
        )
    job_dirs = ship.settings.job_dirs
    for job_id in ids:
        (job_dirs.job(job_id) / "base").mkdir(parents=True)
        (job_dirs.job(job_id) / "base" / "link").symlink_to(outside)
    (job_dirs.root / "notes").mkdir()
    freed = collect_job_dirs(ship.store, job_dirs, retain_days=1)
    assert [f.job_id for f in freed] == [finished]
    assert not job_dirs.job(finished).exists() and job_dirs.job(running).is_dir() and (job_dirs.root / "notes").is_dir()
    assert (outside / "keep.txt").read_text() == "mine"

    sandboxes = ship.settings.data_dir / "sandboxes"
    sandboxes.mkdir(exist_ok=True)
    (sandboxes / "local-0123456789ab-link").symlink_to(outside)
    unsigned = sandboxes / "local-ba9876543210-old"
    (unsigned / "workspace").mkdir(parents=True)
    (unsigned / "workspace" / "link").symlink_to(outside)
    assert reap_leaked_dirs(sandboxes, older_than_s=0) == [unsigned]
    assert (sandboxes / "local-0123456789ab-link").is_symlink() and (outside / "keep.txt").read_text() == "mine"
