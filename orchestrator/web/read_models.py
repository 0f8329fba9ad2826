"""Small read models and request-parameter checks shared by the pages and the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from orchestrator.domain.jobs import DECISIONS, InvalidDecision
from orchestrator.store import Store
from orchestrator.store.tables import Job, JobState, Review

STATES = [s.value for s in JobState]


class BadParameter(ValueError):
    """A query or form parameter the app cannot use; the message names it and says why."""


def checked_state(state: str | None) -> str | None:
    """The state filter, or None for all; unknown names are refused with the valid ones."""
    if not state:
        return None
    if state not in STATES:
        raise BadParameter(f"state: unknown job state {state!r} (one of {', '.join(STATES)})")
    return state


MAX_DAYS = 36_500


def since_days(days: str | None) -> datetime | None:
    """``?days=N`` as the instant N days ago; blank means all time."""
    if not days:
        return None
    try:
        n = int(days)
    except ValueError:
        raise BadParameter(f"days: must be a whole number of days, got {days!r}") from None
    if n < 1:
        raise BadParameter(f"days: must be at least 1, got {n}")
    if n > MAX_DAYS:
        raise BadParameter(f"days: must be at most {MAX_DAYS} (100 years), got {n}")
    return datetime.now(UTC) - timedelta(days=n)


def checked_decision(decision: str | None) -> str:
    name = (decision or "").strip().replace("-", "_")
    if name not in DECISIONS:
        raise InvalidDecision(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    return name


def checked_extra_usd(value: str | float | int | None) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise InvalidDecision(f"extra USD: must be a number, got {value!r}") from None
    if amount != amount or amount < 0 or amount == float("inf"):
        raise InvalidDecision(f"extra USD: must be a positive amount, got {value!r}")
    return amount


def job_status(store: Store, job_id: int) -> dict | None:
    """The few fields a page polls to notice a job moved on."""
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            return None
        updated = job.updated_at
        if updated is not None and updated.tzinfo is None:  # SQLite hands back naive UTC
            updated = updated.replace(tzinfo=UTC)
        return {
            "id": job.id,
            "state": job.state,
            "reason": job.reason,
            "updated_at": updated.isoformat() if updated else None,
        }


def decision_log(store: Store, job_id: int) -> list[dict]:
    """Every decision taken on the job, oldest first: who took it, at which gate, when."""
    with store.session() as s:
        rows = s.scalars(select(Review).where(Review.job_id == job_id).order_by(Review.id)).all()
        return [{"at": (r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)).isoformat(), "gate": r.gate,
                 "decision": r.decision, "by": r.reviewer, "comment": r.comment, "extra_usd": r.extra_usd,
                 "applied": r.applied, "line_comments": r.line_comments or []} for r in rows]  # fmt: skip


def resumes_when(ship) -> str:
    """When a recorded decision takes effect: shortly with a live worker; else once one runs."""
    if ship.no_worker_hint() is None:
        return "the job resumes shortly."
    return "no live worker is seen, so the job resumes once one runs (`shipyard worker`)."
