"""Job lifecycle rules: one active job per ticket, human decisions, cancel, retry, leases."""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict, Unpack

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from orchestrator.domain.scheduling import checked_priority, priority_name, priority_of_labels
from orchestrator.store import Store
from orchestrator.store.db import insert_or_skip
from orchestrator.store.tables import ACTIVE_STATES, Event, Job, JobState, Review, Ticket, utcnow


class JobError(ValueError):
    """A request about a job that cannot be honoured in the job's state; the message says why."""


class InvalidDecision(JobError):
    """A decision whose own fields are wrong (an unknown verdict, a missing comment, a bad line comment),
    whatever state the job is in; the message names the field."""


GATE_OF_STATE = {
    JobState.AWAITING_PLAN_APPROVAL: "plan",
    JobState.AWAITING_BUDGET: "budget",
    JobState.AWAITING_PROVIDER: "provider",
    JobState.AWAITING_REVIEW: "pr",
}
DECISIONS = ("approve", "reject", "request_changes")


class DecisionNotes(TypedDict, total=False):
    """What a decision carries besides its verdict (each optional)."""

    comment: str
    """Why; what the agent must change, for ``request_changes``."""
    extra_usd: float
    """Budget gate: the extra USD an approval grants."""
    reviewer: str
    """Who decided (``cli`` when not given)."""
    line_comments: list[dict] | None
    """Comments on lines of the diff (``checked_line_comments``), with a pull request's ``request_changes``."""


def add_event(session, job_id: int, kind: str, message: str, data: dict | None = None) -> None:
    """Add an entry to the job's timeline (its page, ``shipyard jobs show``, the API)."""
    session.add(Event(job_id=job_id, kind=kind, message=message, data=data or {}))


def active_job(session, ticket_id: int) -> Job | None:
    return session.scalar(
        select(Job)
        .where(Job.ticket_id == ticket_id, Job.state.in_([s.value for s in ACTIVE_STATES]))
        .order_by(Job.id.desc())
    )


def create_job(store: Store, ticket_id: int) -> tuple[int, bool]:
    """A queued job for the ticket, or the one already active (a duplicate trigger is a no-op)."""
    with store.session() as s:
        return create_job_in(s, ticket_id)


def create_job_in(session, ticket_id: int) -> tuple[int, bool]:
    """``create_job`` inside the caller's transaction. The database's one-active-job-per-ticket index
    decides, so concurrent triggers (webhook retries, double clicks) make exactly one job."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise JobError(f"ticket {ticket_id} does not exist")
    try:
        stmt = insert_or_skip(session, Job).values(
            ticket_id=ticket_id,
            state=JobState.QUEUED.value,
            dispatched_at=utcnow(),
            priority=priority_of_labels(ticket.labels),
        )
        new_id = session.scalar(stmt.on_conflict_do_nothing().returning(Job.id))
    except IntegrityError:
        raise JobError(f"ticket {ticket_id} does not exist") from None
    if new_id is None:
        existing = active_job(session, ticket_id)
        if existing is None:
            raise JobError(f"ticket {ticket_id}: a job was created and finished concurrently; trigger it again")
        return existing.id, False
    add_event(session, new_id, "queued", f"queued ticket {ticket_id}")
    return new_id, True


MAX_LINE_COMMENTS = 100


def checked_line_comments(raw: object) -> list[dict]:
    """``[{"path", "line", "body"}]`` from a form, the API or the CLI; a JobError names the bad item and field."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise InvalidDecision("line_comments: must be a list of {path, line, body}")
    if len(raw) > MAX_LINE_COMMENTS:
        raise InvalidDecision(f"line_comments: at most {MAX_LINE_COMMENTS}, got {len(raw)}")
    out = []
    for i, item in enumerate(raw):
        where = f"line_comments[{i}]"
        if not isinstance(item, dict):
            raise InvalidDecision(f"{where}: must be an object with path, line and body")
        path, line, body = item.get("path"), item.get("line"), item.get("body")
        if (
            not isinstance(path, str)
            or not path.strip()
            or len(path) > 500
            or path.startswith("/")
            or ".." in path.split("/")
        ):
            raise InvalidDecision(f"{where}.path: must be a relative path in the repository, got {path!r}")
        try:
            line = int(line)
        except (TypeError, ValueError):
            raise InvalidDecision(f"{where}.line: must be a line number, got {line!r}") from None
        if line < 1:
            raise InvalidDecision(f"{where}.line: must be 1 or more, got {line}")
        if not isinstance(body, str) or not body.strip():
            raise InvalidDecision(f"{where}.body: must say what to change")
        out.append({"path": path.strip(), "line": line, "body": body.strip()[:5000]})
    return out


