"""Ops narrow the jobs list (state, repository, label, model, title words, dates) and act on many
jobs at once (cancel, retry), on the page and through the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from orchestrator.store.tables import Attempt


def _ids(reply) -> list[int]:
    assert reply.status_code == 200, reply.text
    return [j["id"] for j in reply.json()]


def test_the_api_filters_by_label_model_title_and_dates(client, ship, add_job):
    old = datetime(2026, 10, 1, 12, tzinfo=UTC)
    parser = add_job(
        state="blocked", title="Parser crash on 100% input", labels=["shipyard", "bug"], gates=[None], created_at=old
    )
    slug = add_job(state="merged", title="Slug dashes", labels=["shipyard"], gates=[None])
    other = add_job(state="queued", title="parser docs", labels=["shipyard", "docs_only"], repo="other")
    with ship.store.session() as s:
        s.execute(update(Attempt).where(Attempt.job_id == slug).values(model="gpt-large"))
    assert _ids(client.get("/api/jobs?label=bug")) == [parser]
    assert _ids(client.get("/api/jobs?label=docs")) == []  # a whole label, not a part of one
    assert _ids(client.get("/api/jobs?model=gpt-large")) == [slug]
    assert _ids(client.get("/api/jobs?q=PARSER")) == [other, parser]
    assert _ids(client.get("/api/jobs?q=100%25")) == [parser]  # % is a character here, not a wildcard
    assert _ids(client.get("/api/jobs?q=_")) == []
    assert _ids(client.get("/api/jobs?since=2026-10-01&until=2026-10-02")) == [parser]
    assert _ids(client.get("/api/jobs?repo=other&q=parser")) == [other]
    bad = client.get("/api/jobs?since=yesterday")
    assert bad.status_code == 400 and "since: must be a date like 2026-11-30" in bad.json()["error"]
    assert "until: must be after since" in client.get("/api/jobs?since=2026-10-02&until=2026-10-01").json()["error"]


def test_the_page_keeps_its_filters_and_says_when_nothing_matches(client, add_job):
    add_job(state="blocked", title="Parser crash", labels=["shipyard", "bug"])
    page = client.get("/?label=bug&q=crash").text
    assert 'id="f-label" name="label" value="bug"' in page and 'value="crash"' in page and "Parser crash" in page
    assert "No jobs matching the filters." in client.get("/?label=nope").text


def test_bulk_cancel_and_retry_report_each_job(client, add_job):
    queued, running, done = add_job(state="queued"), add_job(state="running"), add_job(state="failed")
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/").text).group(1)
    reply = client.post(
        "/jobs/bulk",
        data={
            "csrf": token,
            "action": "cancel",
            "job": [str(queued), str(running), str(done)],
            "back": "/?state=failed",
        },
    )
    assert reply.url.path == "/" and reply.url.query == b"state=failed"
    assert (
        f"2 job(s) cancelled: #{queued}, #{running}. Not cancelled: #{done} (job {done} is already failed)"
        in reply.text
    )
    assert client.get(f"/api/jobs/{queued}").json()["state"] == "cancelled"
    reply = client.post("/jobs/bulk", data={"csrf": token, "action": "retry", "job": [str(queued), str(done)]})
    assert "2 job(s) retried" in reply.text
    assert (
        client.post("/jobs/bulk", data={"csrf": "forged", "action": "cancel", "job": [str(running)]}).status_code == 403
    )
    assert "tick at least one job" in client.post("/jobs/bulk", data={"csrf": token, "action": "retry"}).text


@pytest.mark.browser
def test_ops_find_the_failed_jobs_and_retry_them_from_the_page(page, live_server, add_job):
    stuck = add_job(state="failed", title="Stuck on a flaky sandbox", reason="internal error: SandboxError")
    add_job(state="merged", title="Fine")
    page.goto(live_server + "/")
    page.select_option("#f-state", "failed")
    page.click("#job-filters button[type=submit]")
    expect(page.locator("#job-rows tr")).to_have_count(1)
    page.get_by_label(f"Select job {stuck}").check()
    expect(page.locator("#refreshed")).to_contain_text("Updated", timeout=10_000)  # the rows were refreshed…
    expect(page.get_by_label(f"Select job {stuck}")).to_be_checked()  # …and the tick kept
    page.click("#bulk-retry")
    expect(page.locator("#flash")).to_contain_text(f"1 job(s) retried: #{stuck}")
    assert "state=failed" in page.url
