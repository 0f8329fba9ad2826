"""The worker's own watchdog: a pool that holds a received job and does not start it is wedged.

With late acknowledgement and a prefetch of one message per pool slot, a message the worker
holds has a free pool process waiting for it, so it starts within milliseconds. One that has
not started within ``wedged_after_s`` never will: the pool lost track of a process (a child
killed while its job was being handed to it). Nothing else would notice — the worker beats,
keeps taking the messages the sweep re-sends, and starts none of them. So the worker records
why on its row of the workers table (``shipyard workers``, the workers page show it as
``wedged``) and exits: its unstarted jobs were never claimed, so the sweep of any worker
dispatches them again, and a supervisor (systemd, ``restart: always``) starts a fresh worker.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from orchestrator.settings import Settings

log = logging.getLogger("shipyard.watchdog")

EXIT_WEDGED = 75
"""The worker's exit status when it stopped because its pool wedged (EX_TEMPFAIL: start it again)."""

WEDGED = threading.Event()
"""Set once this worker decided to stop because its pool wedged (``shipyard worker`` then exits
with ``EXIT_WEDGED``)."""

HARD_EXIT_AFTER_S = 10.0
"""After asking itself to shut down, a wedged worker exits at the latest this much later."""


def wedged_after_s(settings: Settings) -> float:
    """How long a received job may wait for a pool process: far above a fork and a pipe write
    on a loaded host, and below the sweep's own redelivery bound (``2 × lease``)."""
    return max(10.0, float(settings.lease_seconds))


class PoolWatchdog:
    """Remembers when each received job was first seen unstarted (call ``check`` on every sweep)."""

    def __init__(self, bound_s: float):
        self.bound_s = bound_s
        self._first_seen: dict[str, float] = {}

    def check(self, now: float | None = None) -> str | None:
        """A description of the oldest job held unstarted longer than the bound, else None."""
        from celery.worker import state

        now = time.monotonic() if now is None else now
        try:
            reserved = list(state.reserved_requests)
        except RuntimeError:  # the event loop changed the set while this thread copied it: next round
            return None
        waiting = {r.id: r for r in reserved if r.time_start is None and not r.eta}
        self._first_seen = {rid: self._first_seen.get(rid, now) for rid in waiting}
        overdue = [(seen, rid) for rid, seen in self._first_seen.items() if now - seen > self.bound_s]
        if not overdue:
            return None
        seen, rid = min(overdue)
        request = waiting[rid]
        return (f"its pool did not start a received job ({request.name} {list(request.args or [])}, "
                f"message {rid}) within {now - seen:.0f} s; {len(overdue)} job(s) waited so")  # fmt: skip


def describe_pool(consumer) -> str:
    """The prefork pool's bookkeeping, logged with a wedge so that its cause can be told apart."""
    try:
        pool = consumer.pool._pool
        return (f"pool processes {[p.pid for p in pool._pool]}, started {sorted(pool._fileno_to_inq)}, "
                f"inqueues {sorted(pool._all_inqueues)}, busy {sorted(pool._busy_workers)}, "
                f"waiting to start {[p.pid for p in pool._waiting_to_start]}, outbound {len(pool.outbound_buffer)}, "
                f"jobs in cache {len(pool._cache)}")  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a diagnostic only: another pool, or Celery's internals moved
        return f"pool state unavailable ({exc!r})"


def stop_wedged_worker(reason: str, mark_stopped) -> None:
    """Record the reason, then shut down (SIGTERM to this process: jobs in hand go back to the
    queue) and exit with ``EXIT_WEDGED`` at the latest ``HARD_EXIT_AFTER_S`` later."""
    if WEDGED.is_set():
        return
    WEDGED.set()
    log.error("worker wedged: %s; stopping (exit status %d) so that its jobs go to another worker", reason, EXIT_WEDGED)
    try:
        mark_stopped(reason)
    except Exception:  # the exit matters more than the record
        log.exception("could not record the wedged worker's stop reason")

    def hard_exit() -> None:
        time.sleep(HARD_EXIT_AFTER_S)
        from orchestrator.worker.celery_app import child_pids

        for pid in child_pids(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(EXIT_WEDGED)

    threading.Thread(target=hard_exit, name="shipyard-wedged-exit", daemon=True).start()
    os.kill(os.getpid(), signal.SIGTERM)
