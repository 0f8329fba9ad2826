"""An issue triage found not ready (labelled ``shipyard:needs-info``, question posted) is triaged
again when its author replies: the reply is added to the ticket and a fresh job is queued."""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.store.tables import Job, JobState, Repository, Ticket

NEEDS_INFO = "shipyard:needs-info"


def handle_author_reply(ship, payload: dict) -> dict:
    """Apply an ``issue_comment`` on an issue; returns the webhook's JSON reply."""
    issue, comment = payload.get("issue") or {}, payload.get("comment") or {}
    full_name = (payload.get("repository") or {}).get("full_name") or ""
    number = issue.get("number")
    if payload.get("action") != "created" or not isinstance(number, int):
        return {"action": "ignored", "reason": "not a new comment on an issue"}
    if NEEDS_INFO not in {lbl.get("name") for lbl in issue.get("labels") or [] if isinstance(lbl, dict)}:
        return {"action": "ignored", "reason": f"issue is not labelled {NEEDS_INFO!r}"}
    author, replier = (issue.get("user") or {}).get("login"), (comment.get("user") or {}).get("login")
    if not author or author != replier:
        return {"action": "ignored", "reason": f"only the issue's author ({author}) re-triages it, not {replier}"}
    with ship.store.session() as s:
        ticket = s.scalar(
            select(Ticket)
            .join(Repository)
            .where(Repository.url == full_name, Ticket.source == "github", Ticket.external_id == str(number))
        )
        last = (
            s.scalar(select(Job).where(Job.ticket_id == ticket.id).order_by(Job.id.desc()).limit(1)) if ticket else None
        )
        if last is None or last.state != JobState.BLOCKED.value:
            return {"action": "ignored", "reason": f"{full_name}#{number} has no blocked job waiting for its author"}
        ticket.body = f"{ticket.body}\n\nThe author answered:\n{str(comment.get('body') or '').strip()}"
        blocked = last.id
    return {"action": "retriaged", "job_id": ship.retry(blocked)}
