"""A running job's page is live: its new steps (with the output the agent saw) arrive as
Server-Sent Events, as text, and a change of state brings the page of the new state."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from playwright.sync_api import expect

from orchestrator.store.tables import Event
from tests.web.store_rows import set_state


def add_event(ship, job_id: int, kind: str, message: str, **data) -> None:
    with ship.store.session() as s:
        s.add(Event(job_id=job_id, kind=kind, message=message, data=data))


def test_the_stream_sends_the_state_then_each_new_event_and_ends_when_the_job_does(ship, client, add_job):
    job_id = add_job(state="running", events=[("agent", "Reading the module.")])
    first = client.get(f"/api/jobs/{job_id}").json()["events"][-1]["id"]

    def later() -> None:
        time.sleep(1.0)
        add_event(ship, job_id, "tool", "run_tests tests/test_slug.py", tool="run_tests", output="3 passed in 0.02s")
        time.sleep(1.0)
        set_state(ship, job_id, "awaiting_review", "pull request #7 waits for review")

    threading.Thread(target=later, daemon=True).start()
    frames = []
    with client.stream("GET", f"/jobs/{job_id}/live?after={first}") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                frames.append((kind, json.loads(line[len("data: ") :])))
    assert [k for k, _ in frames if k != "cost"] == ["state", "job-event", "state"]
    assert [f for k, f in frames if k == "cost"] == [
        {"cost_usd": 0.0, "calls": 0, "model": ""}
    ]  # sent once: no call yet
    frames = [(k, f) for k, f in frames if k != "cost"]
    assert frames[0][1]["state"] == "running"
    assert (frames[1][1]["kind"], frames[1][1]["output"]) == ("tool", "3 passed in 0.02s")
    assert frames[2][1]["state"] == "awaiting_review"
    assert client.get("/jobs/99999/live").status_code == 404


@pytest.mark.browser
def test_a_running_jobs_page_shows_new_steps_live_and_reloads_on_a_new_state(page, live_server, ship, add_job):
    job_id = add_job(state="running", title="Parser crash", events=[("agent", "Reading the module.")])
    page.goto(f"{live_server}/jobs/{job_id}")
    page.evaluate("window.__sameDocument = true")
    add_event(
        ship, job_id, "tool", "bash cat <b>notes</b>", tool="bash", output="<img src=x onerror=alert(1)> line two"
    )
    row = page.locator("#timeline tr").last
    expect(row).to_contain_text("bash cat <b>notes</b>", timeout=10_000)  # shown as text, not markup
    expect(row.locator("details.tool-output pre")).to_have_text("<img src=x onerror=alert(1)> line two")
    assert page.locator("#timeline img").count() == 0
    assert page.evaluate("window.__sameDocument") is True  # arrived without a reload
    # The same 24-hour UTC clock as every time the server renders, whatever the browser's locale.
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^Live: last step \d\d:\d\d:\d\d UTC$"))
    set_state(ship, job_id, "blocked", "quality gate failed after 1 attempt(s)")
    expect(page.locator(".badge").first).to_have_text("blocked", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is None  # the page of the new state was loaded


def test_the_jobs_list_stream_says_when_any_job_changes(ship, client, add_job):
    job_id = add_job(state="queued")

    def later() -> None:
        time.sleep(1.5)
        set_state(ship, job_id, "running")

    threading.Thread(target=later, daemon=True).start()
    frames = []
    with client.stream("GET", "/live/jobs") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                frames.append(json.loads(line[len("data: ") :]))
                if len(frames) == 2:
                    break
    # What the list is when the stream starts, then the change.
    assert [(f["jobs"], f["newest"]) for f in frames] == [(1, job_id), (1, job_id)]
    assert frames[1]["updated_at"] > frames[0]["updated_at"]


@pytest.mark.browser
def test_a_running_jobs_page_shows_the_spend_so_far(page, live_server, ship, add_job):
    job_id = add_job(state="running", usage=[("gpt-small", 0.0123)])
    page.goto(f"{live_server}/jobs/{job_id}")
    expect(page.locator("#live-cost")).to_have_text(
        "So far: $0.0123 over 1 model call(s); latest on gpt-small", timeout=10_000
    )
