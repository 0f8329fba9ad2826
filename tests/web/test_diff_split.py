"""The diff side by side (``?view=split``): old and new per file, coverage marks on the new side."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orchestrator.web.diff_view import diff_files
from tests.web.diff_jobs import job_with_change
from tests.web.store_rows import gate_report
from tests.web.test_review_workspace import DIFF

BASE = {"src/app.py": "def parse(x):\n    return 1\n\n\ndef keep():\n    pass\n"}
HEAD = {
    "src/app.py": "def parse(x):\n    if x is None:\n        return 0\n    return 2\n\n\ndef keep():\n    pass\n",
    "README.md": "# demo\n",
}


def _job(ship, add_job, tmp_path) -> int:
    report = gate_report(False, 50.0)
    report["checks"][1]["details"] = {"uncovered": {"src/app.py": ["3"]}, "not_in_report": []}
    return job_with_change(ship, add_job, tmp_path, BASE, HEAD, gates=[report])


def test_removed_lines_face_the_lines_added_in_their_place():
    app = diff_files(DIFF)[0]
    rows = [
        (o.kind if o else None, o.old if o else None, n.kind if n else None, n.new if n else None)
        for o, n in app.side_by_side
    ]
    assert rows == [
        ("hunk", None, "hunk", None),
        ("ctx", 1, "ctx", 1),
        ("del", 2, "add", 2),
        (None, None, "add", 3),
        (None, None, "add", 4),
    ]


def test_split_view_shows_old_and_new_side_by_side_with_coverage_on_the_new_side(client, ship, add_job, tmp_path):
    job_id = _job(ship, add_job, tmp_path)
    page = client.get(f"/jobs/{job_id}?view=split").text
    assert re.search(
        r'View: <a href="/jobs/\d+\?view=unified#diff">unified</a> · '
        r'<a href="/jobs/\d+\?view=split#diff" class="current" aria-current="page">split</a>',
        page,
    )
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page[page.index('<div id="diff" class="diff-split">') :], re.S)
    text = [re.sub(r"<[^>]+>", "", r.replace("</td>", " </td>")).split() for r in rows]
    # Old line 2 (return 1) faces new line 2; new line 3 is uncovered, marked on the new side.
    assert ["2", "−", "return", "1", "+", "2", "✓", "+", "if", "x", "is", "None:"] == [
        t for t in text if t[:1] == ["2"]
    ][0]
    uncovered = next(r for r in rows if 'data-line="3"' in r and 'data-path="src/app.py"' in r)
    assert (
        'class="cov-uncovered"' in uncovered
        and '<td class="mark side-add" title="uncovered">✗ uncovered</td>' in uncovered
    )
    assert '<td class="ln empty"></td><td class="code empty"></td>' in uncovered  # nothing old faces it
    assert ["+", "1", "+#", "demo"] in text  # a new file: the new side only
    unified = client.get(f"/jobs/{job_id}").text
    assert 'class="diff-split"' not in unified and 'class="current" aria-current="page">unified</a>' in unified


def test_an_unknown_view_is_refused_naming_the_choices(client, ship, add_job, tmp_path):
    job_id = _job(ship, add_job, tmp_path)
    response = client.get(f"/jobs/{job_id}?view=sideways")
    assert response.status_code == 400
    assert "view: must be one of unified, split, got &#39;sideways&#39;" in response.text


@pytest.mark.browser
def test_reviewer_switches_to_split_and_comments_on_a_new_line(page, live_server, ship, add_job, tmp_path):
    job_id = _job(ship, add_job, tmp_path)
    page.goto(f"{live_server}/jobs/{job_id}")
    page.click("#view-switch >> text=split")
    row = page.locator('tr[data-path="src/app.py"][data-line="2"]')
    old, new = row.locator("td.code").nth(0), row.locator("td.code").nth(1)
    expect(old).to_contain_text("return 1")
    expect(new).to_contain_text("if x is None:")
    assert old.bounding_box()["x"] < new.bounding_box()["x"], "old and new must sit side by side"
    row.locator("button.line-comment").click()
    page.fill('input[name="line_body"]', "None should raise")
    page.fill("#comment", "see the line comment")
    page.click("#request-changes")
    expect(page.locator("#pending-decision")).to_contain_text("src/app.py:2 — None should raise")
