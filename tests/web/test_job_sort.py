"""Jobs newest or oldest first, in the page, the API and the CLI, with the cursor paging both ways."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from orchestrator.cli.main import app
from tests.web.test_queue_page import job_ids


def _jobs(add_job) -> list[int]:
    """Seven jobs, alternately in repositories alpha and beta, ids ascending."""
    return [add_job(state="queued", repo="alpha" if i % 2 else "beta") for i in range(7)]


def _follow(client, url: str) -> list[list[int]]:
    """The ids of each page, following the page's "next" link to the end."""
    pages = []
    while url:
        html = client.get(url).text
        pages.append(job_ids(html))
        found = re.search(r'href="([^"]+)" id="next-page"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    return pages


def test_jobs_page_sorts_oldest_first_and_pages_both_ways(client, add_job):
    ids = _jobs(add_job)
    assert _follow(client, "/?limit=3&sort=oldest") == [ids[0:3], ids[3:6], ids[6:]]
    assert _follow(client, "/?limit=3") == [ids[::-1][0:3], ids[::-1][3:6], ids[::-1][6:]]
    alpha = [i for n, i in enumerate(ids) if n % 2]
    assert _follow(client, "/?repo=alpha&limit=2&sort=oldest") == [alpha[0:2], alpha[2:]]
    html = client.get("/?sort=oldest&limit=3").text
    assert re.search(
        r'Sort: <a href="/\?limit=3">newest first</a> · '
        r'<a href="/\?sort=oldest&amp;limit=3" class="current" aria-current="true">oldest first</a>',
        html,
    )
    assert ">newer »</a>" in html and '<input type="hidden" name="sort" value="oldest">' in html
    assert job_ids(client.get("/partials/jobs?sort=oldest&limit=2").text.join(['id="job-rows"', ""])) == ids[:2]


def test_api_sorts_oldest_first_with_the_next_cursor(client, add_job):
    ids = _jobs(add_job)
    first = client.get("/api/jobs?sort=oldest&limit=4")
    assert [j["id"] for j in first.json()] == ids[:4]
    rest = client.get(f"/api/jobs?sort=oldest&limit=4&cursor={first.headers['x-next-cursor']}")
    assert [j["id"] for j in rest.json()] == ids[4:] and "x-next-cursor" not in rest.headers
    bad = client.get("/api/jobs?sort=sideways")
    assert bad.status_code == 400 and bad.json()["error"] == "sort: must be one of newest, oldest, got 'sideways'"
    assert "sort: must be one of newest, oldest" in client.get("/?sort=up").text


def test_cli_lists_oldest_first_and_says_how_to_get_the_next_page(ship, add_job, monkeypatch):
    ids = _jobs(add_job)
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))
    runner = CliRunner()
    out = runner.invoke(
        app, ["jobs", "list", "--oldest", "--json", "--limit", "3", "--after", str(ids[2])], catch_exceptions=False
    )
    assert out.exit_code == 0, out.output
    assert [j["id"] for j in json.loads(out.output)] == ids[3:6]
    table = runner.invoke(
        app, ["jobs", "list", "--oldest", "--limit", "3"], catch_exceptions=False, env={"COLUMNS": "200"}
    )
    assert f"more: shipyard jobs list --limit 3 --oldest --after {ids[2]}" in table.output
    mixed = runner.invoke(app, ["jobs", "list", "--oldest", "--before", "5"], env={"COLUMNS": "200"})
    assert mixed.exit_code == 2 and "--before pages newest first, --after pages --oldest first" in " ".join(
        mixed.output.split()
    )
