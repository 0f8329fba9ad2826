"""``POST /webhooks/github``: an issue labelled ``shipyard`` becomes a ticket and a queued job;
``pull_request``, ``pull_request_review`` and ``issue_comment`` events on an agent's pull request
become review decisions (``orchestrator.intake.github_pull_events``).

Who may trigger work: GitHub lets only people with triage access or more apply labels; on
top of that the issue's ``author_association`` must be OWNER, MEMBER or COLLABORATOR, and,
when GitHub credentials are configured, the sender's permission on the repository is asked
through the API (``orchestrator.intake.github_sender``).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from orchestrator.domain.backlog import (
    TRIGGER_LABEL,
    claim_delivery,
    claim_event,
    issue_event_key,
    pull_event_key,
    requeue_problem,
    upsert_external_ticket,
)
from orchestrator.domain.jobs import add_event, create_job_in
from orchestrator.intake.github_author_reply import handle_author_reply
from orchestrator.intake.github_issue_changes import HANDLED_ACTIONS, handle_issue_change, is_priority_change
from orchestrator.intake.github_pull_events import HANDLED_EVENTS as PULL_EVENTS
from orchestrator.intake.github_pull_events import handle_pull_event
from orchestrator.intake.github_sender import sender_problem
from orchestrator.store.tables import Job, Repository, WebhookDelivery, WebhookEvent

router = APIRouter()
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """GitHub's ``X-Hub-Signature-256: sha256=<hex HMAC of the raw body>``, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def _reply(status_code: int, **fields) -> JSONResponse:
    return JSONResponse(fields, status_code=status_code)


def _ignored(reason: str) -> JSONResponse:
    return _reply(202, action="ignored", reason=reason)


def _trigger_problem(payload: dict) -> str | None:
    """Why this ``issues`` event does not trigger work, or None when it does."""
    if payload.get("action") != "labeled":
        return f"issues action {payload.get('action')!r} is not 'labeled'"
    label = (payload.get("label") or {}).get("name")
    if label != TRIGGER_LABEL:
        return f"label {label!r} is not the trigger label {TRIGGER_LABEL!r}"
    issue = payload.get("issue")
    if not isinstance(issue, dict) or not isinstance(issue.get("number"), int):
        return "payload has no issue number"
    if "pull_request" in issue:
        return "the labelled item is a pull request, not an issue"
    association = issue.get("author_association")
    if association not in TRUSTED_ASSOCIATIONS:
        sender = (payload.get("sender") or {}).get("login", "?")
        return f"{sender} labelled an issue whose author is {association!r}, not an owner, member or collaborator"
    return None


def _issue_fields(issue: dict) -> dict:
    number = str(issue["number"])
    labels = [lbl.get("name") for lbl in issue.get("labels") or [] if isinstance(lbl, dict) and lbl.get("name")]
    title = str(issue.get("title") or f"issue #{number}").strip() or f"issue #{number}"
    return {"title": title, "body": str(issue.get("body") or ""), "labels": sorted(set(labels) | {TRIGGER_LABEL})}


