"""Pull-request events from GitHub become review decisions on the job that opened the PR."""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.store.tables import Review
from tests.web.test_webhook import deliver


def _comment(number: int, text: str, sender: str = "rita") -> dict:
    return {
        "action": "created",
        "repository": {"full_name": "acme/widgets"},
        "sender": {"login": sender},
        "issue": {"number": number, "pull_request": {"url": f"https://api.example/pulls/{number}"}},
        "comment": {"body": text},
    }


def _closed(number: int, merged: bool) -> dict:
    return {
        "action": "closed",
        "repository": {"full_name": "acme/widgets"},
        "sender": {"login": "rita"},
        "pull_request": {"number": number, "merged": merged, "merge_commit_sha": "abc123" if merged else None},
    }


def _reviews(ship) -> list[tuple[int, str, str, str]]:
    with ship.store.session() as s:
        return [(r.job_id, r.decision, r.comment, r.reviewer) for r in s.scalars(select(Review))]


def test_shipyard_comment_on_the_pr_requests_changes(client, ship, add_job):
    job_id = add_job(state="awaiting_review", repo="widgets", pr_state="open")
    reply = deliver(
        client, _comment(job_id + 100, "/shipyard  also handle tabs"), delivery="c-1", event="issue_comment"
    )
    assert reply.json() == {"action": "request_changes", "job_id": job_id}
    assert _reviews(ship) == [(job_id, "request_changes", "also handle tabs", "github:rita")]
    again = deliver(
        client, _comment(job_id + 100, "/shipyard  also handle tabs"), delivery="c-1", event="issue_comment"
    )
    assert again.json()["action"] == "duplicate" and len(_reviews(ship)) == 1


def test_plain_comments_and_foreign_prs_are_ignored_with_the_reason(client, ship, add_job):
    job_id = add_job(state="awaiting_review", repo="widgets", pr_state="open")
    plain = deliver(client, _comment(job_id + 100, "looks nice"), delivery="c-2", event="issue_comment").json()
    assert plain["action"] == "ignored" and "'/shipyard' command" in plain["reason"]
    foreign = deliver(client, _closed(999, merged=True), delivery="c-3", event="pull_request").json()
    assert foreign == {"action": "ignored", "reason": "acme/widgets#999 is not a Shipyard pull request"}
    assert _reviews(ship) == []


def test_close_on_github_rejects_and_a_merge_approves_only_a_waiting_job(client, ship, add_job):
    waiting = add_job(state="awaiting_review", repo="widgets", pr_state="open")
    running = add_job(state="running", repo="widgets", pr_state="open")
    assert (
        deliver(client, _closed(waiting + 100, merged=False), delivery="p-1", event="pull_request").json()["action"]
        == "reject"
    )
    late = deliver(client, _closed(running + 100, merged=True), delivery="p-2", event="pull_request").json()
    assert late["action"] == "ignored" and "not waiting for a human decision" in late["reason"]
    assert _reviews(ship) == [(waiting, "reject", "pull request closed on GitHub by rita", "github:rita")]


def _reply_on_issue(number: int, replier: str, author: str = "octocat") -> dict:
    return {
        "action": "created",
        "repository": {"full_name": "acme/widgets"},
        "sender": {"login": replier},
        "issue": {
            "number": number,
            "user": {"login": author},
            "labels": [{"name": "shipyard"}, {"name": "shipyard:needs-info"}],
        },
        "comment": {"body": "It is the `parse()` in parser.py; inputs are UTF-8.", "user": {"login": replier}},
    }


def test_the_authors_reply_to_a_needs_info_issue_triages_it_again(client, ship, add_job):
    from orchestrator.store.tables import Job, Ticket

    blocked = add_job(state="blocked", repo="widgets", reason="not eligible for the agent: unclear")
    with ship.store.session() as s:
        ticket = s.get(Job, blocked).ticket
        ticket.source, ticket.external_id = "github", "12"
    other = deliver(client, _reply_on_issue(12, "mallory"), delivery="r-1", event="issue_comment").json()
    assert other["action"] == "ignored" and "only the issue's author (octocat)" in other["reason"]
    reply = deliver(client, _reply_on_issue(12, "octocat"), delivery="r-2", event="issue_comment").json()
    assert reply["action"] == "retriaged" and reply["job_id"] != blocked
    with ship.store.session() as s:
        assert s.get(Job, reply["job_id"]).state == "queued"
        assert "The author answered:\nIt is the `parse()` in parser.py" in s.scalars(select(Ticket)).one().body
