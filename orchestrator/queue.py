"""The Celery application. Tasks are a few lines that call into the domain (``runner``).

Broker: Redis in production (``SHIPYARD_BROKER_URL=redis://…``); by default the kombu
filesystem transport under the data directory — no server, and it works across processes.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from celery import Celery, signals

from orchestrator import jobs
from orchestrator.settings import Settings
from orchestrator.store import Store

log = logging.getLogger("shipyard.queue")


def make_celery(settings: Settings) -> Celery:
    app = Celery("shipyard", set_as_current=False)
    if settings.broker_url:
        app.conf.broker_url = settings.broker_url
    else:
        folder = settings.queue_dir / "messages"
        folder.mkdir(parents=True, exist_ok=True)
        (settings.queue_dir / "processed").mkdir(parents=True, exist_ok=True)
        app.conf.broker_url = "filesystem://"
        app.conf.broker_transport_options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(settings.queue_dir / "processed"),
            "store_processed": False,
        }
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        task_default_queue="shipyard",
    )

    @app.task(name="shipyard.run_job")
    def run_job(job_id: int) -> str | None:
        from orchestrator.runner import JobRunner

        return JobRunner(settings, worker_store(settings.db_url)).run(job_id)

    return app


@lru_cache(maxsize=4)
def worker_store(url: str) -> Store:
    """One store (engine) per worker process."""
    return Store(url)


def dispatch(app: Celery, job_id: int) -> None:
    """Queue the job's next step (first run, or resume after a human decision)."""
    app.send_task("shipyard.run_job", args=[job_id])


MAX_RECOVERIES = 2


def recover_stale_jobs(settings: Settings, store: Store, app: Celery) -> list[int]:
    """Re-queue jobs whose worker died; after ``MAX_RECOVERIES`` the job fails with the reason."""
    from orchestrator.store.models import Event, Job, JobState, utcnow

    requeued = []
    for job_id in jobs.stale_running_jobs(store):
        with store.session() as s:
            job = s.get(Job, job_id)
            job.recoveries += 1
            job.lease_owner, job.lease_expires_at = None, None
            if job.recoveries > MAX_RECOVERIES:
                job.state, job.finished_at = JobState.FAILED.value, utcnow()
                job.reason = (
                    f"its worker stopped {job.recoveries} times while running it (killed or crashed); "
                    f"work so far is kept in the checkpoint — retry with `shipyard jobs retry {job_id}`"
                )
                s.add(Event(job_id=job_id, kind="error", message=job.reason, data={}))
                continue
            s.add(Event(job_id=job_id, kind="recovered", message="worker lost (lease expired); resuming from the last checkpoint", data={}))
        dispatch(app, job_id)
        requeued.append(job_id)
    return requeued


def start_maintenance(settings: Settings, app: Celery, interval_s: float) -> threading.Event:
    """In a worker: recover stale jobs and reap leaked sandboxes at start and then periodically."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                recover_stale_jobs(settings, worker_store(settings.db_url), app)
                reap_leaked_sandboxes(settings)
            except Exception:  # maintenance must never take the worker down
                log.exception("maintenance sweep failed")
            if stop.wait(interval_s):
                return

    threading.Thread(target=loop, name="shipyard-maintenance", daemon=True).start()
    return stop


def reap_leaked_sandboxes(settings: Settings) -> None:
    from orchestrator.sandboxing import reap_leaked

    reap_leaked(settings)


def install_worker_hooks(settings: Settings, app: Celery) -> None:
    @signals.worker_ready.connect(weak=False)
    def _on_ready(**_kwargs) -> None:
        start_maintenance(settings, app, interval_s=max(5.0, settings.lease_seconds / 2))
