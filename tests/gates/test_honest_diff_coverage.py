"""Diff coverage counts every changed executable Python line, whether or not the report lists it."""

from __future__ import annotations

import pytest

from tests.gates.conftest import GateHarness
from tests.gates.samples import calc_files, init_repo
from tests.gates.samples.calc_repo import PYPROJECT, change_good_feature

UNIMPORTED_SCRIPT = '''"""Maintenance script, never imported by the tests."""
import os


def wipe(path):
    for name in os.listdir(path):
        os.remove(os.path.join(path, name))
    return True
'''


def test_lines_of_a_module_the_tests_never_import_count_as_uncovered(calc):
    """``scripts/`` has no ``__init__.py``: coverage.py never lists the file, and the gate used
    to skip it (diff coverage 100%)."""
    report = calc.gate({**change_good_feature(), "scripts/wipe.py": UNIMPORTED_SCRIPT})

    check = report.check("diff_coverage")
    assert not check.passed, check.reason
    assert "scripts/wipe.py lines 2, 5-8" in check.reason
    assert "missing from the coverage report, so counted as uncovered" in check.reason
    assert check.details["lines_not_in_report"] == {"scripts/wipe.py": ["2", "5-8"]}
    assert report.diff_coverage is not None and report.diff_coverage < 90


@pytest.fixture(scope="module")
def calc_excluding_debug(tmp_path_factory, sandbox_provider) -> GateHarness:
    """calc whose coverage configuration (already on base) excludes functions named ``debug_*``."""
    root = tmp_path_factory.mktemp("calc-excl")
    pyproject = PYPROJECT + '\n[tool.coverage.report]\nexclude_also = ["def debug_"]\n'
    base = init_repo(root / "repo", {**calc_files(), "pyproject.toml": pyproject})
    return GateHarness(path=root / "repo", base=base, provider=sandbox_provider, cache_dir=root / "cache")


def test_a_new_function_excluded_by_the_coverage_configuration_counts_as_uncovered(calc_excluding_debug):
    core = change_good_feature()["calc/core.py"] + (
        "\n\ndef debug_run(cmd):\n    import os\n    return os.system(cmd)\n"
    )
    report = calc_excluding_debug.gate({**change_good_feature(), "calc/core.py": core})

    check = report.check("diff_coverage")
    assert not check.passed, check.reason
    lines = len(core.splitlines())
    assert check.details["lines_not_in_report"] == {"calc/core.py": [f"{lines - 2}-{lines}"]}
    assert check.details["uncovered"] == {"calc/core.py": [f"{lines - 2}-{lines}"]}
