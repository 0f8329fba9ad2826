"""The control room tells the truth about what happens next: a decision resumes "shortly" only when a
worker is alive, a page waiting on a decision follows the job when it moves on, buttons are shown only
to those who may press them, and a bad time range is a 400 naming the field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from orchestrator.store.tables import Review
from orchestrator.worker.heartbeats import register_worker
from tests.web.logins import api_client
from tests.web.store_rows import set_state
from tests.web.test_decisions import csrf_of
from tests.web.test_review_workspace import job_with_diff


def test_a_decision_promises_a_prompt_resume_only_when_a_worker_is_alive(ship, client, add_job):
    waiting = add_job(state="awaiting_review", pr_state="open")
    answer = client.post(f"/jobs/{waiting}/decision", data={"csrf": csrf_of(client, waiting), "decision": "approve"})
    text = " ".join(answer.text.split())
    assert "no live worker is seen, so the job resumes once one runs (`shipyard worker`)" in text
    assert "resumes shortly" not in text
    api = client.post(f"/api/jobs/{add_job(state='awaiting_review')}/decision", json={"decision": "approve"})
    assert "no live worker is seen" in api.json()["status"]
    register_worker(ship.store, 2)  # a live worker's heartbeat
    again = client.post(f"/api/jobs/{add_job(state='awaiting_review')}/decision", json={"decision": "approve"})
    assert again.json()["status"] == "recorded; the job resumes shortly"


def test_bad_time_ranges_are_400_naming_the_field(client):
    for path in ("/outcomes?days=100000000", "/api/outcomes?days=100000000"):
        answer = client.get(path)
        assert answer.status_code == 400 and "days: must be at most 36500" in answer.text, path


@pytest.mark.parametrize(
    ("role", "bulk", "plus"), [("viewer", False, False), ("reviewer", False, True), ("operator", True, True)]
)
def test_buttons_are_shown_only_to_roles_that_may_use_them(ship, add_job, tmp_path, role, bulk, plus):
    job_id = job_with_diff(ship, add_job, tmp_path)
    with api_client(ship, role) as client:
        jobs = client.get("/").text
        rows = client.get("/partials/jobs").text  # what the page's live refresh puts in
        page = client.get(f"/jobs/{job_id}").text
    assert ('id="bulk-retry"' in jobs, 'form="bulk"' in jobs, 'form="bulk"' in rows) == (bulk, bulk, bulk)
    assert ('class="line-comment"' in page) is plus


@pytest.mark.browser
def test_a_page_waiting_on_a_decision_follows_the_job_when_a_worker_moves_it_on(page, live_server, ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    with ship.store.session() as s:
        s.add(Review(job_id=job_id, gate="pr", decision="approve", reviewer="admin"))
    page.goto(f"{live_server}/jobs/{job_id}")
    expect(page.locator("#pending-decision")).to_be_visible()
    with ship.store.session() as s:  # a worker applies the decision and the job runs on
        s.scalars(select(Review).where(Review.job_id == job_id)).one().applied = True
    set_state(ship, job_id, "running")
    expect(page.locator("#job-state")).to_have_text("running", timeout=10_000)
    expect(page.locator("#pending-decision")).to_have_count(0)


def test_dead_workers_age_out_of_the_list_after_a_day(ship, client):
    from datetime import timedelta

    from orchestrator.store.tables import WorkerRecord, utcnow

    with ship.store.session() as s:
        for pid, ago in ((11, timedelta(days=2)), (12, timedelta(minutes=5))):
            s.add(WorkerRecord(id=f"old:{pid}", host="old", pid=pid, concurrency=2, version="1", pool_pids=[],
                               started_at=utcnow() - ago, last_seen_at=utcnow() - ago))  # fmt: skip
    rows = client.get("/api/workers").json()["workers"]
    assert [(w["pid"], w["status"]) for w in rows] == [(12, "dead")]
    assert "Workers dead or stopped for over a day are no longer listed." in client.get("/workers").text


def test_a_bad_filter_keeps_the_form_as_typed_with_the_reason_beside_it(client, add_job):
    add_job(state="queued", title="Fix the parser")
    answer = client.get("/?repo=widgets&label=bug&since=2026-13-40")
    assert answer.status_code == 400
    page = answer.text
    assert 'id="job-filters"' in page and 'id="filter-error"' in page and "since: must be a date" in page
    assert 'name="repo" value="widgets"' in page and 'name="label" value="bug"' in page
    assert 'value="2026-13-40"' in page and "Fix the parser" not in page  # no rows until it is fixed


def test_a_blocked_jobs_open_pull_request_is_closed_from_its_page(ship, client, add_job, tmp_path):
    from orchestrator.domain.backlog import register_repository
    from tests.orchestrator.gitrepo import make_repo

    register_repository(ship.store, make_repo(tmp_path / "demo", {"a.py": "x = 1\n"}), name="demo")
    job_id = add_job(state="blocked", pr_state="open", reason="the agent made no change for your comments")
    page = client.get(f"/jobs/{job_id}").text
    assert "The pull request is still open" in page and 'id="close-pr"' in page
    done = client.post(
        f"/jobs/{job_id}/decision", data={"csrf": csrf_of(client, job_id), "decision": "reject", "comment": "Enough."}
    )
    assert f"Rejected: the pull request is closed and job {job_id} ended." in done.text
    detail = client.get(f"/api/jobs/{job_id}").json()
    assert (detail["state"], detail["pr"]["state"]) == ("closed", "closed")
    assert [(d["decision"], d["comment"]) for d in detail["decisions"]] == [("reject", "Enough.")]
    again = client.post(f"/api/jobs/{job_id}/decision", json={"decision": "reject"})
    assert again.status_code == 409 and f"job {job_id} is closed, not waiting" in again.json()["error"]
