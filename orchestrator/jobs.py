"""Job lifecycle rules: one active job per ticket, human decisions, cancel, retry, leases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, update

from orchestrator.store import Store
from orchestrator.store.models import ACTIVE_STATES, Event, Job, JobState, Review, Ticket, utcnow


class JobError(ValueError):
    """A request about a job that cannot be honoured; the message says why."""


GATE_OF_STATE = {
    JobState.AWAITING_PLAN_APPROVAL: "plan",
    JobState.AWAITING_BUDGET: "budget",
    JobState.AWAITING_REVIEW: "pr",
}
DECISIONS = ("approve", "reject", "request_changes")


def active_job(session, ticket_id: int) -> Job | None:
    return session.scalar(
        select(Job).where(Job.ticket_id == ticket_id, Job.state.in_([s.value for s in ACTIVE_STATES])).order_by(Job.id.desc())
    )


def create_job(store: Store, ticket_id: int) -> tuple[int, bool]:
    """A queued job for the ticket, or the one already active (a duplicate trigger is a no-op)."""
    with store.session() as s:
        if s.get(Ticket, ticket_id) is None:
            raise JobError(f"ticket {ticket_id} does not exist")
        existing = active_job(s, ticket_id)
        if existing is not None:
            return existing.id, False
        job = Job(ticket_id=ticket_id, state=JobState.QUEUED.value)
        s.add(job)
        s.flush()
        s.add(Event(job_id=job.id, kind="queued", message=f"queued ticket {ticket_id}", data={}))
        return job.id, True


def record_decision(
    store: Store, job_id: int, decision: str, *, comment: str = "", extra_usd: float = 0.0, reviewer: str = "cli"
) -> str:
    """Store a human decision for the gate the job waits at; returns the gate's name."""
    if decision not in DECISIONS:
        raise JobError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if decision == "request_changes" and not comment.strip():
        raise JobError("request-changes needs a comment telling the agent what to change")
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise JobError(f"job {job_id} does not exist")
        gate = GATE_OF_STATE.get(job.job_state)
        if gate is None:
            raise JobError(f"job {job_id} is {job.state}, not waiting for a human decision")
        if s.scalar(select(Review).where(Review.job_id == job_id, Review.applied.is_(False))):
            raise JobError(f"job {job_id} already has a decision waiting to be applied")
        if gate == "budget" and decision == "approve" and extra_usd <= 0:
            raise JobError("approving a budget extension needs --extra-usd greater than 0")
        s.add(Review(job_id=job_id, gate=gate, decision=decision, comment=comment, extra_usd=extra_usd, reviewer=reviewer))
        job.human_touches += 1
        return gate


def pending_decision(store: Store, job_id: int) -> dict | None:
    with store.session() as s:
        review = s.scalar(select(Review).where(Review.job_id == job_id, Review.applied.is_(False)).order_by(Review.id))
        if review is None:
            return None
        return {"review_id": review.id, "decision": review.decision, "comment": review.comment, "extra_usd": review.extra_usd}


def mark_decision_applied(store: Store, review_id: int) -> None:
    with store.session() as s:
        s.get(Review, review_id).applied = True


def cancel_job(store: Store, job_id: int, reason: str = "cancelled by a user") -> None:
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise JobError(f"job {job_id} does not exist")
        if job.job_state.is_final:
            raise JobError(f"job {job_id} is already {job.state}")
        job.state, job.reason, job.finished_at = JobState.CANCELLED.value, reason, utcnow()
        s.add(Event(job_id=job_id, kind="cancelled", message=reason, data={}))


def claim_lease(store: Store, job_id: int, owner: str, seconds: int) -> bool:
    """Take the job's lease if nobody holds a live one. The lease, not the broker, says who works a job."""
    now = utcnow()
    with store.session() as s:
        result = s.execute(
            update(Job)
            .where(Job.id == job_id, or_(Job.lease_owner.is_(None), Job.lease_owner == owner, Job.lease_expires_at < now))
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds))
        )
        return result.rowcount == 1


def renew_lease(store: Store, job_id: int, owner: str, seconds: int) -> bool:
    with store.session() as s:
        result = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_owner == owner)
            .values(lease_expires_at=utcnow() + timedelta(seconds=seconds))
        )
        return result.rowcount == 1


def release_lease(store: Store, job_id: int, owner: str) -> None:
    with store.session() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner).values(lease_owner=None, lease_expires_at=None))


def stale_running_jobs(store: Store) -> list[int]:
    """Jobs marked running whose worker stopped renewing the lease (killed, crashed)."""
    with store.session() as s:
        return list(
            s.scalars(select(Job.id).where(Job.state == JobState.RUNNING.value, Job.lease_expires_at < utcnow()))
        )
