"""The Celery application. Tasks are a few lines that call into the domain (``job_runner``).

Broker: Redis in production (``SHIPYARD_BROKER_URL=redis://…``); by default the kombu
filesystem transport under the data directory — no server, and it works across processes.
The broker is only a doorbell: the store says what is to be done, and the sweep here re-sends
whatever message the broker lost.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from celery import Celery, signals
from celery.exceptions import Reject

from orchestrator.domain import jobs
from orchestrator.domain.scheduling import another_job_claimable, held_back_by_cap, within_caps
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.db import forget_inherited_connections
from orchestrator.store.tables import Job
from orchestrator.worker.heartbeats import dead_after_s, free_worker_slots
from orchestrator.worker.provider_waits import resume_answering
from orchestrator.worker.stopping import SHUTTING_DOWN

POLL_INTERVAL_S = 0.03
"""How often the embedded (filesystem) transport looks for new messages. A worker slot freed waits
for the next poll before its next job, so at 0.1 s a no-op job (~100 ms) left slots idle a third
of the time. An idle worker's main process uses about 1% of a core at 0.03 s (0.5% at 0.1 s)."""

LOST_WORKER_WAIT_S = 1.0
"""How long the pool waits for the result of a child that died mid-job before it frees the job's slot."""

log = logging.getLogger("shipyard.queue")


def make_celery(settings: Settings) -> Celery:
    app = Celery("shipyard", set_as_current=False)
    if settings.broker_url:
        app.conf.broker_url = settings.broker_url
    else:
        folder = settings.queue_dir / "messages"
        for sub in ("messages", "processed", "control"):
            (settings.queue_dir / sub).mkdir(parents=True, exist_ok=True)
        app.conf.broker_url = "filesystem://"
        app.conf.broker_transport = "orchestrator.worker.transport:Transport"
        app.conf.broker_transport_options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(settings.queue_dir / "processed"),
            "control_folder": str(settings.queue_dir / "control"),
            "store_processed": False,
            "polling_interval": POLL_INTERVAL_S,
        }
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # A pool child killed mid-job leaves its message unacknowledged, holding a prefetch slot,
        # until the pool gives up on the result the child might have sent: 10 s by default, during
        # which a worker whose children were all killed takes no new job. Results are ignored and
        # a claim is a compare-and-set on the job row, so waiting for one buys nothing.
        worker_lost_wait=LOST_WORKER_WAIT_S,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        task_default_queue="shipyard",
        worker_pool="orchestrator.worker.stopping:StoppableTaskPool",
    )

    @app.task(name="shipyard.run_job")
    def run_job(dispatched_for: int) -> str | None:
        """Take the job the queue policy picks (priority, fairness, caps) and advance it; returns its
        state. The message is a doorbell: ``dispatched_for``, the job whose dispatch sent it, is not
        necessarily the job taken, so a late message never lets a job jump the queue."""
        from orchestrator.worker.job_runner import JobRunner

        if SHUTTING_DOWN.is_set():
            # A pool child forked after the worker began to shut down (it inherits the flag): the
            # worker may kill it any moment, so it claims nothing; the message goes back to the broker.
            raise Reject("the worker is shutting down", requeue=True)
        store = worker_store(settings.db_url)

        def ring_for_the_rest(claimed: int) -> None:
            # A message taken while no job could be (a cap full, a lease live) is spent: the job it
            # was for may have no message left. Each claim that leaves work behind rings once, so a
            # free slot elsewhere takes it instead of waiting behind this repository's backlog.
            if another_job_claimable(store, settings.repo_max_running_jobs):
                dispatch(app, claimed)

        taken, state = JobRunner(settings, store).run_next(after_claim=ring_for_the_rest)
        if taken is not None and (state == "queued" or held_back_by_cap(store, taken, settings.repo_max_running_jobs)):
            # Handed back by a worker that is shutting down, or a capped repository's slot freed
            # (its waiting jobs' messages may have been taken while the cap was full): ring again.
            dispatch(app, taken)
        return state

    return app


