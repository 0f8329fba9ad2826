"""The gates are language-agnostic: a Node project (``node --test``, JUnit + LCOV, selection by file)."""

from __future__ import annotations

from tests.gates.samples import change_node_good_feature, change_node_vacuous_test


def test_node_feature_with_a_real_test_passes(node_strings):
    report = node_strings.gate(change_node_good_feature())

    assert report.passed, report.failed_reasons()
    assert report.diff_coverage == 100.0
    assert "test::slugify joins words with dashes" in report.check("fail_to_pass").reason
    assert any("running the new/changed test files on the candidate" in m for _, m in node_strings.events)


def test_node_test_that_does_not_test_the_change_fails(node_strings):
    report = node_strings.gate(change_node_vacuous_test())

    reasons = {c.name: c.reason for c in report.checks if not c.passed}
    assert "already passes on the base code, so none tests the change" in reasons["fail_to_pass"]
    assert "below the target 90%: uncovered src/strings.js lines 16-22" in reasons["diff_coverage"]
