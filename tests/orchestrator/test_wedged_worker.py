"""Pool children killed mid-job do not stall a worker: the next job starts within seconds. And a
worker whose pool holds a received job and does not start it is wedged: it says so on the workers
table (``shipyard workers``, the workers page), exits with status 75 so that a supervisor starts it
again, and the job it held goes to another worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import Job
from orchestrator.worker.celery_app import reap_leaked_sandboxes
from orchestrator.worker.watchdog import EXIT_WEDGED
from sandboxes.reaper import reap_leaked_dirs
from tests.orchestrator.test_worker_processes import pool_children, wait_for_children
from tests.pipeline.harness import (
    ASSETS,
    ROOT,
    Worker,
    queue_ticket,
    register,
    running_worker,
    sample_repository,
    settings_env,
    wait_for_job,
)
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from tests.web.logins import api_client

CASSETTE = ASSETS / "cassettes" / "slugify-dashes.yml"


def stop_the_pool_process(worker_pid: int) -> None:
    """SIGSTOP the pool's one process, as it is now (the pool replaces one that exits at start)."""
    for _ in range(10):
        (child,) = wait_for_children(worker_pid, 1)
        try:
            os.kill(child, signal.SIGSTOP)
            return
        except ProcessLookupError:
            time.sleep(0.5)
    pytest.fail(f"worker {worker_pid}: its pool process kept exiting before it could be stopped")


@pytest.mark.workers
def test_a_worker_whose_pool_never_starts_a_received_job_stops_visibly_and_the_job_runs_elsewhere(tmp_path, scrub_env):
    settings = Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10)
    ship = Shipyard.load(settings)
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    wedged = Worker(ship.settings, concurrency=1)
    try:
        # Its only pool process stops taking work (as a pool that lost track of a process does):
        # the worker still beats and takes the job's message, and never starts it.
        wait_until(
            lambda: [w for w in ship.workers() if w["pid"] == wedged.proc.pid and w["status"] == "alive"],
            30,
            "worker alive",
        )
        stop_the_pool_process(wedged.proc.pid)
        job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, CASSETTE)
        queued_at = time.monotonic()
        status = wedged.proc.wait(timeout=45)
        stopped_after = time.monotonic() - queued_at
    finally:
        wedged.kill()
        wedged.stop()
    assert status == EXIT_WEDGED, wedged.log()
    assert stopped_after < 35, f"the wedged worker exited {stopped_after:.0f} s after the job was queued"
    (row,) = [w for w in ship.workers() if w["pid"] == wedged.proc.pid]
    assert row["status"] == "wedged" and "did not start a received job" in row["stop_reason"], row
    shown = subprocess.run([sys.executable, "-m", "orchestrator", "workers"], env=settings_env(ship.settings), cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "wedged" in shown and "did not start a received job" in " ".join(shown.split()), shown
    print(f"wedged worker exited {stopped_after:.1f} s after the job was queued")
    page = api_client(ship).get("/workers").text
    assert 'data-status="wedged"' in page and "did not start a received job" in page, page
    with running_worker(ship.settings) as healthy:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, timeout=60, worker=healthy)
    assert job["state"] == "awaiting_review", job["reason"]
    print(f"job settled {time.monotonic() - queued_at:.1f} s after it was queued")
    reap_leaked_sandboxes(ship.settings)  # what the next worker's sweep does: nothing of the two is left
    assert mounts_under(ship.settings.data_dir) == []
    ship.store.dispose()


def mounts_under(data_dir: Path) -> list[str]:
    """Filesystems (sandbox disks) still mounted under the data directory."""
    mounted = (line.split()[1] for line in Path("/proc/mounts").read_text().splitlines())
    return [m for m in mounted if m.startswith(f"{data_dir}/")]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not seen within {timeout} s: {what}")


@pytest.mark.workers
def test_a_worker_whose_pool_children_are_killed_mid_job_starts_the_next_job_within_seconds(tmp_path, scrub_env):
    settings = Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10)
    ship = Shipyard.load(settings)
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    with running_worker(ship.settings, concurrency=2) as worker:
        for i in range(2):
            queue_ticket(ship, "textkit", f"{SLUG_TITLE} (killed {i})", SLUG_BODY, CASSETTE)
        victims = wait_until(lambda: busy_children(ship, worker.proc.pid, 2), 60, "both pool children working a job")
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        later = queue_ticket(ship, "textkit", f"{SLUG_TITLE} (later)", SLUG_BODY, CASSETTE)
        # Both killed jobs keep their lease for 10 s; the next job needs only a free pool slot.
        wait_until(lambda: job_started(ship, later), 8, f"job {later} started by the worker whose children were killed")
        print(f"next job started {time.monotonic() - killed_at:.1f} s after both pool children were killed")
        job = wait_for_job(ship, later, {"awaiting_review", "blocked", "failed"}, timeout=60, worker=worker)
        assert job["state"] == "awaiting_review", job["reason"]
    # The killed children's sandboxes (and their disks) go at the next sweep once their lease
    # has long expired; the sweep is run now rather than waited for.
    reap_leaked_dirs(ship.settings.data_dir / "sandboxes", older_than_s=0)
    assert mounts_under(ship.settings.data_dir) == []
    ship.store.dispose()


def busy_children(ship: Shipyard, worker_pid: int, count: int) -> list[int]:
    """Pool children of the worker that hold a running job's lease (when there are ``count`` of them)."""
    children = set(pool_children(worker_pid))
    with ship.store.session() as s:
        owners = s.scalars(select(Job.lease_owner).where(Job.state == "running", Job.lease_owner.is_not(None))).all()
    busy = sorted(pid for pid in (int(o.split(":")[1]) for o in owners) if pid in children)
    return busy if len(busy) >= count else []


def job_started(ship: Shipyard, job_id: int) -> bool:
    with ship.store.session() as s:
        return s.get(Job, job_id).state != "queued"