def record_decision(
    store: Store, job_id: int, decision: str, *, human: bool = True, **notes: Unpack[DecisionNotes]
) -> str:
    """Store a decision for the gate the job waits at; returns the gate's name. ``human=False``
    (a worker's provider probe) does not count as a human touch."""
    if decision not in DECISIONS:
        raise InvalidDecision(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    comment, extra_usd = notes.get("comment", ""), notes.get("extra_usd", 0.0)
    line_comments = checked_line_comments(notes.get("line_comments"))
    if decision == "request_changes" and not comment.strip() and not line_comments:
        raise InvalidDecision(
            "request-changes needs a comment (or comments on lines of the diff) telling the agent what to change"
        )
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise JobError(f"job {job_id} does not exist")
        gate = GATE_OF_STATE.get(job.job_state)
        if gate is None:
            left_open = _pull_request_left_open(job)
            if left_open is not None:
                raise JobError(
                    f"job {job_id} is {job.state}, not waiting for a human decision; its pull request "
                    f"#{left_open.number} is still open: reject closes it, retry starts the ticket again"
                )
            raise JobError(f"job {job_id} is {job.state}, not waiting for a human decision")
        if s.scalar(select(Review).where(Review.job_id == job_id, Review.applied.is_(False))):
            raise JobError(f"job {job_id} already has a decision waiting to be applied")
        if gate == "budget" and decision == "approve" and extra_usd <= 0:
            raise InvalidDecision("approving a budget extension needs --extra-usd greater than 0")
        if extra_usd and not (gate == "budget" and decision == "approve"):
            raise InvalidDecision(
                f"extra_usd: only approving a budget extension takes an amount; job {job_id} waits at the {gate} gate"
            )
        if gate == "provider" and decision == "request_changes":
            raise InvalidDecision(
                f"job {job_id} waits for its model's provider: approve resumes it now, reject stops it"
            )
        if line_comments and (gate != "pr" or decision != "request_changes"):
            raise InvalidDecision("comments on lines of the diff go with a pull request's request-changes decision")
        s.add(
            Review(
                job_id=job_id,
                gate=gate,
                decision=decision,
                comment=comment,
                extra_usd=extra_usd,
                reviewer=notes.get("reviewer", "cli"),
                line_comments=line_comments,
            )
        )
        job.human_touches += 1 if human else 0
        return gate


def _pull_request_left_open(job: Job):
    """The open pull request of a job that ended without a human closing it (blocked or failed), else None."""
    pr = job.pull_request
    if job.job_state in (JobState.BLOCKED, JobState.FAILED) and pr is not None and pr.state == "open":
        return pr
    return None


def pull_request_left_open(store: Store, job_id: int, **notes: Unpack[DecisionNotes]) -> tuple | None:
    """For a rejection: the repository row and number of the still-open pull request of a blocked or failed
    job (an attempt after "request changes" that changed nothing, or an error after the PR opened), for the
    caller to close on the forge before ``close_left_open``; None when the job has no such pull request."""
    with store.session() as s:
        job = s.get(Job, job_id)
        pr = None if job is None else _pull_request_left_open(job)
        if pr is None:
            return None
        if notes.get("line_comments") or notes.get("extra_usd"):
            raise InvalidDecision(
                f"job {job_id} is {job.state}: rejecting it closes its pull request and takes only a comment"
            )
        s.expunge(job.ticket.repository)
        return job.ticket.repository, pr.number


def close_left_open(store: Store, job_id: int, **notes: Unpack[DecisionNotes]) -> None:
    """Once the forge closed it: the job ends ``closed`` and the rejection is on its decision record."""
    comment, reviewer = notes.get("comment", ""), notes.get("reviewer", "cli")
    with store.session() as s:
        job = s.get(Job, job_id)
        ended = job is not None and job.job_state in (JobState.BLOCKED, JobState.FAILED)
        pr = job.pull_request if ended else None  # the local forge has already marked it closed
        if pr is None or pr.state == "merged":
            return  # closed meanwhile by another rejection
        s.add(Review(job_id=job_id, gate="pr", decision="reject", comment=comment, reviewer=reviewer, applied=True))
        was = job.state
        pr.state, pr.closed_at = "closed", utcnow()
        job.state, job.finished_at = JobState.CLOSED.value, utcnow()
        job.reason = f"pull request rejected by the reviewer after the job was {was}" + (
            f": {comment}" if comment else ""
        )
        job.human_touches += 1
        add_event(s, job_id, "review", f"pull request #{pr.number} closed by {reviewer} (the job was {was})")


def state_of(store: Store, job_id: int) -> JobState | None:
    with store.session() as s:
        job = s.get(Job, job_id)
        return None if job is None else job.job_state


def pending_decision(store: Store, job_id: int) -> dict | None:
    with store.session() as s:
        review = s.scalar(select(Review).where(Review.job_id == job_id, Review.applied.is_(False)).order_by(Review.id))
        if review is None:
            return None
        return {
            "review_id": review.id,
            "decision": review.decision,
            "comment": review.comment,
            "extra_usd": review.extra_usd,
            "line_comments": review.line_comments or [],
        }


def mark_decision_applied(store: Store, review_id: int) -> None:
    with store.session() as s:
        s.get(Review, review_id).applied = True


def _active_job(s, job_id: int) -> Job:
    """The job, if it exists and is not final; else a JobError saying which."""
    job = s.get(Job, job_id)
    if job is None:
        raise JobError(f"job {job_id} does not exist")
    if job.job_state.is_final:
        raise JobError(f"job {job_id} is already {job.state}")
    return job


def cancel_job(store: Store, job_id: int, reason: str = "cancelled by a user") -> None:
    with store.session() as s:
        job = _active_job(s, job_id)
        job.state, job.reason, job.finished_at = JobState.CANCELLED.value, reason, utcnow()
        add_event(s, job_id, "cancelled", reason)


def set_priority(store: Store, job_id: int, level: str) -> str:
    """Change a job's place in the queue (``low``, ``normal``, ``high``, ``urgent``); returns the level set."""
    try:
        value = checked_priority(level)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    with store.session() as s:
        job = _active_job(s, job_id)
        job.priority = value
        add_event(s, job_id, "priority", f"priority set to {priority_name(value)}")
    return priority_name(value)


def follow_priority_labels(session, job: Job, labels: list[str], source: str, data: dict | None = None) -> str | None:
    """A queued job takes the priority its ticket's ``priority:*`` labels now name (the ticket's labels
    changed); returns the new level's name, or None when it is unchanged. The caller checks that the
    job is still queued: a running job keeps its place."""
    value = priority_of_labels(labels)
    if value == job.priority:
        return None
    job.priority = value
    add_event(session, job.id, "priority", f"priority set to {priority_name(value)} ({source})", data)
    return priority_name(value)


def claim_lease(store: Store, job_id: int, owner: str, seconds: int) -> bool:
    """Compare-and-set on the job row: take the lease of an active job if nobody holds a live one.

    The lease, not the broker, says who works a job: a message delivered twice runs once.
    """
    now = utcnow()
    with store.session() as s:
        result = s.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.state.in_([st.value for st in ACTIVE_STATES]),
                or_(Job.lease_owner.is_(None), Job.lease_owner == owner, Job.lease_expires_at < now),
            )
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
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )


