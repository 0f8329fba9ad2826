"""The refusal rules read what a change means, not how it is spelled: every configuration file pytest
reads, ``-p``/``-o``/``--cov-config`` in any form, plugins and hooks however they are bound, tests
that lose their identity, and code run from strings. Each case is a change that tries one spelling;
the gate names the file (and line) and why."""

from __future__ import annotations

import pytest

from tests.gates.samples.calc_repo import POWER_PY, POWER_TESTS, TEST_CORE_PY, _core
from tests.gates.test_forging import refusals

GOOD = {"calc/core.py": _core() + POWER_PY, "tests/test_power.py": POWER_TESTS}


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (
            ".pytest.toml",
            '[pytest]\naddopts = ["-p", "calc.x"]\n',
            ".pytest.toml: protected path (matches '.pytest.toml')",
        ),
        ("ci/pytest.cfg", "[pytest]\naddopts = -pcalc.x\n", "ci/pytest.cfg: names pytest plugin module(s) calc.x (-p)"),
        ("run.toml", 'args = ["-o", "addopts="]\n', "run.toml: passes test-run option(s) -o addopts="),
        (
            "Makefile",
            "test:\n\tpytest --cov-config=cov.cfg\n",
            "Makefile: passes test-run option(s) --cov-config cov.cfg",
        ),
        ("opts.json", '{"args": ["--override-ini", "python_files=*.py"]}', "--override-ini python_files=*.py"),
    ],
    ids=["dot-pytest-toml", "dash-p-glued", "dash-o-toml-list", "cov-config-equals", "override-ini-json"],
)
def test_configuration_is_protected_by_meaning(calc, path, text, expected):
    report = calc.gate({**GOOD, path: text})

    assert not report.passed
    assert expected in refusals(report)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('vars()["pytest_plugins"] = ["calc.x"]\n', "names pytest plugin module(s) <computed>"),
        (
            'import sys\nsetattr(sys.modules[__name__], "pytest_plugins", ["calc.x"])\n',
            "names pytest plugin module(s) <computed>",
        ),
        (
            "import pytest\n\n\n@pytest.hookimpl(specname='pytest_runtest_call')\ndef run(item):\n    pass\n",
            "defines pytest hook(s) pytest_runtest_call",
        ),
        (
            "import pytest\npytest_collection_modifyitems = print\n",
            "defines pytest hook(s) pytest_collection_modifyitems",
        ),
    ],
    ids=["vars", "setattr-module", "specname", "assigned-hook"],
)
def test_plugins_and_hooks_are_refused_however_they_are_bound(calc, code, expected):
    report = calc.gate({**GOOD, "tests/test_power.py": code + "\n\n" + POWER_TESTS})

    assert not report.passed
    assert f"tests/test_power.py: {expected}" in refusals(report)


def test_a_renamed_base_test_is_named(calc):
    renamed = TEST_CORE_PY.replace("def test_mul():", "def test_multiply():")
    report = calc.gate({**GOOD, "tests/test_core.py": renamed})

    check = report.check("test_identity")
    assert not check.passed
    assert check.reason == "tests/test_core.py::test_mul is defined on the base and no longer is"


def test_a_test_redefined_in_a_class_is_named(calc):
    tests = (
        POWER_TESTS
        + "\n\nclass TestPower:\n    def test_a(self):\n        assert 0\n\n    def test_a(self):\n        pass\n"
    )
    report = calc.gate({**GOOD, "tests/test_power.py": tests})

    check = report.check("test_identity")
    assert not check.passed
    assert "tests/test_power.py::TestPower::test_a is defined 2 times" in check.reason


@pytest.mark.parametrize(
    ("code", "call"),
    [
        ('\n\nexec("""\ndef cube(x):\n    return x ** 3\n""")\n', "exec()"),
        (
            '\n\nimport importlib\n\nhelpers = importlib.import_module("calc." + "helpers")\n',
            "importlib.import_module()",
        ),
        ("\n\nsquare = eval('lambda x: x * x')\n", "eval()"),
    ],
    ids=["exec-string", "import-module", "eval"],
)
def test_code_run_from_strings_is_named_with_its_line(calc, code, call):
    source = _core() + POWER_PY + code
    name = call.split("(")[0].rsplit(".", 1)[-1]
    line = next(n for n, text in enumerate(source.splitlines(), 1) if f"{name}(" in text)
    report = calc.gate({**GOOD, "calc/core.py": source})

    check = report.check("dynamic_code")
    assert not check.passed
    assert check.reason.startswith(f"calc/core.py:{line}: {call} runs code"), check.reason


def test_an_import_named_by_one_literal_is_an_ordinary_import(calc):
    tests = POWER_TESTS + '\n\ndef test_power_by_name():\n    assert __import__("calc.core").core.power(2, 2) == 4\n'
    report = calc.gate({**GOOD, "tests/test_power.py": tests})

    check = report.check("dynamic_code")
    assert check.passed, check.reason


def test_a_duplicate_the_base_already_had_is_not_the_changes(tmp_path):
    """Real suites carry old duplicates (the later definition has always been the one that runs);
    a change that leaves them as they are is not blamed for them."""
    from tests.gates.samples import commit_change, git_repo, init_repo
    from workflows.gates.change_set import read_change_set
    from workflows.gates.source_rules import identity_findings

    duplicated = "def test_a():\n    assert 0\n\n\ndef test_a():\n    pass\n"
    base = init_repo(tmp_path / "repo", {"tests/test_x.py": duplicated})
    added = duplicated + "\n\ndef test_b():\n    pass\n"
    candidate = commit_change(tmp_path / "repo", base, {"tests/test_x.py": added})
    changes = read_change_set(git_repo(tmp_path / "repo"), base, candidate, ["tests/**"])

    assert identity_findings(git_repo(tmp_path / "repo"), changes) == []
