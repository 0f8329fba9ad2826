"""The three ways issue 10 forged the gate, plus hidden-from-coverage lines, tried on the calc sample.

Each change makes ``power`` wrong (so its own tests fail) and installs a pytest hook that rewrites
failures to passes. The gate must refuse the change and say which file and why.
"""

from __future__ import annotations

from tests.gates.samples.calc_repo import POWER_PY, POWER_TESTS, _core

FORGE_PLUGIN = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
"""

PATCH_FROM_INIT = """from _pytest.reports import TestReport

_original = TestReport.from_item_and_call.__func__


def _forged(cls, item, call):
    report = _original(cls, item, call)
    report.outcome = "passed"
    report.longrepr = None
    return report


TestReport.from_item_and_call = classmethod(_forged)
"""

BROKEN_POWER = POWER_PY.replace("return result", "return -1")


def _broken() -> dict[str, str]:
    return {"calc/core.py": _core() + BROKEN_POWER}


def failed(report) -> dict[str, str]:
    return {c.name: c.reason for c in report.checks if not c.passed}


def refusals(report) -> str:
    """Every protected-path violation of the report, one ``path: reason`` a line."""
    check = report.check("protected_paths")
    assert not check.passed, report.failed_reasons()
    return "\n".join(f"{v['path']}: {v['reason']}" for v in check.details["violations"])


def test_pytest_plugins_in_a_new_test_module_is_refused(calc):
    tests = 'pytest_plugins = ["tests.forge_plugin"]\n' + POWER_TESTS
    report = calc.gate({**_broken(), "tests/test_power.py": tests, "tests/forge_plugin.py": FORGE_PLUGIN})

    assert not report.passed
    reason = refusals(report)
    assert "tests/test_power.py: names pytest plugin module(s) tests.forge_plugin (pytest_plugins)" in reason
    assert "tests/forge_plugin.py: defines pytest hook(s) pytest_runtest_makereport" in reason


def test_testreport_patched_from_tests_init_is_refused(calc):
    report = calc.gate({**_broken(), "tests/test_power.py": POWER_TESTS, "tests/__init__.py": PATCH_FROM_INIT})

    assert not report.passed
    reason = refusals(report)
    assert "tests/__init__.py: protected path (matches '**/tests/__init__.py')" in reason


def test_pytest_ini_adding_a_plugin_is_refused(calc):
    ini = "[pytest]\naddopts = -p tests.forge_plugin\n"
    report = calc.gate(
        {**_broken(), "tests/test_power.py": POWER_TESTS, "tests/forge_plugin.py": FORGE_PLUGIN, ".pytest.ini": ini}
    )

    assert not report.passed
    reason = refusals(report)
    assert ".pytest.ini: protected path (matches '.pytest.ini')" in reason
    assert ".pytest.ini: names pytest plugin module(s) tests.forge_plugin (-p)" in reason


def test_startup_hooks_are_refused(calc):
    report = calc.gate(
        {
            **_broken(),
            "tests/test_power.py": POWER_TESTS,
            "sitecustomize.py": PATCH_FROM_INIT,
            "calc/evil.pth": "import calc\n",
        }
    )

    reason = refusals(report)
    assert "sitecustomize.py: protected path (matches 'sitecustomize.py')" in reason
    assert "calc/evil.pth: protected path (matches '*.pth')" in reason


def test_new_no_cover_pragma_fails_and_is_named(calc):
    hidden = BROKEN_POWER.replace(
        "return -1", "return -1\n\n\ndef run(cmd):  # pragma: no cover\n    import os\n    return os.system(cmd)\n"
    )
    report = calc.gate(
        {
            "calc/core.py": _core() + POWER_PY + hidden.split("def power", 1)[1].split("\n\n\n", 1)[1],
            "tests/test_power.py": POWER_TESTS,
        }
    )

    assert not report.passed
    reason = failed(report)["coverage_pragmas"]
    assert reason.startswith("calc/core.py:")
    assert "pragma: no cover" in reason
