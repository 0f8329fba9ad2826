"""A signed GitHub delivery replayed under a new ``X-GitHub-Delivery`` id has no effect; a cancelled
ticket is queued again only by a labelling made after the cancellation.

The HMAC covers the body only, so anyone who saw one delivery can resend it with any header. The
payloads are GitHub's shape (``tests/github_forge/webhook_payloads.py``, from the emulator's state).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator.emulators.github.asgi import State
from orchestrator.store.tables import Job, Repository
from tests.github_forge.conftest import open_issue
from tests.github_forge.webhook_payloads import deliver, issue_labeled

REPO = "acme/widgets"


@pytest.fixture
def github(tmp_path, ship) -> State:
    with ship.store.session() as s:
        s.add(Repository(name="widgets", forge="github", url=REPO, base_branch="main"))
    st = State(root=tmp_path / "github", base="http://github.test")
    open_issue(st, 7, "Crash on empty input", "Steps: run it", labels=["shipyard"], updated_at="2026-01-01T00:00:00Z")
    return st


def jobs_of(ship) -> list[tuple[int, str]]:
    with ship.store.session() as s:
        return [(j.id, j.state) for j in s.scalars(select(Job).order_by(Job.id))]


def test_a_replayed_delivery_with_a_new_delivery_id_queues_nothing(client, ship, github):
    payload = issue_labeled(github, REPO, 7, sender="alice")
    first = deliver(client, "issues", payload, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert first["action"] == "queued"
    ship.cancel(first["job_id"])  # no active job left: a replay that is not recognised would queue one

    replay = deliver(client, "issues", payload, "ffffffff-0000-11e3-81ab-4c9367dc0958")
    assert replay["action"] == "duplicate", replay
    assert "already handled" in replay["reason"]
    assert jobs_of(ship) == [(first["job_id"], "cancelled")]


def test_a_cancelled_ticket_is_queued_again_only_by_a_labelling_after_the_cancellation(client, ship, github):
    first = deliver(client, "issues", issue_labeled(github, REPO, 7, sender="alice"), "d-1")
    ship.cancel(first["job_id"])
    cancelled_at = datetime.now(UTC)

    # An event from before the cancellation (delivered late, or replayed) does nothing.
    github.issues[(REPO, 7)]["updated_at"] = (cancelled_at - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = deliver(client, "issues", issue_labeled(github, REPO, 7, sender="alice"), "d-2")
    assert stale["action"] == "ignored" and f"job {first['job_id']} of this ticket was cancelled" in stale["reason"], (
        stale
    )
    assert jobs_of(ship) == [(first["job_id"], "cancelled")]

    # Someone labels the issue again after the cancellation: GitHub stamps the issue anew.
    github.issues[(REPO, 7)]["updated_at"] = (cancelled_at + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    relabel = issue_labeled(github, REPO, 7, sender="alice")
    again = deliver(client, "issues", relabel, "d-3")
    assert again["action"] == "queued", again
    assert jobs_of(ship) == [(first["job_id"], "cancelled"), (again["job_id"], "queued")]

    # ... and that new event, replayed once its job is cancelled too, does nothing either.
    ship.cancel(again["job_id"])
    assert deliver(client, "issues", relabel, "d-4")["action"] == "duplicate"
    assert [state for _, state in jobs_of(ship)] == ["cancelled", "cancelled"]


def test_a_replayed_review_command_with_a_new_delivery_id_decides_nothing(client, ship, add_job):
    from orchestrator.domain import jobs
    from orchestrator.store.tables import Review
    from tests.web.store_rows import set_state
    from tests.web.test_webhook import deliver as deliver_event

    job_id = add_job(state="awaiting_review", repo="widgets", pr_state="open")
    comment = {
        "action": "created",
        "repository": {"full_name": REPO},
        "sender": {"login": "rita"},
        "issue": {"number": job_id + 100, "pull_request": {"url": f"https://api.example/pulls/{job_id + 100}"}},
        "comment": {"id": 9001, "body": "/shipyard also handle tabs", "updated_at": "2026-01-05T10:00:00Z"},
    }
    first = deliver_event(client, comment, delivery="c-1", event="issue_comment").json()
    assert first["action"] == "request_changes"
    with ship.store.session() as s:  # the new attempt ran and the job waits for review again
        review_id = s.scalars(select(Review.id).where(Review.job_id == job_id)).one()
    jobs.mark_decision_applied(ship.store, review_id)
    set_state(ship, job_id, "awaiting_review")
    replay = deliver_event(client, comment, delivery="c-2", event="issue_comment").json()
    assert replay["action"] == "duplicate", replay
    with ship.store.session() as s:
        assert len(s.scalars(select(Review).where(Review.job_id == job_id)).all()) == 1


def test_a_replayed_label_removal_does_not_cancel_the_job_a_later_labelling_queued(client, ship, github):
    first = deliver(client, "issues", issue_labeled(github, REPO, 7, sender="alice"), "d-1")
    github.issues[(REPO, 7)]["updated_at"] = "2026-01-01T00:05:00Z"
    removal = issue_labeled(github, REPO, 7, sender="alice") | {"action": "unlabeled"}
    assert deliver(client, "issues", removal, "d-2")["action"] == "cancelled"
    github.issues[(REPO, 7)]["updated_at"] = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    again = deliver(client, "issues", issue_labeled(github, REPO, 7, sender="alice"), "d-3")
    assert again["action"] == "queued", again

    replay = deliver(client, "issues", removal, "d-4")
    assert replay["action"] == "duplicate", replay
    assert jobs_of(ship) == [(first["job_id"], "cancelled"), (again["job_id"], "queued")]
