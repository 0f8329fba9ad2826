"""The pages in a real browser (Debian's Chromium driven by Playwright) against a real uvicorn."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from orchestrator.store.tables import Review
from tests.web.store_rows import gate_report, set_state

pytestmark = pytest.mark.browser


def test_jobs_page_updates_itself_when_a_job_changes(page, live_server, ship, add_job):
    job_id = add_job(state="running", title="Parser crash")
    page.goto(live_server + "/")
    badge = page.locator(f'tr[data-job="{job_id}"] .badge')
    expect(badge).to_have_text("running")
    page.evaluate("window.__sameDocument = true")  # lost if the page navigates

    set_state(ship, job_id, "awaiting_review", "pull request #1 waits for review")
    newcomer = add_job(state="queued", title="Second ticket")

    expect(badge).to_have_text("awaiting review", timeout=10_000)
    expect(page.locator(f'tr[data-job="{newcomer}"]')).to_contain_text("Second ticket", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#refreshed")).to_contain_text("Updated")


def test_approving_a_pull_request_from_the_job_page(page, live_server, ship, add_job):
    job_id = add_job(state="awaiting_review", title="Add retries", gates=[gate_report(True, 93.0)], pr_state="open")
    page.goto(f"{live_server}/jobs/{job_id}")
    expect(page.locator(".gate-report")).to_contain_text("passed")
    page.fill("#comment", "Looks good")
    page.click("#approve")

    expect(page.locator("#flash")).to_contain_text("Approved: decision on the pull request recorded")
    assert page.url == f"{live_server}/jobs/{job_id}"
    with ship.store.session() as s:
        [review] = s.scalars(select(Review).where(Review.job_id == job_id)).all()
        assert (review.decision, review.comment, review.reviewer) == ("approve", "Looks good", "admin")
    expect(page.locator("#decisions .decided-by")).to_have_text("admin")


def test_request_changes_without_a_comment_shows_the_error(page, live_server, ship, add_job):
    job_id = add_job(state="awaiting_plan_approval", events=[("plan", "1. Parse\n2. Test")])
    page.goto(f"{live_server}/jobs/{job_id}")
    expect(page.locator("#plan")).to_contain_text("2. Test")
    page.click("#request-changes")

    flash = page.locator("#flash.error")
    expect(flash).to_contain_text("request-changes needs a comment")
    with ship.store.session() as s:
        assert s.scalars(select(Review).where(Review.job_id == job_id)).all() == []


def test_running_job_page_reloads_when_the_job_moves_on(page, live_server, ship, add_job):
    job_id = add_job(state="running")
    page.goto(f"{live_server}/jobs/{job_id}")
    expect(page.locator("#job-state")).to_have_text("running")
    set_state(ship, job_id, "blocked", "gates failed 3 times: diff coverage 40%")
    expect(page.locator("#job-state")).to_have_text("blocked", timeout=10_000)
    expect(page.locator("#job-reason")).to_contain_text("diff coverage 40%")