def _handle_labeled(ship, payload: dict, delivery: str | None) -> JSONResponse:
    problem = _trigger_problem(payload) or sender_problem(payload)
    if problem:
        return _ignored(problem)
    full_name = (payload.get("repository") or {}).get("full_name")
    issue = payload["issue"]
    sender = (payload.get("sender") or {}).get("login", "?")
    # One transaction, uniqueness enforced by the database: a delivery sent many times at once
    # has one effect, and one issue has one ticket and at most one active job.
    with ship.store.session() as s:
        if delivery and not claim_delivery(s, delivery):
            seen = s.get(WebhookDelivery, delivery)
            return _reply(
                202, action="duplicate", job_id=seen.job_id, reason=f"delivery {delivery} was already handled"
            )
        # The signature covers the body only: the event's own identity, not the header, says "seen".
        event_key = issue_event_key(payload)
        if not claim_event(s, event_key):
            seen = s.get(WebhookEvent, event_key)
            return _reply(
                202,
                action="duplicate",
                job_id=seen.job_id,
                reason=(
                    f"this event (issue #{issue['number']} {payload['action']} at {issue.get('updated_at')}) "
                    "was already handled"
                ),
            )
        repo = s.scalar(select(Repository).where(Repository.url == full_name))
        if repo is None:
            return _ignored(f"repository {full_name!r} is not registered with Shipyard")
        problem = requeue_problem(s, repo.id, "github", str(issue["number"]), issue.get("updated_at"))
        if problem:
            return _ignored(problem)
        ticket_id = upsert_external_ticket(s, repo.id, "github", str(issue["number"]), **_issue_fields(issue))
        job_id, created = create_job_in(s, ticket_id)
        if delivery:
            s.get(WebhookDelivery, delivery).job_id = job_id
        s.get(WebhookEvent, event_key).job_id = job_id
        message = f"GitHub issue {full_name}#{issue['number']} labelled {TRIGGER_LABEL!r} by {sender}"
        add_event(s, job_id, "trigger", message, {"delivery": delivery or "", "sender": sender})
        state = s.get(Job, job_id).state
    if created:
        ship.dispatch(job_id)
    action = "queued" if created else "already_active"
    return _reply(202, action=action, ticket_id=ticket_id, job_id=job_id, state=state)


def _handle_issue_change(ship, payload: dict, delivery: str | None) -> JSONResponse:
    """``unlabeled``/``edited``: a stale removal replayed under a new delivery id must not cancel
    the job a later labelling queued."""
    with ship.store.session() as s:
        if delivery and not claim_delivery(s, delivery):
            return _reply(202, action="duplicate", reason=f"delivery {delivery} was already handled")
        if not claim_event(s, issue_event_key(payload)):
            return _reply(202, action="duplicate", reason="this issues event was already handled")
    return _reply(202, **handle_issue_change(ship, payload))


def _handle_pull(ship, event: str, payload: dict, delivery: str | None) -> JSONResponse:
    """Pull-request events; a delivery GitHub sends again has no second effect."""
    event_key = pull_event_key(event, payload)
    with ship.store.session() as s:
        if delivery and not claim_delivery(s, delivery):
            return _reply(202, action="duplicate", reason=f"delivery {delivery} was already handled")
        if event_key and not claim_event(s, event_key):  # the same event resent under a new delivery id
            return _reply(202, action="duplicate", reason=f"this {event} event was already handled")
    if event == "issue_comment" and "pull_request" not in (payload.get("issue") or {}):
        return _reply(202, **handle_author_reply(ship, payload))
    return _reply(202, **handle_pull_event(ship, event, payload))


@router.post("/webhooks/github")
async def github_webhook(request: Request) -> JSONResponse:
    ship = request.app.state.ship
    secret = ship.settings.webhook_secret
    if secret is None or not secret.get_secret_value():
        return _reply(
            503,
            error="webhooks are disabled: set SHIPYARD_WEBHOOK_SECRET (the secret configured on the GitHub webhook)",
        )
    body = await request.body()
    if not signature_ok(secret.get_secret_value().encode(), body, request.headers.get("x-hub-signature-256")):
        return _reply(401, error="X-Hub-Signature-256 is missing or does not match the configured webhook secret")
    event = request.headers.get("x-github-event", "")
    if event == "ping":
        return _reply(200, action="pong")
    if event != "issues" and event not in PULL_EVENTS:
        return _ignored(
            f"event {event!r} is not handled (only 'issues', {', '.join(repr(e) for e in sorted(PULL_EVENTS))})"
        )
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return _reply(400, error=f"body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        return _reply(400, error="body must be a JSON object")
    if event in PULL_EVENTS:
        return await run_in_threadpool(_handle_pull, ship, event, payload, request.headers.get("x-github-delivery"))
    if payload.get("action") in HANDLED_ACTIONS or is_priority_change(payload):
        return await run_in_threadpool(_handle_issue_change, ship, payload, request.headers.get("x-github-delivery"))
    # Store and broker calls block: keep them off the event loop.
    return await run_in_threadpool(_handle_labeled, ship, payload, request.headers.get("x-github-delivery"))
