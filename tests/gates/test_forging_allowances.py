"""What a repository may allow in ``.shipyard.yml`` after issue 10's forging defences, and what it may not.

``gates.allow_paths`` opens named paths (a human reviews them); ``gates.allow_coverage_pragmas``
lets added pragmas through but still lists them. Everything else stays refused.
"""

from __future__ import annotations

from tests.gates.conftest import protected_violation
from tests.gates.samples.calc_repo import POWER_TESTS
from tests.gates.test_forging import PATCH_FROM_INIT, _broken, failed


def test_init_module_in_a_nested_test_directory_is_refused(calc):
    report = calc.gate(
        {**_broken(), "tests/unit/test_power.py": POWER_TESTS, "tests/unit/__init__.py": PATCH_FROM_INIT}
    )

    assert not report.passed
    violations = report.check("protected_paths").details["violations"]
    assert protected_violation("tests/unit/__init__.py", "**/tests/**/__init__.py") in violations


def test_allow_paths_opens_a_named_path_only(calc):
    config = calc.config(gates__allow_paths=["tests/__init__.py", ".shipyard.yml"])
    report = calc.gate(
        {
            "tests/__init__.py": '"""Test package."""\n',
            "tests/test_power.py": POWER_TESTS,
            ".shipyard.yml": "gates:\n  require_tests: false\n",
        },
        config=config,
    )

    violations = report.check("protected_paths").details["violations"]
    paths = {v["path"] for v in violations}
    assert "tests/__init__.py" not in paths
    assert ".shipyard.yml" in paths, "allow_paths must never open .shipyard.yml"


def test_allowed_path_still_may_not_skip_an_existing_test(calc):
    config = calc.config(gates__allow_paths=["tests/**"])
    original = (calc.path / "tests").glob("test_*.py")
    path = sorted(original)[0]
    text = path.read_text()
    skipped = text.replace("def test_", "@pytest.mark.skip\ndef test_", 1)
    if "import pytest" not in skipped:
        skipped = "import pytest\n" + skipped
    rel = str(path.relative_to(calc.path))
    report = calc.gate({rel: skipped}, config=config)

    assert any(
        "skip" in v["reason"] and v["path"] == rel for v in report.check("protected_paths").details["violations"]
    ), report.failed_reasons()


def test_allowed_coverage_pragmas_pass_but_are_listed(calc):
    code = "\n\ndef shout(text):  # pragma: no cover\n    return text.upper()\n"
    core = (calc.path / "calc" / "core.py").read_text() + code
    report = calc.gate(
        {"calc/core.py": core, "tests/test_power.py": POWER_TESTS},
        config=calc.config(gates__allow_coverage_pragmas=True, gates__require_tests=False),
    )

    check = report.check("coverage_pragmas")
    assert check.passed, check.reason
    assert "allowed by gates.allow_coverage_pragmas" in check.reason
    assert check.details["pragmas"][0]["path"] == "calc/core.py"
    assert "coverage_pragmas" not in failed(report)


def test_hook_rewriting_outcomes_in_an_allowed_path_is_caught_as_tampering(calc):
    """Even when a human allowed the plugin's path, the gate's own record exposes the rewrite."""
    from tests.gates.test_forging import FORGE_PLUGIN

    tests = 'pytest_plugins = ["tests.forge_plugin"]\n' + POWER_TESTS
    config = calc.config(gates__allow_paths=["tests/**"])
    report = calc.gate(
        {**_broken(), "tests/test_power.py": tests, "tests/forge_plugin.py": FORGE_PLUGIN}, config=config
    )

    assert not report.passed
    assert report.check("protected_paths").passed, report.check("protected_paths").reason
    reasons = "\n".join(report.failed_reasons())
    assert "tampering with the test evidence" in reasons, reasons
    assert "tests.test_power::test_" in reasons, reasons


def test_testreport_patched_in_an_allowed_init_is_caught_as_tampering(calc):
    config = calc.config(gates__allow_paths=["tests/**"])
    report = calc.gate(
        {**_broken(), "tests/test_power.py": POWER_TESTS, "tests/__init__.py": PATCH_FROM_INIT}, config=config
    )

    assert not report.passed
    reasons = "\n".join(report.failed_reasons())
    assert "tampering with the test evidence" in reasons, reasons
