"""The queue at a glance for the top of the jobs page: counts, waits, what runs now, throughput."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from orchestrator.reporting.job_views import _aware
from orchestrator.store import Store
from orchestrator.store.tables import Attempt, Event, Job, JobState

FINAL = [s.value for s in JobState if s.is_final]


def queue_overview(store: Store, *, now: datetime | None = None) -> dict:
    """Counts by state, the oldest queued wait, running jobs and hourly throughput for the last day."""
    now = now or datetime.now(UTC)
    with store.session() as s:
        counts = dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())
        oldest = s.scalar(select(func.min(Job.created_at)).where(Job.state == JobState.QUEUED.value))
        running = _running(s, now)
        day_ago = now - timedelta(hours=24)
        finished = s.scalars(select(Job.finished_at).where(Job.finished_at >= day_ago)).all()
    hourly = [0] * 24
    for at in finished:
        hours_ago = int((now - _aware(at)).total_seconds() // 3600)
        if 0 <= hours_ago < 24:
            hourly[23 - hours_ago] += 1
    return {
        "counts": {state: counts.get(state, 0) for state in (st.value for st in JobState)},
        "total": sum(counts.values()),
        "oldest_queued_wait_s": round((now - _aware(oldest)).total_seconds(), 1) if oldest else None,
        "running": running,
        "finished_last_hour": hourly[-1],
        "finished_last_day": sum(hourly),
        "hourly": hourly,
        "hour_labels": [f"{(now - timedelta(hours=23 - i)):%H}:00" for i in range(24)],
    }


def _running(session, now: datetime, limit: int = 20) -> list[dict]:
    """The oldest running jobs (up to ``limit``) with their first attempt's start and last event, in 4 queries."""
    jobs = session.scalars(
        select(Job)
        .options(selectinload(Job.ticket))
        .where(Job.state == JobState.RUNNING.value)
        .order_by(Job.id)
        .limit(limit)
    ).all()
    ids = [j.id for j in jobs]
    if not ids:
        return []
    started = dict(
        session.execute(
            select(Attempt.job_id, func.min(Attempt.started_at)).where(Attempt.job_id.in_(ids)).group_by(Attempt.job_id)
        ).all()
    )
    last_ids = select(func.max(Event.id)).where(Event.job_id.in_(ids)).group_by(Event.job_id)
    last = {e.job_id: e for e in session.scalars(select(Event).where(Event.id.in_(last_ids)))}
    rows = []
    for job in jobs:
        since = started.get(job.id) or job.updated_at or job.created_at
        event = last.get(job.id)
        rows.append({
            "id": job.id,
            "title": job.ticket.title,
            "elapsed_s": round((now - _aware(since)).total_seconds(), 1),
            "step": f"{event.kind}: {event.message[:120]}" if event else "starting",
        })  # fmt: skip
    return rows