_WORKER_STORES: dict[tuple[int, str], Store] = {}


def worker_store(url: str) -> Store:
    """One store (engine) per worker process; a forked child never reuses its parent's."""
    key = (os.getpid(), url)
    if key not in _WORKER_STORES:
        _WORKER_STORES[key] = Store(url)
    return _WORKER_STORES[key]


def dispatch(app: Celery, job_id: int) -> None:
    """Ring for the job's next step (first run, or resume after a human decision): a worker answers
    with the job the queue policy picks, this one or another."""
    app.send_task("shipyard.run_job", args=[job_id])


MAX_RECOVERIES = 2


def redelivery_after_s(settings: Settings) -> float:
    """How long a dispatchable job may wait unclaimed before its message counts as lost."""
    return 2.0 * settings.lease_seconds


def recover_stale_jobs(settings: Settings, store: Store, app: Celery) -> list[int]:
    """Re-dispatch what the broker or a dead worker lost, and jobs whose provider answers again;
    returns the job ids sent again.

    Idempotent: each step is a compare-and-set on the job row, so every worker (and the web
    app) may sweep at once; a job ends up with at most one extra message, which a claim absorbs.
    """
    stale = jobs.stale_running_jobs(store)
    requeued = [job_id for job_id in stale if jobs.requeue_stale(store, job_id, MAX_RECOVERIES)]
    for job_id in sorted(set(stale) - set(requeued)):
        forget_if_final(settings, store, job_id)  # failed after too many recoveries: its job ref goes
    bound = redelivery_after_s(settings)
    lost = within_caps(store, jobs.undelivered_jobs(store, bound), settings.repo_max_running_jobs)
    free = free_worker_slots(store, dead_after_s(sweep_interval_s(settings)))
    if free is not None:
        # While every live worker's slots are busy (a slow model holds them), a waiting job's
        # message is waiting for a slot, not lost: only as many are sent again as could be taken.
        lost = lost[:free]
    requeued += [job_id for job_id in lost if jobs.redeliver(store, job_id, bound)]
    for job_id in resume_answering(settings, store):
        jobs.mark_dispatched(store, job_id)
        requeued.append(job_id)
    for job_id in requeued:
        dispatch(app, job_id)
    return requeued


def forget_if_final(settings: Settings, store: Store, job_id: int) -> None:
    from orchestrator.housekeeping.forge_refs import forget_job_commits

    with store.session() as s:
        job = s.get(Job, job_id)
        final = job is not None and job.job_state.is_final
    if final:
        forget_job_commits(settings, store, job_id)


def start_maintenance(settings: Settings, app: Celery, interval_s: float, heartbeat=None) -> threading.Event:
    """Recover lost jobs and reap leaked sandboxes at start and then periodically (worker and web);
    ``heartbeat()``, when given, runs first on every round."""
    stop = threading.Event()

    def loop() -> None:
        next_gc = 0.0
        while True:
            try:
                if heartbeat is not None:
                    heartbeat()
                recover_stale_jobs(settings, worker_store(settings.db_url), app)
                reap_leaked_sandboxes(settings)
                if time.monotonic() >= next_gc:
                    next_gc = time.monotonic() + GC_INTERVAL_S
                    collect_job_dirs(settings, worker_store(settings.db_url))
            except Exception:  # maintenance must never take the worker down
                log.exception("maintenance sweep failed")
            if stop.wait(interval_s):
                return

    threading.Thread(target=loop, name="shipyard-maintenance", daemon=True).start()
    return stop


GC_INTERVAL_S = 600.0
"""How often the sweep removes the directories of jobs finished longer ago than the retention."""


