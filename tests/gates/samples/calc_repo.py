"""``calc``: a small Python library with a pytest suite and ``.shipyard.yml``, and candidate changes
to it — one honest, the others each trying one way around the quality gates.

Each ``change_*`` function returns ``{path: content or None}`` for ``commit_change`` on the
commit made by ``make_calc_repo``.
"""

from __future__ import annotations

from pathlib import Path

from tests.gates.samples.commits import FileChange, init_repo

CORE_PY = '''"""A tiny arithmetic library."""


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b


def clamp(x, lo, hi):
    """Limit x to the range [lo, hi]."""
    if x < lo:
        return lo
    if x > hi:
        return {above}
    return x
'''

TEST_CORE_PY = """import pytest

from calc.core import add, clamp, div, mul, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2


def test_mul():
    assert mul(4, 3) == 12


def test_div():
    assert div(9, 3) == 3


def test_div_by_zero():
    with pytest.raises(ZeroDivisionError):
        div(1, 0)


def test_clamp_below():
    assert clamp(-5, 0, 10) == 0


def test_clamp_inside():
    assert clamp(5, 0, 10) == 5
"""

KNOWN_BUG_TEST = """from calc.core import clamp


def test_clamp_above():
    assert clamp(50, 0, 10) == 10
"""

PYPROJECT = """[project]
name = "calc"
version = "0.1.0"

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.coverage.run]
branch = false
"""

SHIPYARD_YML = """test:
  timeout_s: 120
gates:
  coverage:
    target: 90
"""

CI_YML = """name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: python -m pytest
"""


def calc_files(*, known_bug: bool = False) -> dict[str, str]:
    files = {
        "calc/__init__.py": '"""calc."""\n',
        "calc/core.py": CORE_PY.format(above="x" if known_bug else "hi"),
        "tests/test_core.py": TEST_CORE_PY,
        "pyproject.toml": PYPROJECT,
        ".shipyard.yml": SHIPYARD_YML,
        ".github/workflows/ci.yml": CI_YML,
        "README.md": "# calc\n",
    }
    if known_bug:
        files["tests/test_clamp.py"] = KNOWN_BUG_TEST
    return files


def make_calc_repo(path: Path, *, known_bug: bool = False) -> str:
    """Create the calc repository at ``path``; returns the base commit SHA.

    ``known_bug``: ``clamp`` returns ``x`` above the range and ``tests/test_clamp.py`` fails on it."""
    return init_repo(path, calc_files(known_bug=known_bug))


POWER_PY = '''

def power(base, exp):
    """base raised to a non-negative integer exp."""
    if exp < 0:
        raise ValueError("exp must be >= 0")
    result = 1
    for _ in range(exp):
        result *= base
    return result
'''

POWER_TESTS = """import pytest

from calc.core import power


def test_power():
    assert power(2, 10) == 1024


def test_power_zero():
    assert power(5, 0) == 1


def test_power_negative():
    with pytest.raises(ValueError):
        power(2, -1)
"""


def _core(known_bug: bool = False) -> str:
    return CORE_PY.format(above="x" if known_bug else "hi")


def change_good_feature() -> dict[str, FileChange]:
    """(h) ``power`` with tests that fail before and pass after, fully covered."""
    return {"calc/core.py": _core() + POWER_PY, "tests/test_power.py": POWER_TESTS}


def change_fixing_known_bug() -> dict[str, FileChange]:
    """A bug fix in ``clamp`` with a new test in the existing test file (needs ``known_bug``)."""
    test = TEST_CORE_PY + "\n\ndef test_clamp_above_range():\n    assert clamp(11, 0, 10) == 10\n"
    return {"calc/core.py": _core(False), "tests/test_core.py": test}


def change_without_tests() -> dict[str, FileChange]:
    """(a) a feature with no test at all."""
    return {"calc/core.py": _core() + POWER_PY}


def change_with_vacuous_tests() -> dict[str, FileChange]:
    """(b) tests that assert nothing about the change and already pass on the base code."""
    tests = (
        "from calc.core import add\n\n\ndef test_power_exists():\n    assert add(1, 1) == 2\n\n\n"
        "def test_nothing():\n    pass\n"
    )
    return {"calc/core.py": _core() + POWER_PY, "tests/test_power.py": tests}


def change_deleting_failing_test() -> dict[str, FileChange]:
    """(c) "fixes" the known bug's failing test by deleting it (needs ``known_bug``)."""
    return {"tests/test_clamp.py": None, "calc/core.py": _core(True) + POWER_PY, "tests/test_power.py": POWER_TESTS}


def change_skipping_existing_test() -> dict[str, FileChange]:
    """(d) breaks ``sub`` and silences its test with ``@pytest.mark.skip``."""
    core = _core().replace("return a - b", "return a - b - 1")
    tests = TEST_CORE_PY.replace("def test_sub():", '@pytest.mark.skip(reason="flaky")\ndef test_sub():')
    return {"calc/core.py": core + POWER_PY, "tests/test_core.py": tests, "tests/test_power.py": POWER_TESTS}


def change_omitting_coverage() -> dict[str, FileChange]:
    """(e) an untested function hidden from coverage by an ``omit`` in ``[tool.coverage.run]``."""
    core = _core() + POWER_PY + "\n\ndef untested(x):\n    if x:\n        return 1\n    return 2\n"
    pyproject = PYPROJECT.replace("branch = false", 'branch = false\nomit = ["calc/core.py"]')
    return {"calc/core.py": core, "tests/test_power.py": POWER_TESTS, "pyproject.toml": pyproject}


def change_touching_ci() -> dict[str, FileChange]:
    """(f) a good change that also rewrites the CI workflow."""
    return {**change_good_feature(), ".github/workflows/ci.yml": CI_YML.replace("python -m pytest", "true")}


def change_breaking_unrelated_test() -> dict[str, FileChange]:
    """(g) a good feature that also breaks ``mul``, which ``tests/test_core.py::test_mul`` catches."""
    core = _core().replace("return a * b", "return a * b + 1")
    return {"calc/core.py": core + POWER_PY, "tests/test_power.py": POWER_TESTS}
