"""Issue changes after the trigger, through the signed webhook: label removed cancels the
queued job, an edit while queued updates the ticket's text."""

from __future__ import annotations

from orchestrator.store.models import Job, Ticket
from tests.web.conftest import client, ship  # noqa: F401 - fixtures
from tests.web.test_webhook import deliver, github_repo, jobs_of, labeled  # noqa: F401 - fixture


def _change(action: str, **issue) -> dict:
    payload = labeled()
    payload["action"] = action
    payload["issue"].update(issue)
    if action == "edited":
        payload.pop("label")
        payload["changes"] = {"body": {"from": "Steps: run <b>it</b>"}}
    return payload


def test_label_removed_cancels_the_queued_job(client, ship, github_repo):  # noqa: F811
    job_id = deliver(client, labeled()).json()["job_id"]
    other = deliver(client, _change("unlabeled") | {"label": {"name": "bug"}}, delivery="d-2").json()
    assert other["action"] == "ignored" and "not the trigger label" in other["reason"]
    reply = deliver(client, _change("unlabeled"), delivery="d-3").json()
    assert reply == {"action": "cancelled", "job_id": job_id}
    assert jobs_of(ship) == [(job_id, "cancelled", "7")]
    with ship.store.session() as s:
        assert "removed on GitHub by alice" in s.get(Job, job_id).reason


def test_edit_while_queued_updates_the_ticket_and_not_after(client, ship, github_repo):  # noqa: F811
    first = deliver(client, labeled()).json()
    reply = deliver(client, _change("edited", title="Crash on empty list", body="Run it with []",
                                     updated_at="2026-01-05T10:05:00Z"), delivery="d-2").json()
    assert reply == {"action": "ticket_updated", "job_id": first["job_id"]}
    with ship.store.session() as s:
        ticket = s.get(Ticket, first["ticket_id"])
        assert (ticket.title, ticket.body) == ("Crash on empty list", "Run it with []")
        s.get(Job, first["job_id"]).state = "running"
    late = deliver(client, _change("edited", body="changed again", updated_at="2026-01-05T10:10:00Z"), delivery="d-3").json()
    assert late["action"] == "ignored" and "no queued job" in late["reason"]
    with ship.store.session() as s:
        assert s.get(Ticket, first["ticket_id"]).body == "Run it with []"


def test_issue_closed_while_queued_cancels_the_job(client, ship, github_repo):  # noqa: F811
    job_id = deliver(client, labeled()).json()["job_id"]
    closed = _change("closed", state="closed")
    closed.pop("label")
    assert deliver(client, closed, delivery="d-close").json() == {"action": "cancelled", "job_id": job_id}
    with ship.store.session() as s:
        assert s.get(Job, job_id).reason == "issue closed on GitHub by alice"
