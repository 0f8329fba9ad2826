"""The gate's evidence plugin cannot be replaced or bypassed from the repository, and installed
plugins do not load in gate runs unless ``gates.pytest_plugins`` names them."""

from __future__ import annotations

from tests.gates.conftest import protected_violation
from tests.gates.samples.calc_repo import POWER_TESTS
from tests.gates.test_forging import PATCH_FROM_INIT, _broken

NOOP_RUNTEST = """import _pytest.python

# Imported as an installed plugin: every test "passes" without running its body.
_pytest.python.Function.runtest = lambda self: None
"""

ENTRY_POINTS = "[pytest11]\nforge = forge_noop\n"
METADATA = "Metadata-Version: 2.1\nName: forge\nVersion: 1.0\n"


def test_an_entry_point_plugin_committed_to_the_repository_does_not_autoload(calc):
    report = calc.gate(
        {
            **_broken(),
            "tests/test_power.py": POWER_TESTS,
            "forge_noop.py": NOOP_RUNTEST,
            "forge-1.0.dist-info/METADATA": METADATA,
            "forge-1.0.dist-info/entry_points.txt": ENTRY_POINTS,
        }
    )

    assert not report.passed
    f2p = report.check("fail_to_pass")
    assert "do not pass on the candidate" in f2p.reason and "tests/test_power.py::test_power" in f2p.reason, f2p.reason
    violations = report.check("protected_paths").details["violations"]
    assert protected_violation("forge-1.0.dist-info/entry_points.txt", "**/*.dist-info/**") in violations


def test_a_repository_module_cannot_stand_in_for_the_evidence_plugin(calc):
    """``python -m pytest`` puts the workspace first on sys.path: a module there named like the
    gate's plugin would be loaded instead, and the rewritten outcomes would go unnoticed."""
    config = calc.config(gates__allow_paths=["tests/__init__.py"])
    report = calc.gate(
        {
            **_broken(),
            "tests/test_power.py": POWER_TESTS,
            "tests/__init__.py": PATCH_FROM_INIT,
            "shipyard_evidence.py": '"""Looks like the gate\'s plugin; records nothing."""\n',
        },
        config=config,
    )

    assert not report.passed
    reasons = "\n".join(report.failed_reasons())
    assert "tampering with the test evidence" in reasons, reasons


OUT_OF_REACH_PROBE = """import os
import sys


def test_plugin_and_records_are_out_of_reach():
    plugin = next(m for n, m in sys.modules.items() if n.startswith("shipyard_evidence"))
    assert not plugin.__file__.startswith(os.getcwd())
    assert not any(k.startswith("SHIPYARD_EVIDENCE") for k in os.environ)
    assert not [k for k, v in vars(plugin).items() if isinstance(v, str) and "/records" in v and k[:2] != "__"]
    try:
        open(plugin.__file__, "a")
    except OSError:
        return
    raise AssertionError("reached: the plugin")
"""


def test_the_evidence_plugin_and_its_records_are_out_of_the_tests_reach(calc):
    """The plugin cannot be rewritten; the record directory can be neither listed nor changed."""
    report = calc.gate({"tests/test_probe.py": OUT_OF_REACH_PROBE}, kind="chore")

    regressions = report.check("no_regressions")
    assert regressions.passed, regressions.reason


ERASE_THE_RECORD = """import os


def test_zz_erase_the_record():
    for fd in range(3, 256):
        try:
            os.ftruncate(fd, 0)  # whichever descriptor is the record: the failures recorded so far are gone
        except (OSError, RuntimeError):
            pass
"""


def record_cut_short() -> dict[str, str]:
    """Outcomes rewritten from ``tests/__init__.py`` (the gate needs ``gates.allow_paths`` to take it), then
    the record truncated by a later test."""
    return {
        **_broken(),
        "tests/test_power.py": POWER_TESTS,
        "tests/__init__.py": PATCH_FROM_INIT,
        "tests/test_zz.py": ERASE_THE_RECORD,
    }


def test_a_record_cut_short_by_the_code_under_test_is_caught_as_tampering(calc):
    """Outcomes rewritten from an allowed ``tests/__init__.py``, then the record truncated by a
    later test: the patched report class and the truncation are both named."""
    config = calc.config(gates__allow_paths=["tests/__init__.py"])
    report = calc.gate(record_cut_short(), config=config)

    assert not report.passed
    reasons = "\n".join(report.failed_reasons())
    assert "tampering with the test evidence" in reasons, reasons
    assert "the test machinery was patched (during collection): _pytest.reports.TestReport" in reasons, reasons


def test_truncating_the_record_is_refused_and_named(calc):
    report = calc.gate({**_broken(), "tests/test_power.py": POWER_TESTS, "tests/test_zz.py": ERASE_THE_RECORD})

    reasons = "\n".join(report.failed_reasons())
    assert "tampering with the test evidence: tests/test_zz.py:7: truncated the gate's record" in reasons, reasons
