"""Worker heartbeats: who is there to work the queue, what each holds, and which died.

A worker's main process registers itself when it is ready, beats every sweep interval (with
the pids of its pool processes, since a job's lease owner names the pool process) and marks
itself stopped on a clean shutdown. A worker silent for ``dead_after_s`` without that mark died.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from sqlalchemy import select

from orchestrator.store import Store
from orchestrator.store.tables import Event, Job, JobState, WorkerRecord, utcnow

RECOVERED_SHOWN = 20
"""At most this many recovered jobs are listed per dead worker."""


def shipyard_version() -> str:
    try:
        return package_version("shipyard")
    except PackageNotFoundError:
        return "unknown"


def this_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def register_worker(store: Store, concurrency: int) -> str:
    """Record this process as a live worker; returns its id."""
    worker_id, now = this_worker_id(), utcnow()
    with store.session() as s:
        row = s.get(WorkerRecord, worker_id) or WorkerRecord(id=worker_id)
        row.host, row.pid, row.concurrency, row.version = (
            socket.gethostname(),
            os.getpid(),
            concurrency,
            shipyard_version(),
        )
        row.pool_pids, row.started_at, row.last_seen_at, row.stopped_at, row.stop_reason = [], now, now, None, None
        s.add(row)
    return worker_id


def beat(store: Store, worker_id: str, pool_pids: list[int]) -> None:
    with store.session() as s:
        row = s.get(WorkerRecord, worker_id)
        if row is not None:
            row.last_seen_at, row.pool_pids = utcnow(), sorted(pool_pids)


def mark_stopped(store: Store, worker_id: str, reason: str | None = None) -> None:
    """A clean stop, or (with ``reason``) the worker stopping itself because its pool wedged."""
    with store.session() as s:
        row = s.get(WorkerRecord, worker_id)
        if row is not None:
            row.stopped_at, row.stop_reason = utcnow(), reason[:500] if reason else None


def dead_after_s(sweep_interval_s: float) -> float:
    """Three missed heartbeats make a worker dead."""
    return 3 * sweep_interval_s


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _status(row: WorkerRecord, now: datetime, dead_after: float) -> str:
    if row.stopped_at is not None:
        return "wedged" if row.stop_reason else "stopped"
    return "alive" if now - _aware(row.last_seen_at) <= timedelta(seconds=dead_after) else "dead"


def _owned_by(row: WorkerRecord, lease_owner: str | None) -> bool:
    """A lease owner is ``host:pid:thread`` of a pool process (or of the main process, solo pool)."""
    if not lease_owner:
        return False
    parts = lease_owner.split(":")
    return (
        len(parts) >= 2 and parts[0] == row.host and parts[1].isdigit() and int(parts[1]) in {row.pid, *row.pool_pids}
    )


def worker_rows(store: Store, dead_after: float, limit: int = 50) -> list[dict]:
    """Workers, live first then newest: status, jobs in hand, and for dead ones the jobs recovered from them."""
    now = utcnow()
    with store.session() as s:
        workers = s.scalars(select(WorkerRecord).order_by(WorkerRecord.last_seen_at.desc()).limit(limit)).all()
        running = s.execute(select(Job.id, Job.lease_owner).where(Job.state == JobState.RUNNING.value)).all()
        recovered = s.execute(
            select(Event.job_id, Event.data).where(Event.kind == "recovered").order_by(Event.id.desc()).limit(500)
        ).all()
        rows = []
        for w in workers:
            status = _status(w, now, dead_after)
            rows.append({
                "id": w.id, "host": w.host, "pid": w.pid, "concurrency": w.concurrency, "version": w.version,
                "status": status, "stop_reason": w.stop_reason, "started_at": _aware(w.started_at).isoformat(),
                "last_seen_at": _aware(w.last_seen_at).isoformat(),
                "last_seen_s": max(0.0, (now - _aware(w.last_seen_at)).total_seconds()),
                "jobs_in_hand": [job_id for job_id, owner in running if status == "alive" and _owned_by(w, owner)],
                # A dead worker's running jobs are stranded until a live worker's sweep hands them back.
                "stranded_jobs": [job_id for job_id, owner in running if status != "alive" and _owned_by(w, owner)],
                "recovered_jobs": sorted({job_id for job_id, data in recovered
                                          if _owned_by(w, (data or {}).get("lease_owner"))})[-RECOVERED_SHOWN:],
            })  # fmt: skip
    order = {"alive": 0, "wedged": 1, "dead": 2, "stopped": 3}
    listed = [r for r in rows if not aged_out(r)]
    return sorted(listed, key=lambda r: order[r["status"]])


AGE_OUT_S = 24 * 3600.0
"""A worker dead or stopped for longer than this leaves the list (unless a job is still stranded on it)."""


def aged_out(row: dict) -> bool:
    return row["status"] != "alive" and row["last_seen_s"] > AGE_OUT_S and not row["stranded_jobs"]


def holder_of(store: Store, dead_after: float, job_id: int) -> dict | None:
    """The worker whose pool holds the running job's lease: ``host``, ``pid``, ``status``
    (alive, dead, wedged, stopped), ``last_seen_s``; None when the job is not running or no worker record
    matches its lease."""
    now = utcnow()
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.state != JobState.RUNNING.value or not job.lease_owner:
            return None
        host = job.lease_owner.split(":")[0]
        candidates = s.scalars(
            select(WorkerRecord).where(WorkerRecord.host == host).order_by(WorkerRecord.last_seen_at.desc()).limit(50)
        ).all()
        for w in candidates:
            if _owned_by(w, job.lease_owner):
                return {"host": w.host, "pid": w.pid, "status": _status(w, now, dead_after),
                        "last_seen_s": max(0.0, (now - _aware(w.last_seen_at)).total_seconds())}  # fmt: skip
    return None


NO_WORKER_HINT = "no live worker is seen: start one with `shipyard worker` (or see `shipyard workers`)"


def free_worker_slots(store: Store, dead_after: float) -> int | None:
    """Jobs the live workers could take now (their pool slots less the jobs in their hands); None
    when no live worker is known (nothing to count on)."""
    live = [w for w in worker_rows(store, dead_after) if w["status"] == "alive"]
    if not live:
        return None
    return max(0, sum(w["concurrency"] or 0 for w in live) - sum(len(w["jobs_in_hand"]) for w in live))
