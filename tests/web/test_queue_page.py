"""The queue overview at the top of `/`, pagination and filters on the jobs page, and 420 px."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.web.store_rows import set_state


def job_ids(html: str) -> list[int]:
    body = html[html.index('id="job-rows"') :]
    return [int(n) for n in re.findall(r'<tr data-job="(\d+)"', body)]


def test_overview_counts_waits_running_step_and_throughput(client, ship, add_job):
    add_job(state="queued", created_at=datetime.now(UTC) - timedelta(minutes=42))
    add_job(state="queued")
    running = add_job(state="running", title="Parser crash", events=[("tool", "run_tests: 3 passed")])
    add_job(state="merged")
    add_job(state="blocked")

    html = client.get("/").text
    overview = html[html.index('id="queue-overview"') : html.index("<h1>")]
    assert re.search(r'data-state-count="queued">2<', overview)
    assert re.search(r'data-state-count="running">1<', overview)
    assert "42m" in overview[overview.index('id="oldest-queued"') :][:200]
    running_now = overview[overview.index('id="running-now"') :]
    assert (
        f'href="/jobs/{running}"' in running_now
        and "Parser crash" in running_now
        and "tool: run_tests: 3 passed" in running_now
    )
    assert "<strong>2</strong> last 24 h" in overview  # merged and blocked finished 3 minutes after creation
    assert '<svg class="chart"' in overview and "Jobs finished per hour" in overview


def test_jobs_page_pages_with_a_cursor_and_filters_by_repository(client, add_job):
    ids = [add_job(state="queued", repo="alpha" if i % 2 else "beta") for i in range(7)]
    first = client.get("/?limit=3").text
    assert job_ids(first) == ids[::-1][:3]
    next_url = re.search(r'id="next-page" rel="next"', first) and re.search(
        r'href="([^"]+)" id="next-page"', first
    ).group(1)
    second = client.get(next_url.replace("&amp;", "&")).text
    assert job_ids(second) == ids[::-1][3:6]
    assert 'id="first-page"' in second

    alpha = client.get("/?repo=alpha&limit=50").text
    assert job_ids(alpha) == [i for i in ids[::-1] if ids.index(i) % 2]
    assert job_ids(client.get("/partials/jobs?repo=beta").text.join(['id="job-rows"', ""])) == [
        i for i in ids[::-1] if not ids.index(i) % 2
    ]


def test_bad_paging_values_are_refused_with_the_reason(client):
    assert "cursor: must be a whole number, got &#39;x&#39;" in client.get("/?cursor=x").text
    response = client.get("/?limit=0")
    assert response.status_code == 400 and "limit: must be between 1 and 500, got 0" in response.text
    assert "unknown job state &#39;bogus&#39;" in client.get("/?state=bogus").text


def test_a_state_change_moves_the_counts(client, ship, add_job):
    job_id = add_job(state="queued")
    set_state(ship, job_id, "running", "")
    assert re.search(r'data-state-count="running">1<', client.get("/").text)
