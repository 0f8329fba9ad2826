"""The diff says which fail-to-pass tests ran each changed line, when the gate could tell."""

from __future__ import annotations

import re

from orchestrator.web.diff_view import diff_files
from tests.web.diff_jobs import job_with_change
from tests.web.store_rows import gate_report

BASE = {"calc.py": "def power(b, e):\n    return 0\n"}
HEAD = {"calc.py": "def power(b, e):\n    if e < 0:\n        raise ValueError(e)\n    return b ** e\n"}
HOSTILE_ID = 'tests/test_calc.py::test_x[<img src=x onerror="alert(1)">]'


def _report() -> dict:
    report = gate_report(True, 100.0)
    calc_lines = {
        "2": ["tests/test_calc.py::test_power", "tests/test_calc.py::test_negative"],
        "3": ["tests/test_calc.py::test_negative"],
        "4": [HOSTILE_ID],
        "x": ["ignored"],
    }
    report["checks"][1]["details"] = {
        "uncovered": {},
        "not_in_report": [],
        "f2p_line_tests": {"calc.py": calc_lines, "other.py": "garbage"},
    }
    return report


def test_each_changed_line_names_the_fail_to_pass_tests_that_ran_it_in_both_views(client, ship, add_job, tmp_path):
    job_id = job_with_change(ship, add_job, tmp_path, BASE, HEAD, gates=[_report()])
    for url in (f"/jobs/{job_id}", f"/jobs/{job_id}?view=split"):
        page = client.get(url).text
        row = re.search(r'<tr[^>]*data-path="calc.py" data-line="2">.*?</tr>', page, re.S).group(0)
        assert (
            '<span class="f2p" title="Fail-to-pass tests that ran this line: tests/test_calc.py::test_power, '
            'tests/test_calc.py::test_negative">⚑ test_power +1</span>'
        ) in row, url
        assert "⚑ test_negative</span>" in re.search(r'data-line="3">.*?</tr>', page, re.S).group(0)
        assert "<img src=x" not in page and "test_x[&lt;img src=x onerror=&#34;alert(1)&#34;&gt;]" in page  # escaped
        assert "⚑ the fail-to-pass tests that ran the line" in page


def test_reports_without_the_links_or_of_any_shape_render_without_them():
    diff = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,0 +1 @@\n+x = 1\n"
    for details in (
        {},
        {"f2p_line_tests": "x"},
        {"f2p_line_tests": {"calc.py": ["1"]}},
        {"f2p_line_tests": {"calc.py": {"1": "t"}}},
    ):
        report = gate_report(True)
        report["checks"][1]["details"] = details
        assert diff_files(diff, report)[0].lines[-1].tests == []
