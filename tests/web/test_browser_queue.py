"""The queue page and a pending decision in Chromium, at phone width; screenshots for people."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("SHIPYARD_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots"))


def test_jobs_page_at_420_px_has_no_horizontal_overflow(page, live_server, add_job):
    for i in range(12):
        add_job(
            state=["queued", "running", "awaiting_review", "merged"][i % 4],
            title=f"A rather long ticket title number {i} about the parser",
        )
    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(live_server + "/")
    expect(page.locator("#queue-overview")).to_contain_text("Running now")
    width = page.evaluate("document.documentElement.scrollWidth")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "queue-420px.png"), full_page=True)
    assert width <= 420, f"the jobs page is {width}px wide at a 420px viewport"


def test_request_changes_disables_the_buttons_at_once(page, live_server, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    page.goto(f"{live_server}/jobs/{job_id}")
    page.fill("#comment", "handle None")
    page.click("#request-changes")
    expect(page.locator("#pending-decision")).to_contain_text("changes requested — waiting for a worker")
    expect(page.locator("#approve")).to_be_disabled()
    expect(page.locator("#reject")).to_be_disabled()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "job-pending-decision.png"), full_page=True)


def test_reject_asks_first_and_dismissing_records_nothing(page, live_server, ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    page.goto(f"{live_server}/jobs/{job_id}")
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", answer)
    page.click("#reject")
    expect(page.locator("#approve")).to_be_enabled()
    assert asked and "the pull request is closed" in asked[0]
    assert client_pending(ship, job_id) is None
    page.once("dialog", lambda d: d.accept())
    page.click("#reject")
    expect(page.locator("#pending-decision")).to_contain_text("rejected — waiting for a worker")


def client_pending(ship, job_id):
    from orchestrator.domain.jobs import pending_decision

    return pending_decision(ship.store, job_id)
