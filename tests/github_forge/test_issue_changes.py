"""Issue changes after the trigger, through the signed webhook: label removed cancels the
queued job, an edit while queued updates the ticket's text."""

from __future__ import annotations

from orchestrator.store.tables import Job, Ticket
from tests.web.test_webhook import deliver, jobs_of, labeled


def _change(action: str, **issue) -> dict:
    payload = labeled()
    payload["action"] = action
    payload["issue"].update(issue)
    if action == "edited":
        payload.pop("label")
        payload["changes"] = {"body": {"from": "Steps: run <b>it</b>"}}
    return payload


def test_label_removed_cancels_the_queued_job(client, ship, github_repo):
    job_id = deliver(client, labeled()).json()["job_id"]
    other = deliver(client, _change("unlabeled") | {"label": {"name": "bug"}}, delivery="d-2").json()
    assert other["action"] == "ignored" and "not the trigger label" in other["reason"]
    reply = deliver(client, _change("unlabeled"), delivery="d-3").json()
    assert reply == {"action": "cancelled", "job_id": job_id}
    assert jobs_of(ship) == [(job_id, "cancelled", "7")]
    with ship.store.session() as s:
        assert "removed on GitHub by alice" in s.get(Job, job_id).reason


def test_edit_while_queued_updates_the_ticket_and_not_after(client, ship, github_repo):
    first = deliver(client, labeled()).json()
    reply = deliver(
        client,
        _change("edited", title="Crash on empty list", body="Run it with []", updated_at="2026-01-05T10:05:00Z"),
        delivery="d-2",
    ).json()
    assert reply == {"action": "ticket_updated", "job_id": first["job_id"]}
    with ship.store.session() as s:
        ticket = s.get(Ticket, first["ticket_id"])
        assert (ticket.title, ticket.body) == ("Crash on empty list", "Run it with []")
        s.get(Job, first["job_id"]).state = "running"
    late = deliver(
        client, _change("edited", body="changed again", updated_at="2026-01-05T10:10:00Z"), delivery="d-3"
    ).json()
    assert late["action"] == "ignored" and "no queued job" in late["reason"]
    with ship.store.session() as s:
        assert s.get(Ticket, first["ticket_id"]).body == "Run it with []"


def test_issue_closed_while_queued_cancels_the_job(client, ship, github_repo):
    job_id = deliver(client, labeled()).json()["job_id"]
    closed = _change("closed", state="closed")
    closed.pop("label")
    assert deliver(client, closed, delivery="d-close").json() == {"action": "cancelled", "job_id": job_id}
    with ship.store.session() as s:
        assert s.get(Job, job_id).reason == "issue closed on GitHub by alice"


def _label(name: str) -> dict:
    """A label as GitHub sends it (octokit/webhooks payload-examples ``issues/labeled``)."""
    return {
        "id": 1362934389 + len(name),
        "node_id": "MDU6TGFiZWwxMzYyOTM0Mzg5",
        "name": name,
        "color": "d73a4a",
        "url": f"https://api.github.com/repos/acme/widgets/labels/{name}",
        "default": False,
        "description": None,
    }


def _priority_label(number: int, action: str, level: str, at: str) -> dict:
    """A ``labeled``/``unlabeled`` event of ``priority:<level>`` on issue ``number``, which has the labels
    ``bug`` and ``shipyard`` besides (``issue.labels`` lists those it has after the change)."""
    label = f"priority:{level}"
    after = ["bug", "shipyard", label] if action == "labeled" else ["bug", "shipyard"]
    payload = labeled(number=number, updated_at=at)
    payload.update(action=action, label=_label(label))
    payload["issue"]["labels"] = [_label(name) for name in after]
    return payload


def test_a_priority_label_changed_while_queued_moves_the_job_and_not_once_it_runs(client, ship, github_repo):
    from orchestrator.domain.scheduling import claim_next

    first, second, third = (deliver(client, labeled(number=n), delivery=f"q-{n}").json()["job_id"] for n in (7, 8, 9))
    urgent = deliver(client, _priority_label(9, "labeled", "urgent", "2026-01-05T10:01:00Z"), delivery="p-1").json()
    assert urgent == {"action": "reprioritised", "job_id": third, "priority": "urgent"}
    high = deliver(client, _priority_label(8, "labeled", "high", "2026-01-05T10:02:00Z"), delivery="p-2").json()
    assert high == {"action": "reprioritised", "job_id": second, "priority": "high"}
    removed = deliver(client, _priority_label(9, "unlabeled", "urgent", "2026-01-05T10:03:00Z"), delivery="p-3").json()
    assert removed == {"action": "reprioritised", "job_id": third, "priority": "normal"}
    # Workers take the relabelled high job first, then the older normal jobs.
    assert [claim_next(ship.store, f"test:{n}:0", 60, None) for n in range(3)] == [second, first, third]
    with ship.store.session() as s:
        s.get(Job, first).state = "running"
        assert s.get(Ticket, s.get(Job, second).ticket_id).labels == ["bug", "priority:high", "shipyard"]
    late = deliver(client, _priority_label(7, "labeled", "urgent", "2026-01-05T10:04:00Z"), delivery="p-4").json()
    assert late["action"] == "ignored" and "a running job keeps its priority" in late["reason"]
    timeline = client.get(f"/api/jobs/{second}").json()
    assert timeline["priority"] == "high"
    assert any(
        e["kind"] == "priority" and "'priority:high' added on GitHub by alice" in e["message"]
        for e in timeline["events"]
    )
    with ship.store.session() as s:
        assert s.get(Job, first).priority == 0


def test_a_label_event_delivered_after_a_later_one_does_not_undo_it(client, ship, github_repo):
    job_id = deliver(client, labeled(number=7), delivery="q-7").json()["job_id"]
    added = _priority_label(7, "labeled", "high", "2026-01-05T10:01:00Z")
    removed = _priority_label(7, "unlabeled", "high", "2026-01-05T10:02:00Z")
    assert deliver(client, added, delivery="p-1").json()["priority"] == "high"
    assert deliver(client, removed, delivery="p-2").json()["priority"] == "normal"
    stale = _priority_label(7, "labeled", "urgent", "2026-01-05T10:01:30Z")
    late = deliver(client, stale, delivery="p-3").json()
    assert late["action"] == "ignored" and "a later label change" in late["reason"]
    with ship.store.session() as s:
        assert s.get(Job, job_id).priority == 0
