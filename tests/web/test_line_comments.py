"""A reviewer comments on lines of the diff; the comments reach the agent with their file and line."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from orchestrator.domain.jobs import JobError, checked_line_comments
from orchestrator.store.tables import Review
from tests.web.test_review_workspace import job_with_diff
from workflows.nodes.human import review_feedback


@pytest.mark.browser
def test_a_reviewer_comments_on_a_diff_line_and_requests_changes(page, live_server, ship, add_job, tmp_path):
    job_id = job_with_diff(ship, add_job, tmp_path)
    page.goto(f"{live_server}/jobs/{job_id}")
    page.locator('tr[data-path="app.py"][data-line="2"] button.line-comment').click()
    page.get_by_label("Your comment on app.py line 2").fill("return the parsed value, not a constant")
    page.fill("#comment", "Close, one thing left.")
    page.click("#request-changes")
    expect(page.locator("#pending-decision")).to_contain_text("app.py:2 — return the parsed value, not a constant")
    with ship.store.session() as s:
        review = s.scalars(select(Review).where(Review.job_id == job_id)).one()
        assert (review.decision, review.comment) == ("request_changes", "Close, one thing left.")
        assert review.line_comments == [
            {"path": "app.py", "line": 2, "body": "return the parsed value, not a constant"}
        ]
    # Decided: no more comment buttons until a worker applies the decision.
    assert page.locator("button.line-comment").count() == 0


def test_the_agent_reads_each_line_comment_with_its_file_and_line():
    feedback = review_feedback({"comment": "Nearly.", "line_comments": [
        {"path": "textkit/slug.py", "line": 12, "body": "name the separator constant"},
        {"path": "tests/test_slug.py", "line": 3, "body": "test the empty string too"},
    ]})  # fmt: skip
    assert feedback == (
        "Nearly.\n\nComments on lines of the diff (line numbers in the changed file):\n"
        "- textkit/slug.py:12: name the separator constant\n- tests/test_slug.py:3: test the empty string too"
    )
    assert review_feedback({"comment": "", "line_comments": [{"path": "a.py", "line": 1, "body": "x"}]}).startswith(
        "Comments on lines"
    )


def test_bad_line_comments_name_the_item_and_the_field(client, add_job):
    for raw, message in [
        ([{"path": "/etc/passwd", "line": 1, "body": "x"}], "line_comments[0].path: must be a relative path"),
        ([{"path": "a.py", "line": "two", "body": "x"}], "line_comments[0].line: must be a line number"),
        ([{"path": "a.py", "line": 3, "body": " "}], "line_comments[0].body: must say what to change"),
        ("a.py:3", "line_comments: must be a list"),
    ]:
        try:
            checked_line_comments(raw)
        except JobError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{raw!r} was accepted")
    job_id = add_job(state="awaiting_review", pr_state="open")
    reply = client.post(
        f"/api/jobs/{job_id}/decision",
        json={"decision": "request_changes", "line_comments": [{"path": "../x", "line": 1, "body": "y"}]},
    )
    assert reply.status_code == 422 and "line_comments[0].path" in reply.json()["error"]
    ok = client.post(
        f"/api/jobs/{job_id}/decision",
        json={"decision": "request_changes", "line_comments": [{"path": "x.py", "line": 4, "body": "y"}]},
    )
    assert ok.status_code == 200, ok.text
    assert client.get(f"/api/jobs/{job_id}").json()["pending_decision"]["line_comments"] == [
        {"path": "x.py", "line": 4, "body": "y"}
    ]


def test_line_comments_are_on_the_decision_record_and_one_on_a_file_not_in_the_diff_is_refused(
    client, ship, add_job, tmp_path
):
    job_id = job_with_diff(ship, add_job, tmp_path)
    elsewhere = client.post(
        f"/api/jobs/{job_id}/decision",
        json={"decision": "request_changes", "line_comments": [{"path": "README.md", "line": 1, "body": "typo"}]},
    )
    assert elsewhere.status_code == 422
    assert (
        "line_comments[0].path: README.md is not a file the pull request changes (it changes app.py"
        in (elsewhere.json()["error"])
    )
    done = client.post(
        f"/api/jobs/{job_id}/decision",
        json={"decision": "request_changes", "comment": "One thing.",
              "line_comments": [{"path": "app.py", "line": 2, "body": "return the parsed value"}]},
    )  # fmt: skip
    assert done.status_code == 200, done.text
    with ship.store.session() as s:  # the decision is applied: the record is all that is left of it
        s.scalars(select(Review).where(Review.job_id == job_id)).one().applied = True
    record = client.get(f"/jobs/{job_id}").text
    decisions = record[record.index('id="decisions"') :]
    assert "One thing." in decisions and "app.py:2</code> — return the parsed value" in decisions