def hand_back(store: Store, job_id: int, owner: str) -> None:
    """A worker that stops (shutdown) returns its job to the queue: dispatchable, no lease."""
    with store.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.lease_owner == owner, Job.state == JobState.RUNNING.value)
            .values(state=JobState.QUEUED.value, lease_owner=None, lease_expires_at=None, dispatched_at=utcnow())
        )


def stale_running_jobs(store: Store) -> list[int]:
    """Jobs marked running whose worker is gone: the lease expired (killed, crashed) or is empty
    (the worker let go without settling the job)."""
    with store.session() as s:
        return list(
            s.scalars(
                select(Job.id).where(
                    Job.state == JobState.RUNNING.value,
                    or_(Job.lease_owner.is_(None), Job.lease_expires_at.is_(None), Job.lease_expires_at < utcnow()),
                )
            )
        )


def undelivered_jobs(store: Store, older_than_s: float) -> list[int]:
    """Dispatchable jobs no worker claimed within ``older_than_s`` of their last message (the broker lost it):
    queued jobs, and jobs holding a human decision that no worker has applied."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    unleased = or_(Job.lease_owner.is_(None), Job.lease_expires_at < utcnow())
    sent_before = func.coalesce(Job.dispatched_at, Job.created_at) < cutoff
    waiting = [st.value for st in JobState if st.is_waiting_for_human]
    decided = select(Review.id).where(Review.job_id == Job.id, Review.applied.is_(False)).exists()
    with store.session() as s:
        query = select(Job.id).where(
            unleased,
            sent_before,
            or_(Job.state == JobState.QUEUED.value, and_(Job.state.in_(waiting), decided)),
        )
        return list(s.scalars(query.order_by(Job.id)))


def mark_dispatched(store: Store, job_id: int) -> None:
    """Remember when the job's message was sent (the sweep's clock for lost messages)."""
    with store.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(dispatched_at=utcnow()))


def requeue_stale(store: Store, job_id: int, max_recoveries: int) -> bool:
    """Hand a running job whose worker is gone back to the queue (compare-and-set: one sweeper wins).

    Returns True when it should be dispatched; after ``max_recoveries`` the job fails with the reason.
    """
    now = utcnow()
    with store.session() as s:
        lost_owner = s.scalar(select(Job.lease_owner).where(Job.id == job_id))
        won = s.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.state == JobState.RUNNING.value,
                or_(Job.lease_owner.is_(None), Job.lease_expires_at.is_(None), Job.lease_expires_at < now),
            )
            .values(
                state=JobState.QUEUED.value,
                lease_owner=None,
                lease_expires_at=None,
                dispatched_at=now,
                recoveries=Job.recoveries + 1,
            )
        ).rowcount
        if not won:
            return False
        job = s.get(Job, job_id)
        if job.recoveries > max_recoveries:
            job.state, job.finished_at = JobState.FAILED.value, now
            job.reason = (
                f"its worker stopped {job.recoveries} times while running it (killed or crashed); "
                f"work so far is kept in the checkpoint — retry with `shipyard jobs retry {job_id}`"
            )
            add_event(s, job_id, "error", job.reason)
            return False
        lost = f" ({lost_owner.rsplit(':', 1)[0]})" if lost_owner else ""
        add_event(
            s,
            job_id,
            "recovered",
            f"worker lost{lost}: lease expired or dropped; resuming from the last checkpoint",
            {"lease_owner": lost_owner},
        )
        return True


def redeliver(store: Store, job_id: int, older_than_s: float) -> bool:
    """Claim the right to re-send a lost message (compare-and-set on ``dispatched_at``: one sweeper wins)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with store.session() as s:
        won = s.execute(
            update(Job)
            .where(Job.id == job_id, func.coalesce(Job.dispatched_at, Job.created_at) < cutoff)
            .values(dispatched_at=utcnow())
        ).rowcount
        if won:
            add_event(s, job_id, "redelivered", "no worker took the job's message in time; sent it again")
        return bool(won)
