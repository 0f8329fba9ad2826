"""Diff lines coloured by language on the server, escaped, under the page's strict CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.diff_jobs import job_with_change
from tests.web.store_rows import gate_report

BASE = {"app.py": "def parse(x):\n    return 1\n", "page.html": "<p>hello</p>\n"}
HOSTILE = {
    "app.py": 'def parse(x):\n    """<script>window.__pwned = 1</script>"""\n    return 2\n',
    "page.html": '<p>hello</p>\n<script>window.__pwned = 2</script>\n<img src=x onerror="window.__pwned = 3">\n',
}
WS = r'(?:<span class="w">)?\s*(?:</span>)?'
"""Leading whitespace, as a token of its own or not (lexers differ)."""


def _hostile_job(ship, add_job, tmp_path) -> int:
    report = gate_report(False, 50.0)
    report["checks"][1]["details"] = {"uncovered": {"app.py": ["3"]}, "not_in_report": []}
    return job_with_change(ship, add_job, tmp_path, BASE, HOSTILE, gates=[report])


def test_diff_lines_are_highlighted_with_numbers_signs_and_coverage_kept(client, ship, add_job, tmp_path):
    job_id = _hostile_job(ship, add_job, tmp_path)
    page = client.get(f"/jobs/{job_id}").text
    # The removed line, coloured as Python, with its old line number and the − sign.
    assert re.search(
        r'<tr class="del"><td class="ln">2</td><td class="ln"></td>\s*<td class="mark" ></td>\s*'
        r'<td class="code"><code>−' + WS + r'<span class="k">return</span>',
        page,
    )
    # The added line 3 keeps its new line number, its + sign and the gate's "uncovered" mark.
    assert re.search(
        r'<tr class="add cov-uncovered" data-path="app.py" data-line="3">.*?<td class="ln">3</td>\s*'
        r'<td class="mark" title="uncovered">✗ uncovered</td>\s*<td class="code"><code>\+'
        + WS
        + r'<span class="k">return</span>',
        page,
    )
    # Hostile text in the diff is text: escaped inside the token spans, never markup.
    assert (
        '<span class="sd">&#34;&#34;&#34;&lt;script&gt;window.__pwned = 1&lt;/script&gt;&#34;&#34;&#34;</span>' in page
    )
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert '&lt;</span><span class="nt">script</span>' in page  # the HTML file is lexed as HTML


def test_token_colours_come_from_the_pages_nonced_style_in_light_and_dark(client, ship, add_job, tmp_path):
    job_id = _hostile_job(ship, add_job, tmp_path)
    response = client.get(f"/jobs/{job_id}")
    nonce = re.search(r"style-src 'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    style = re.search(rf'<style nonce="{re.escape(nonce)}">(.*?)</style>', response.text, re.S).group(1)
    assert re.search(r"\.diff-table \.code \.k \{ color: #[0-9A-Fa-f]{6}; font-weight: bold \}", style)
    dark = style[style.index("@media (prefers-color-scheme: dark) {\n  .diff-table .code") :]
    assert re.search(r"\.diff-table \.code \.k \{ color: #[0-9A-Fa-f]{6}", dark)
    assert ' style="' not in response.text  # no inline style attribute the CSP would refuse


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chromium_colours_keywords_and_runs_nothing_from_the_diff(page, live_server, ship, add_job, tmp_path, scheme):
    job_id = _hostile_job(ship, add_job, tmp_path)
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{live_server}/jobs/{job_id}")
    keyword = page.locator('tr.add[data-path="app.py"][data-line="3"] .code .k')
    expect(keyword).to_have_text("return")
    colour = keyword.evaluate("e => getComputedStyle(e).color")
    plain = page.locator('tr.add[data-path="app.py"][data-line="3"] .code code').evaluate(
        "e => getComputedStyle(e).color"
    )
    assert colour != plain, f"the keyword is not coloured ({scheme}): the token styles did not apply"
    expect(page.locator('tr[data-path="page.html"][data-line="2"] .code')).to_contain_text(
        "<script>window.__pwned = 2</script>"
    )
    assert page.evaluate("window.__pwned") is None


def test_pages_without_a_diff_do_not_carry_the_token_colours(client, add_job):
    add_job(state="queued")
    assert ".diff-table .code .k" not in client.get("/").text  # the jobs page stays light


def test_a_huge_diff_is_shown_plain_once_the_pages_lexing_budget_is_spent():
    import time

    from orchestrator.web.diff_view import diff_files
    from orchestrator.web.syntax import PAGE_BUDGET_S

    # Twelve files just under the per-file size limit: far more than one page's lexing budget.
    body = "".join(f"+def f{i}(x):\n+    return x * {i}\n" for i in range(3_500))
    diff = "".join(
        f"diff --git a/m{n}.py b/m{n}.py\n--- a/m{n}.py\n+++ b/m{n}.py\n@@ -0,0 +1,7000 @@\n{body}" for n in range(12)
    )
    diff += "diff --git a/small.py b/small.py\n--- a/small.py\n+++ b/small.py\n@@ -0,0 +1 @@\n+x = 1\n"
    # The work it took, in this thread's CPU time: on a busy host (a parallel run) the wall clock
    # also counts the time other processes had the CPU.
    started = time.thread_time()
    files = diff_files(diff)
    elapsed = time.thread_time() - started
    assert elapsed < PAGE_BUDGET_S + 4, f"{elapsed:.1f} s of CPU to render an 84,000-line diff"
    assert files[-2].lines[1].html is None and files[-2].lines[1].text == "def f0(x):"  # plain text, all of it
    assert files[-1].lines[1].html is None  # the budget is the page's, not each file's
