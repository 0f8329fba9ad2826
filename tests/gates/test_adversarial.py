"""Each way around the gates, tried on the calc sample: the gate fails and says why.

One honest change passes (h); every other candidate is blocked with a reason a reviewer
(and the agent's next attempt) can act on.
"""

from __future__ import annotations

from tests.gates import samples
from tests.gates.samples.calc_repo import POWER_PY, POWER_TESTS, _core


def failed(report) -> dict[str, str]:
    return {c.name: c.reason for c in report.checks if not c.passed}


def test_good_change_with_real_tests_passes(calc):
    report = calc.gate(samples.change_good_feature())

    assert report.passed, report.failed_reasons()
    assert report.diff_coverage == 100.0
    assert report.total_coverage_candidate >= report.total_coverage_base
    f2p = report.check("fail_to_pass")
    assert "fail on the base code" in f2p.reason and "tests/test_power.py" in f2p.reason
    assert "Quality gates: ✅ passed" in report.to_markdown()
    assert report.summary_for_agent() == "All quality gates passed."
    assert any("candidate: 10 tests, 0 failing" in m for _, m in calc.events)


def test_no_tests_added_fails(calc):
    report = calc.gate(samples.change_without_tests())

    assert not report.passed
    assert failed(report)["tests_added"].startswith("the change adds or changes no test file")
    assert "below the target 90%" in failed(report)["diff_coverage"]
    assert "calc/core.py" in report.summary_for_agent()


def test_tests_that_already_pass_on_base_fail_fail_to_pass(calc):
    report = calc.gate(samples.change_with_vacuous_tests())

    reason = failed(report)["fail_to_pass"]
    assert "already passes on the base code, so none tests the change" in reason
    assert "tests/test_power.py::test_nothing" in reason
    assert "tests_added" not in failed(report)


def test_deleting_an_existing_failing_test_is_caught(calc_with_bug):
    report = calc_with_bug.gate(samples.change_deleting_failing_test())

    reasons = failed(report)
    assert reasons["protected_paths"].startswith("tests/test_clamp.py: existing test file deleted")
    assert (
        "existing test(s) no longer run (deleted or renamed): tests/test_clamp.py::test_clamp_above"
        in reasons["no_regressions"]
    )


def test_bug_fix_with_a_test_in_an_existing_file_passes_despite_an_unrelated_failing_test(calc_with_bug):
    report = calc_with_bug.gate(samples.change_fixing_known_bug())

    assert report.passed, report.failed_reasons()
    assert "tests/test_core.py::test_clamp_above_range" in report.check("fail_to_pass").reason
    # the known bug's own test now passes too; nothing pre-existing is left failing
    assert report.check("no_regressions").details["pre_existing_failures"] == []


def test_skip_marker_added_to_an_existing_test_fails(calc):
    report = calc.gate(samples.change_skipping_existing_test())

    reasons = failed(report)
    assert reasons["protected_paths"].startswith(
        "tests/test_core.py: pytest skip/xfail marker added to an existing test file"
    )
    assert "test(s) that pass on base are now skipped: tests/test_core.py::test_sub" in reasons["no_regressions"]


def test_coverage_configuration_edit_fails(calc):
    report = calc.gate(samples.change_omitting_coverage())

    assert failed(report)["protected_paths"] == "pyproject.toml: test/coverage configuration changed: [tool.coverage]"


def test_ci_configuration_change_fails(calc):
    report = calc.gate(samples.change_touching_ci())

    assert failed(report) == {"protected_paths": ".github/workflows/ci.yml: protected path (matches '.github/**')"}


def test_breaking_an_unrelated_test_fails_with_its_traceback(calc):
    report = calc.gate(samples.change_breaking_unrelated_test())

    assert failed(report)["no_regressions"] == "1 test(s) that pass on base fail: tests/test_core.py::test_mul"
    summary = report.summary_for_agent()
    assert "FAILED tests/test_core.py::test_mul" in summary and "assert 13 == 12" in summary


FLAKY_TEST = """from pathlib import Path


def test_sometimes():
    marker = Path(".flaky-marker")
    first_run = not marker.exists()
    marker.write_text("ran")
    assert not first_run, "fails on the first run only"
"""


def test_flaky_test_is_rerun_and_reported_not_silently_green(calc):
    report = calc.gate({**samples.change_good_feature(), "tests/test_flaky.py": FLAKY_TEST})

    assert report.passed, report.failed_reasons()
    assert report.flaky_tests == ["tests/test_flaky.py::test_sometimes"]
    assert "1 flaky: tests/test_flaky.py::test_sometimes" in report.check("no_regressions").reason
    assert "Flaky tests" in report.to_markdown() and "Flaky tests" in report.to_html()


def test_docs_ticket_waives_the_test_gates(calc):
    report = calc.gate({"README.md": "# calc\n\nA tiny arithmetic library.\n"}, kind="docs")

    assert report.passed, report.failed_reasons()
    assert report.check("tests_added").waived and report.check("fail_to_pass").waived
    assert report.check("diff_coverage").reason == "no executable source line changed"


def test_failing_extra_gate_fails_with_its_output(calc):
    config = calc.config(gates__extra=[{"name": "lint", "command": "echo 'E501 line too long' && exit 3"}])
    report = calc.gate(samples.change_good_feature(), config=config)

    assert failed(report) == {"extra:lint": "`echo 'E501 line too long' && exit 3` exited with status 3"}
    assert "E501 line too long" in report.summary_for_agent()


def test_tests_only_change_on_a_feature_ticket_fails_fail_to_pass(calc):
    report = calc.gate(
        {"tests/test_more.py": "from calc.core import add\n\n\ndef test_add_more():\n    assert add(2, 2) == 4\n"}
    )

    assert failed(report) == {
        "fail_to_pass": "the change touches only test files, so no test can fail on the base code; "
        "a bug or feature change must change the code its tests check"
    }


def test_a_test_skipped_on_this_platform_beside_real_tests_does_not_block_the_change(calc):
    skipped = '\n\n@pytest.mark.skip(reason="needs a GPU")\ndef test_power_on_a_gpu():\n    assert power(2, 2) == 4\n'
    report = calc.gate({"calc/core.py": _core() + POWER_PY, "tests/test_power.py": POWER_TESTS + skipped})

    f2p = report.check("fail_to_pass")
    assert f2p.passed, f2p.reason  # (on this tiny library the skipped body's line moves total coverage)
    assert "all 3 pass on the candidate (1 skipped on the candidate, which prove nothing)" in f2p.reason


def test_a_test_that_fails_on_base_and_skips_itself_on_the_candidate_proves_nothing(calc):
    # The only test that fails on the base code is skipped once the change is in; the one that runs
    # passed on the base code already.
    tests = (
        "import pytest\n\nimport calc.core as core\n\n\n"
        '@pytest.mark.skipif(hasattr(core, "power"), reason="power is there")\n'
        "def test_power_is_there():\n    assert hasattr(core, 'power')\n\n\n"
        "def test_add():\n    assert core.add(1, 1) == 2\n"
    )
    report = calc.gate({"calc/core.py": _core() + POWER_PY, "tests/test_power.py": tests})

    reason = failed(report)["fail_to_pass"]
    assert "tests/test_power.py::test_power_is_there) are skipped on the candidate" in reason, reason
    assert "none tests the change" in reason