def collect_job_dirs(settings: Settings, store: Store) -> list:
    """Remove finished jobs' directories and checkpoints past ``retain_job_dirs_days``, and the job
    refs finished jobs left on their forges; returns the directories freed."""
    from orchestrator.housekeeping.checkpoint_retention import collect_checkpoints
    from orchestrator.housekeeping.environment_retention import collect_environments
    from orchestrator.housekeeping.forge_refs import sweep_job_refs
    from orchestrator.housekeeping.retention import collect_job_dirs as collect

    freed = collect(store, settings.job_dirs, settings.retain_job_dirs_days)
    if freed:
        log.info(
            "retention: removed the directories of %d finished job(s), %d bytes",
            len(freed),
            sum(f.bytes for f in freed),
        )
    envs = collect_environments(settings.data_dir, settings.retain_job_dirs_days)
    if envs:
        log.info("retention: removed %d repository environment(s) unused for the retention period, %d bytes",
                 len(envs), sum(e.bytes for e in envs))  # fmt: skip
    threads = collect_checkpoints(settings, store, settings.retain_job_dirs_days)
    if threads:
        log.info("retention: removed the checkpoints of %d finished job(s), %d rows, %d bytes",
                 len(threads), sum(f.rows for f in threads), sum(f.bytes for f in threads))  # fmt: skip
    refs = sweep_job_refs(settings, store)
    if refs:
        log.info(
            "retention: removed the job refs of %d finished job(s) from their forges: %s",
            len(refs),
            ", ".join(f"{r.repository} job {r.job_id}" for r in refs),
        )
    return freed


def sweep_interval_s(settings: Settings) -> float:
    return max(2.0, min(30.0, settings.lease_seconds / 3))


def reap_leaked_sandboxes(settings: Settings) -> None:
    from orchestrator.worker.sandboxing import reap_leaked

    reap_leaked(settings)


def child_pids(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == parent:
                pids.append(int(entry))
    return pids


def install_worker_hooks(settings: Settings, app: Celery, concurrency: int) -> None:
    """Call in the worker's main process before the pool starts."""
    from orchestrator.store.checkpointer import ensure_checkpoint_tables
    from orchestrator.worker import heartbeats as workers
    from orchestrator.worker import watchdog

    ensure_checkpoint_tables(settings)  # once, before forking: pool children inherit "done"
    # What every job runs (the workflow, the agents, the gates: half a second of imports) is loaded
    # once here, before forking, instead of by each pool child, first or respawned, at its first job.
    import orchestrator.worker.job_runner  # noqa: F401

    @signals.worker_process_init.connect(weak=False)
    def _on_child_start(**_kwargs) -> None:
        # A pool child (first or respawned) starts with copies of its parent's pools: drop them unused.
        forget_inherited_connections()

    @signals.worker_shutting_down.connect(weak=False)
    def _on_shutdown(**_kwargs) -> None:
        # Warm shutdown waits for running tasks: tell the pool children to stop their jobs now,
        # and mark this process so that children forked from now on take no new job.
        SHUTTING_DOWN.set()
        for pid in child_pids(os.getpid()):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    @signals.worker_ready.connect(weak=False)
    def _on_ready(sender=None, **_kwargs) -> None:
        store = worker_store(settings.db_url)
        worker_id = workers.register_worker(store, concurrency)
        pool_watchdog = watchdog.PoolWatchdog(watchdog.wedged_after_s(settings))

        def heartbeat() -> None:
            workers.beat(store, worker_id, child_pids(os.getpid()))
            wedged = None if SHUTTING_DOWN.is_set() else pool_watchdog.check()  # a closing pool starts nothing
            if wedged is not None:
                log.error("wedged pool: %s", watchdog.describe_pool(sender))
                watchdog.stop_wedged_worker(wedged, lambda reason: workers.mark_stopped(store, worker_id, reason))

        start_maintenance(settings, app, interval_s=sweep_interval_s(settings), heartbeat=heartbeat)

        @signals.worker_shutdown.connect(weak=False)
        def _on_stopped(**_kwargs) -> None:
            if not watchdog.WEDGED.is_set():  # keep the reason the watchdog recorded
                workers.mark_stopped(store, worker_id)
