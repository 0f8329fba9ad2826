"""The pages at a phone's width (420 px) and in dark mode: nothing pushes the page sideways, the code of
a diff stays on screen beside long fail-to-pass test names, and the selected range on /outcomes reads."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.web.diff_jobs import job_with_change
from tests.web.logins import log_in_page
from tests.web.store_rows import gate_report

LONG_TEST = "tests/test_calc.py::test_power_raises_value_error_for_every_negative_exponent_given_as_an_int_or_float"
BASE = {"calc.py": "def power(b, e):\n    return 0\n"}
HEAD = {"calc.py": "def power(b, e):\n    if e < 0:\n        raise ValueError(e)\n    return b ** e\n"}


def job_with_long_test_names(ship, add_job, tmp_path) -> int:
    report = gate_report(False, 50.0)
    report["checks"][1]["details"] = {
        "uncovered": {"calc.py": ["3"]},
        "not_in_report": [],
        "f2p_line_tests": {"calc.py": {"2": [LONG_TEST, LONG_TEST + "2"], "4": [LONG_TEST]}},
    }
    return job_with_change(ship, add_job, tmp_path, BASE, HEAD, gates=[report], title="x" * 40 + " " + "y" * 60)


def overflow(page: Page) -> int:
    """How far the page itself scrolls sideways (a scrolling table inside it does not count)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def widest(page: Page) -> list[str]:
    """The outermost elements that reach past the viewport (tag.class and right edge), for the message."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll("body *")).filter((e) => {
             if (e.getBoundingClientRect().right <= window.innerWidth + 1) { return false; }
             for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
               if (getComputedStyle(p).overflowX !== "visible") { return false; }
               if (p.getBoundingClientRect().right > window.innerWidth + 1) { return false; }
             }
             return true; }).slice(0, 4).map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." +
             e.className + " " + Math.round(e.getBoundingClientRect().right))"""
    )


def contrast(page: Page, selector: str) -> float:
    return page.evaluate(
        """(sel) => {
          const el = document.querySelector(sel);
          const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
          const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
            Math.pow((v + 0.055) / 1.055, 2.4); }).reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
          let bg = el, back = "rgba(0, 0, 0, 0)";
          while (bg && (back = getComputedStyle(bg).backgroundColor) === "rgba(0, 0, 0, 0)") { bg = bg.parentElement; }
          const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(back));
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""",
        selector,
    )


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_420_px_and_the_code_stays_beside_the_test_names(
    browser, live_server, ship, add_job, tmp_path, scheme
):
    job_id = job_with_long_test_names(ship, add_job, tmp_path)
    add_job(state="awaiting_review", title="z" * 90, pr_state="open")
    context = browser.new_context(viewport={"width": 420, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        log_in_page(page, live_server, ship)
        problems = []
        for path in ("/", "/reviews", f"/jobs/{job_id}", f"/jobs/{job_id}?view=split", "/outcomes?days=30",
                     "/workers"):  # fmt: skip
            page.goto(f"{live_server}{path}")
            if overflow(page) > 1:
                problems.append(f"{path}: the page is {overflow(page)} px too wide, widest: {widest(page)}")
        for view in ("unified", "split"):
            page.goto(f"{live_server}/jobs/{job_id}?view={view}")
            code = page.locator('tr[data-line="3"] td.code').last.bounding_box()
            if code is None or code["x"] > 420 - 80:
                problems.append(f"{view} diff: the changed code starts off screen: {code}")
        page.goto(f"{live_server}/outcomes?days=30")
        ratio = contrast(page, ".filters a.current")
        if ratio < 4.5:
            problems.append(f"the selected range on /outcomes reads at {ratio:.1f}:1")
        assert not problems, f"at 420 px in {scheme} mode:\n" + "\n".join(problems)
    finally:
        context.close()
