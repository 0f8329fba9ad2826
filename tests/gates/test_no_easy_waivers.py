"""No easy waivers: an order-dependent regression is not "flaky", and a ticket labelled docs does not
waive the test gates for a change to code."""

from __future__ import annotations

from tests.gates.samples.calc_repo import POWER_PY, _core

SHARED_STATE_CORE = (
    _core()
    + POWER_PY
    + """

SETTINGS = {"scale": 1}


def scaled(x):
    return x * SETTINGS["scale"]
"""
)

ORDER_DEPENDENT_TESTS = """from calc.core import SETTINGS, power, scaled


def test_power_scaled():
    SETTINGS["scale"] = 2  # changes shared state and never puts it back
    assert scaled(power(2, 3)) == 16


def test_scaled_default():
    assert scaled(5) == 5
"""


def test_a_test_failing_only_after_another_test_is_a_failure_not_flaky(calc):
    """``test_scaled_default`` passes alone (it used to be waived as flaky) but fails after
    ``test_power_scaled``, as in the suite: rerun in the suite's order, it fails again."""
    report = calc.gate({"calc/core.py": SHARED_STATE_CORE, "tests/test_scaled.py": ORDER_DEPENDENT_TESTS})

    assert not report.passed
    assert report.flaky_tests == []
    regressions = report.check("no_regressions")
    assert regressions.reason == "1 new test(s) fail: tests/test_scaled.py::test_scaled_default", regressions.reason
    assert any("in the suite's order" in message for _, message in calc.events), calc.events


CROSS_FILE_TESTS = {
    "tests/test_a_scale.py": """from calc.core import SETTINGS, power, scaled


def test_power_scaled():
    SETTINGS["scale"] = 2
    assert scaled(power(2, 3)) == 16
""",
    "tests/test_b_default.py": """from calc.core import scaled


def test_scaled_default():
    assert scaled(5) == 5
""",
}


def test_an_order_dependence_across_files_is_a_failure_not_flaky(calc):
    report = calc.gate({"calc/core.py": SHARED_STATE_CORE, **CROSS_FILE_TESTS})

    assert not report.passed
    assert report.flaky_tests == []
    assert report.check("no_regressions").reason == "1 new test(s) fail: tests/test_b_default.py::test_scaled_default"


def test_a_docs_ticket_that_edits_python_source_gets_no_waiver(calc):
    core = _core().replace('"division by zero"', '"cannot divide by zero"')
    report = calc.gate({"calc/core.py": core, "README.md": "# calc\n\nDivision by zero raises.\n"}, kind="docs")

    assert not report.passed
    tests_added = report.check("tests_added")
    assert not tests_added.waived and not tests_added.passed
    assert tests_added.reason.endswith(
        "not waived although the ticket is labelled docs: the change touches executable source (calc/core.py)"
    )


def test_a_docs_ticket_that_edits_only_docs_is_waived(calc):
    report = calc.gate({"README.md": "# calc\n\nA tiny arithmetic library.\n"}, kind="docs")

    assert report.passed, report.failed_reasons()
    assert report.check("tests_added").waived
    assert "touches no executable source" in report.check("tests_added").reason
