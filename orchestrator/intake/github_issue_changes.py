"""GitHub ``issues`` events after the trigger: the ``shipyard`` label removed (or the issue closed)
cancels the queued job; the issue edited while its job is still queued updates the ticket's text;
a ``priority:*`` label added or removed while it is queued moves the job in the queue.

Only a job that has not started is touched: a running or reviewed job keeps going (cancel it
explicitly), and its ticket keeps the text the plan was made from.
"""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.domain import jobs
from orchestrator.domain.backlog import TRIGGER_LABEL
from orchestrator.domain.scheduling import PRIORITY_LABEL, priority_name
from orchestrator.intake.github_sender import sender_problem
from orchestrator.store.tables import Event, Job, JobState, Repository, Ticket

HANDLED_ACTIONS = frozenset({"unlabeled", "edited", "closed"})


def is_priority_change(payload: dict) -> bool:
    """A ``priority:*`` label added to or removed from an issue."""
    name = (payload.get("label") or {}).get("name")
    return (
        payload.get("action") in ("labeled", "unlabeled")
        and isinstance(name, str)
        and name.lower().startswith(PRIORITY_LABEL)
    )


def _queued_job(session, full_name: str, number: int) -> tuple[Ticket | None, Job | None]:
    ticket = session.scalar(
        select(Ticket)
        .join(Repository)
        .where(Repository.url == full_name, Ticket.source == "github", Ticket.external_id == str(number))
    )
    if ticket is None:
        return None, None
    job = session.scalar(
        select(Job)
        .where(Job.ticket_id == ticket.id, Job.state == JobState.QUEUED.value)
        .order_by(Job.id.desc())
        .limit(1)
    )
    return ticket, job


def handle_issue_change(ship, payload: dict) -> dict:
    """Apply an ``unlabeled``/``edited``/``closed`` issues event; returns the webhook's JSON reply."""
    action = payload.get("action")
    issue = payload.get("issue") or {}
    full_name = (payload.get("repository") or {}).get("full_name")
    number = issue.get("number")
    if not isinstance(number, int) or not full_name:
        return {"action": "ignored", "reason": "payload has no repository full_name or issue number"}
    if is_priority_change(payload):
        return _follow_priority(ship, payload, full_name, number)
    if action == "unlabeled" and (payload.get("label") or {}).get("name") != TRIGGER_LABEL:
        return {"action": "ignored", "reason": f"label removed is not the trigger label {TRIGGER_LABEL!r}"}
    sender = (payload.get("sender") or {}).get("login", "?")
    with ship.store.session() as s:
        ticket, job = _queued_job(s, full_name, number)
        if job is None:
            return {"action": "ignored", "reason": f"{full_name}#{number} has no queued job"}
        job_id = job.id
        if action == "edited":
            ticket.title = str(issue.get("title") or ticket.title).strip() or ticket.title
            ticket.body = str(issue.get("body") or "")
            jobs.add_event(s, job_id, "ticket", f"issue edited on GitHub by {sender}; ticket text updated")
            return {"action": "ticket_updated", "job_id": job_id}
    what = (
        f"issue closed on GitHub by {sender}"
        if action == "closed"
        else f"label {TRIGGER_LABEL!r} removed on GitHub by {sender}"
    )
    jobs.cancel_job(ship.store, job_id, reason=what)
    return {"action": "cancelled", "job_id": job_id}


def _follow_priority(ship, payload: dict, full_name: str, number: int) -> dict:
    """The issue's labels after the change (``issue.labels``) set its queued job's priority."""
    problem = sender_problem(payload)
    if problem:
        return {"action": "ignored", "reason": problem}
    labels = [lbl["name"] for lbl in (payload["issue"].get("labels") or [])
              if isinstance(lbl, dict) and isinstance(lbl.get("name"), str)]  # fmt: skip
    sender = (payload.get("sender") or {}).get("login", "?")
    with ship.store.session() as s:
        ticket, job = _queued_job(s, full_name, number)
        if job is None:
            return {
                "action": "ignored",
                "reason": f"{full_name}#{number} has no queued job (a running job keeps its priority)",
            }
        at = str(payload["issue"].get("updated_at") or "")
        if at and at < _last_label_change(s, job.id):
            return {"action": "ignored", "reason": f"a later label change of {full_name}#{number} was applied already"}
        ticket.labels = sorted(set(labels) | {TRIGGER_LABEL})
        verb = "added" if payload["action"] == "labeled" else "removed"
        level = jobs.follow_priority_labels(
            s,
            job,
            ticket.labels,
            f"label {payload['label']['name']!r} {verb} on GitHub by {sender}",
            {"issue_updated_at": at},
        )
        return {
            "action": "reprioritised" if level else "unchanged",
            "job_id": job.id,
            "priority": priority_name(job.priority),
        }


def _last_label_change(session, job_id: int) -> str:
    """The issue's ``updated_at`` at the last priority change applied from a label event ("" if none):
    GitHub does not promise delivery order, and each event carries the whole label set of its moment."""
    rows = session.scalars(select(Event.data).where(Event.job_id == job_id, Event.kind == "priority"))
    return max((str(d.get("issue_updated_at") or "") for d in rows if isinstance(d, dict)), default="")
