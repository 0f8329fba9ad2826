"""GitHub webhook: HMAC verification, label trigger, permission, duplicate deliveries."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, Ticket
from tests.web.logins import api_client
from tests.web.store_rows import set_state, sign


def labeled(
    number: int = 7,
    label: str = "shipyard",
    association: str = "MEMBER",
    repo: str = "acme/widgets",
    updated_at: str = "2026-01-05T10:00:00Z",
) -> dict:
    return {
        "action": "labeled",
        "label": {"name": label},
        "issue": {"id": 1000 + number, "number": number, "title": "Crash on empty input",
                  "body": "Steps: run <b>it</b>", "labels": [{"name": "bug"}, {"name": label}],
                  "author_association": association, "updated_at": updated_at},
        "repository": {"full_name": repo},
        "sender": {"login": "alice"},
    }  # fmt: skip


def deliver(client, payload: dict, delivery: str = "d-1", event: str = "issues", signature: str | None = "auto"):
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/webhooks/github", content=body, headers=headers)


def jobs_of(ship) -> list[tuple[int, str, str | None]]:
    with ship.store.session() as s:
        return [(j.id, j.state, j.ticket.external_id) for j in s.scalars(select(Job).order_by(Job.id))]


def test_labelled_issue_becomes_a_ticket_and_a_queued_job(client, ship, github_repo):
    response = deliver(client, labeled())
    assert response.status_code == 202
    body = response.json()
    assert body["action"] == "queued" and body["state"] == "queued"
    with ship.store.session() as s:
        ticket = s.get(Ticket, body["ticket_id"])
        assert (ticket.source, ticket.external_id, ticket.title) == ("github", "7", "Crash on empty input")
        assert ticket.labels == ["bug", "shipyard"]
    assert jobs_of(ship) == [(body["job_id"], "queued", "7")]
    assert any((ship.settings.queue_dir / "messages").iterdir())  # dispatched to the queue
    timeline = client.get(f"/api/jobs/{body['job_id']}").json()["events"]
    assert any(e["kind"] == "trigger" and "labelled 'shipyard' by alice" in e["message"] for e in timeline)


def test_duplicate_delivery_is_a_no_op_even_after_the_job_finished(client, ship, github_repo):
    first = deliver(client, labeled(), delivery="abc").json()
    again = deliver(client, labeled(), delivery="abc")
    assert (
        again.status_code == 202 and again.json()["action"] == "duplicate" and again.json()["job_id"] == first["job_id"]
    )
    set_state(ship, first["job_id"], "merged")
    late = deliver(client, labeled(), delivery="abc")
    assert late.json()["action"] == "duplicate"
    assert len(jobs_of(ship)) == 1


def test_new_delivery_for_an_active_job_does_not_start_another(client, ship, github_repo):
    first = deliver(client, labeled(), delivery="one").json()
    second = deliver(client, labeled(updated_at="2026-01-05T10:05:00Z"), delivery="two").json()
    assert second["action"] == "already_active" and second["job_id"] == first["job_id"]
    assert len(jobs_of(ship)) == 1


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", sign(b"other body")])
def test_bad_or_missing_signature_is_401(client, ship, github_repo, signature):
    response = deliver(client, labeled(), signature=signature)
    assert response.status_code == 401 and "X-Hub-Signature-256" in response.json()["error"]
    assert jobs_of(ship) == []


def test_no_secret_configured_is_503(tmp_path, scrub_env):
    ship = Shipyard.load(Settings(data_dir=tmp_path / "nosecret"))
    with api_client(ship) as client:
        response = deliver(client, labeled())
    assert response.status_code == 503 and "SHIPYARD_WEBHOOK_SECRET" in response.json()["error"]


@pytest.mark.parametrize(
    "payload, reason",
    [
        (labeled(label="bug"), "is not the trigger label"),
        (labeled(association="NONE"), "not an owner, member or collaborator"),
        (labeled(repo="acme/unknown"), "'acme/unknown' is not registered"),
        ({**labeled(), "action": "opened"}, "is not 'labeled'"),
    ],
)
def test_events_that_do_not_trigger_work_are_ignored_with_a_reason(client, ship, github_repo, payload, reason):
    response = deliver(client, payload)
    assert response.status_code == 202 and response.json()["action"] == "ignored"
    assert reason in response.json()["reason"]
    assert jobs_of(ship) == []


def test_ping_other_events_and_bad_json(client, github_repo):
    assert deliver(client, {"zen": "hi"}, event="ping").json() == {"action": "pong"}
    assert deliver(client, {}, event="push").json()["action"] == "ignored"
    body = b"{not json"
    bad = client.post(
        "/webhooks/github", content=body, headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(body)}
    )
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
