"""What ``shipyard init`` proposes for the common Python layouts: setup into the repository's own environment."""

from __future__ import annotations

import pytest

from orchestrator.onboarding.detect import RepoFiles, propose
from tests.onboarding.layouts import FLAT_SETUP_CFG, SCM_VERSION, SRC_LAYOUT
from tests.onboarding.real_repositories import HATCH_VCS_SRC


def proposal(files: dict[str, str]):
    return propose(RepoFiles(set(files), lambda path: files[path]))


PYPROJECT = '[project]\nname = "pkg"\nversion = "1"\n'
CASES = {
    "requirements.txt": (
        {"requirements.txt": "attrs\n", "requirements-dev.txt": "hypothesis\n", "mod.py": "", "tests/test_mod.py": ""},
        "python -m pip install -q -r requirements.txt -r requirements-dev.txt",
    ),
    "pyproject extras, src layout": (SRC_LAYOUT, "python -m pip install -q -e '.[test]'"),
    "tox deps (gate tools left out)": (FLAT_SETUP_CFG, "python -m pip install -q six -e ."),
    "setuptools-scm without .git": (SCM_VERSION, "SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0 python -m pip install -q -e ."),
    "hatch-vcs src layout": (
        HATCH_VCS_SRC,
        "SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0 python -m pip install -q -e '.[test]'",
    ),
    "tox extras": (
        {"pyproject.toml": PYPROJECT, "tox.ini": "[testenv]\nextras = testing\ncommands = pytest\n"},
        "python -m pip install -q -e '.[testing]'",
    ),
    "nox extras": (
        {"pyproject.toml": PYPROJECT, "noxfile.py": 'def tests(session):\n    session.install("-e", ".[ci]")\n'},
        "python -m pip install -q -e '.[ci]'",
    ),
    "dependency group": (
        {"pyproject.toml": PYPROJECT + '\n[dependency-groups]\ntest = ["pytest", "attrs"]\n'},
        "python -m pip install -q --group test -e .",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_init_proposes_one_install_into_the_repositorys_environment(case):
    files, setup = CASES[case]
    found = proposal(files)
    assert found.config["setup"] == [setup]
    assert found.config["sandbox"] == {"network": "setup"}
    assert found.config["test"]["command"].startswith("python -m pytest ")
    assert ".shipyard/venv" not in found.to_yaml() and "pytest-cov" not in found.config["setup"][0]
    found.validated()


def test_a_repository_with_nothing_to_install_gets_no_setup_and_no_network():
    found = proposal({"calc.py": "def add(a, b):\n    return a + b\n", "tests/test_calc.py": ""})
    assert found.config["setup"] == [] and "sandbox" not in found.config
    assert "Nothing to install" in found.to_yaml()
