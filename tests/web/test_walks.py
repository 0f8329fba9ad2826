"""The pages walked as a reviewer and a team lead would, in Chromium: the job page at phone width,
in dark mode, by keyboard; the dashboard and its sprint report download. Screenshots are written
to ``screenshots/`` (or ``$SHIPYARD_SCREENSHOTS``) for people to look at; they are not committed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.logins import log_in_page
from tests.web.store_rows import gate_report
from tests.web.test_browser_queue import SHOTS
from tests.web.test_review_workspace import job_with_diff


@pytest.mark.browser
def test_a_reviewer_reads_the_job_page_at_phone_width_in_dark_mode_by_keyboard(
    browser, live_server, ship, add_job, tmp_path
):
    job_id = job_with_diff(ship, add_job, tmp_path)
    context = browser.new_context(viewport={"width": 420, "height": 900}, color_scheme="dark")
    page = context.new_page()
    log_in_page(page, live_server, ship)
    try:
        page.goto(f"{live_server}/jobs/{job_id}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background  # the system's dark scheme is followed
        page.keyboard.press("j")
        assert page.evaluate("document.activeElement.closest('details.diff-file').id") == "file-1"
        page.keyboard.press("a")
        assert page.evaluate("document.activeElement.id") == "comment"
        assert page.input_value("#comment") == ""  # the key itself is not typed
        expect(page.locator("#approve")).to_be_enabled()  # a key moves the focus, it never decides
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "job-covered-diff-420px-dark.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.browser
def test_a_lead_opens_the_dashboard_and_downloads_the_sprint_report(page, live_server, add_job):
    add_job(state="merged", pr_state="merged", usage=[("gpt-small", 0.42)], gates=[gate_report(True)])
    add_job(state="blocked", usage=[("gpt-small", 0.10)], gates=[gate_report(False, 40.0, "diff coverage 40% < 90%")])
    page.goto(live_server + "/outcomes")
    expect(page.locator("svg[aria-label='Merged pull requests per week']")).to_be_visible()
    expect(page.locator("#gate-failures")).to_contain_text("Diff coverage")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "outcomes.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#report-md")
    path = download.value.path()
    text = open(path, encoding="utf-8").read()
    assert download.value.suggested_filename == "shipyard-report.md"
    assert text.startswith("# Shipyard outcomes ") and "| Cost per merged PR | $0.5200 |" in text
