"""Stopping early: SIGTERM hands the job back and the worker exits within 30 s; a cancelled job
stops between sandbox commands (not at the end of the attempt) and its sandbox is removed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, PullRequest
from tests.orchestrator.conftest import wait_until
from tests.pipeline.harness import Worker, queue_ticket, running_worker, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE

SLOW = Path(__file__).resolve().parents[1] / "pipeline" / "cassettes" / "slugify-slow.yml"


def wait_for_event(ship, job_id: int, text: str, timeout: float = 120) -> float:
    def messages() -> list[str]:
        return [e["message"] for e in views.job_detail(ship.store, ship.settings.job_dirs, job_id)["events"]]

    return wait_until(
        lambda: any(text in m for m in messages()), timeout, lambda: f"no event containing {text!r}: {messages()}"
    )


@contextmanager
def worker_in_a_slow_command(ship) -> Iterator[tuple[Worker, int]]:
    """A worker, and the job whose agent it is running in the middle of a ``sleep 6``."""
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, SLOW)
    with running_worker(ship.settings) as worker:
        wait_for_event(ship, job_id, "sleep 6", timeout=120)
        yield worker, job_id


@pytest.mark.slow
@pytest.mark.workers
def test_sigterm_to_the_main_process_hands_the_job_back_and_exits_within_30_s(ship):
    with worker_in_a_slow_command(ship) as (worker, job_id):
        sent = time.monotonic()
        os.kill(worker.proc.pid, signal.SIGTERM)  # like `docker stop`: the main process only
        try:
            worker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not exit within 30 s of SIGTERM:\n{worker.log()}")
        took = time.monotonic() - sent
        log = worker.log()
    with ship.store.session() as s:
        job = s.get(Job, job_id)
        state = (job.state, job.lease_owner)
    events = " | ".join(
        e["kind"] + ":" + e["message"][:80]
        for e in views.job_detail(ship.store, ship.settings.job_dirs, job_id)["events"]
    )
    assert state == ("queued", None), f"{state}\n{events}\n{log}"
    assert took < 30
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, timeout=180, worker=worker)
    assert job["state"] == "awaiting_review", job["reason"]
    assert any(e["kind"] == "shutdown" for e in job["events"]), " | ".join(
        e["kind"] + ":" + e["message"][:50] for e in job["events"][8:]
    )
    with ship.store.session() as s:
        assert len(s.scalars(select(PullRequest)).all()) == 1


INELIGIBLE = Path(__file__).resolve().parents[2] / "orchestrator" / "demo" / "assets" / "cassettes" / "rotate-keys.yml"


@pytest.mark.slow
@pytest.mark.parametrize("signalled", ["main process", "process group"])
@pytest.mark.workers
def test_a_worker_whose_pool_has_run_jobs_exits_within_30_s_of_sigterm(ship, signalled):
    # Pool children that have worked wait for their next task holding the pool's task-queue lock:
    # one that exited on SIGTERM took the lock with it, and the main process hung at exit for ever.
    job_ids = [queue_ticket(ship, "textkit", f"rotate the keys ({i})", "x", INELIGIBLE) for i in range(6)]
    with running_worker(ship.settings) as worker:
        for job_id in job_ids:
            assert wait_for_job(ship, job_id, {"blocked", "failed"}, timeout=120, worker=worker)["state"] == "blocked"
        time.sleep(1)  # idle, waiting for work
        if signalled == "main process":
            os.kill(worker.proc.pid, signal.SIGTERM)
        else:
            os.killpg(worker.proc.pid, signal.SIGTERM)  # systemd's and the harness's way
        try:
            code = worker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not exit within 30 s of SIGTERM ({signalled}):\n{worker.log()}")
    assert code == 0, worker.log()


@pytest.mark.slow
@pytest.mark.workers
def test_a_cancelled_job_stops_between_sandbox_commands_and_its_sandbox_is_removed(ship):
    with worker_in_a_slow_command(ship) as (worker, job_id):
        cancelled = time.monotonic()
        ship.cancel(job_id)
        stopped = wait_for_event(ship, job_id, "its sandbox is removed", timeout=30)
        assert worker.proc.poll() is None
    # At most the command in flight (sleep 6) finishes; the rest of the attempt does not run.
    assert stopped - cancelled < 10, stopped - cancelled
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
    assert detail["state"] == "cancelled"
    sandboxes = [p for p in (ship.settings.data_dir).rglob("sandbox-*") if p.is_dir()]
    assert sandboxes == [], sandboxes


def pool_children(pid: int) -> set[int]:
    from orchestrator.worker.celery_app import child_pids

    return set(child_pids(pid))


def sigterm_try(ship, variant: str, signalled: str) -> str | None:
    """Start a worker on ``ship``, bring its pool to ``variant`` and SIGTERM it; ``None`` if it exited
    within 30 s, else what it was doing."""
    from orchestrator.worker.celery_app import dispatch

    worker = Worker(ship.settings)
    try:
        wait_until(lambda: "ready." in worker.log() and len(pool_children(worker.proc.pid)) == 2, 90, worker.log)
        if variant == "respawned":
            dispatch(ship.celery, 0)  # the pool runs a task (no job is queued: it takes nothing)
            wait_until(lambda: "succeeded" in worker.log(), 60, worker.log)
            first = pool_children(worker.proc.pid)
            os.kill(min(first), signal.SIGKILL)  # idle, it may die holding the task-queue lock
            wait_until(lambda: len(pool_children(worker.proc.pid) - first) == 1, 60, worker.log)
            time.sleep(0.2)  # the new child waits for its first task
        if signalled == "main process":
            os.kill(worker.proc.pid, signal.SIGTERM)  # what `docker stop` sends
        else:
            os.killpg(worker.proc.pid, signal.SIGTERM)  # systemd's way
        try:
            worker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            return f"{variant} pool, SIGTERM to the {signalled}: still running after 30 s\n{worker.log()[-1500:]}"
        return None
    finally:
        worker.kill()


@pytest.mark.slow
@pytest.mark.workers
def test_fresh_and_respawned_pools_exit_within_30_s_of_sigterm_to_the_group_or_the_main_process(tmp_path):
    # A pool child that had not run a job yet (a fresh pool, or a child respawned after another died)
    # had billiard's exit-at-once SIGTERM handler and could die holding the pool's task-queue lock; an
    # idle child SIGKILLed holds it for ever. Either way the main process waited at exit for ever.
    tries = [(v, s) for v in ("fresh", "respawned") for s in ("process group", "main process")] * 5
    ships = [  # each worker on its own deployment (and queue)
        Shipyard.load(Settings(data_dir=tmp_path / str(i), sandbox_backend="local", lease_seconds=10))
        for i in range(len(tries))
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:  # four at a time
        outcomes = list(pool.map(lambda i: sigterm_try(ships[i], *tries[i]), range(len(tries))))
    hung = [what for what in outcomes if what is not None]
    assert not hung, f"{len(hung)} of {len(tries)} workers hung:\n" + "\n\n".join(hung)


def test_a_pool_whose_child_died_holding_the_result_queue_lock_still_closes():
    # A pool child SIGKILLed while it sent a result holds the shared result queue's write lock for
    # ever; billiard's close then waited on that lock for ever to tell its result handler to finish.
    from orchestrator.worker.stopping import StoppableTaskPool

    pool = StoppableTaskPool.BlockingPool(processes=2)
    assert pool.apply_async(os.getpid).get(timeout=30) in {p.pid for p in pool._pool}
    pid = os.fork()
    if pid == 0:  # stands in for a pool child killed in the middle of sending a result
        pool._outqueue._wlock.acquire()
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)

    def close() -> None:
        pool.close()
        pool.join()

    closing = ThreadPoolExecutor(max_workers=1)
    done = closing.submit(close)
    try:
        done.result(timeout=30)
    except TimeoutError:
        pool._outqueue._wlock.release()  # so that this test process can still exit
        done.result(timeout=30)
        pytest.fail("the pool waited on the dead child's lock for over 30 s when it closed")
    finally:
        closing.shutdown(wait=False)
    assert all(p.exitcode is not None for p in pool._pool)
