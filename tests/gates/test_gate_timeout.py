"""A candidate's suite runs under a limit derived from the baseline run, not a flat 900 s."""

from __future__ import annotations

import math
import re

from tests.gates.samples import change_good_feature
from tests.gates.test_bad_input import HANGING_TEST


def test_a_hanging_suite_is_stopped_at_the_limit_derived_from_the_baseline(calc):
    config = calc.config(gates__timeout={"factor": 3, "margin_s": 5, "floor_s": 5})
    calc.gate(change_good_feature(), config=config)  # the baseline is run (or read from the cache)

    report = calc.gate({**change_good_feature(), "tests/test_hang.py": HANGING_TEST}, config=config)

    assert not report.passed
    reason = report.check("no_regressions").reason
    match = re.fullmatch(
        r"candidate suite: test command timed out after (\d+)s "
        r"\(3 × baseline ([\d.]+)s \+ 5s\) and was killed",
        reason,
    )
    assert match, reason
    limit, baseline = int(match.group(1)), float(match.group(2))
    # The limit is ceil(3 × baseline + 5 s); the reason shows the baseline to a tenth of a second.
    assert math.ceil(3 * (baseline - 0.05) + 5) <= limit <= math.ceil(3 * (baseline + 0.05) + 5), reason
    assert limit < 40, reason
    assert report.test_timeout_s == limit
    assert f"Test run limit: {limit}s (3 × baseline {baseline:.1f}s + 5s)." in report.to_markdown()
    assert f"Test run limit: {limit}s (3 × baseline {baseline:.1f}s + 5s)." in report.to_html()
    assert report.duration_s < 90  # the ceiling (test.timeout_s: 120 in the sample) is never reached


def test_without_a_known_baseline_duration_the_ceiling_applies_and_is_said(calc):
    report = calc.gate(change_good_feature(), config=calc.config(test__timeout_s=119))

    assert report.passed, report.failed_reasons()
    assert report.test_timeout_s == 119
    assert report.test_timeout_basis == "test.timeout_s; the baseline's duration is not known yet"
