"""``shipyard init`` + ``shipyard doctor`` onboard real layouts with no hand edits, in real sandboxes.

Each layout is a git repository without ``.shipyard.yml``; ``init --yes`` proposes and keeps a
configuration, ``doctor`` runs setup (network only then) and the suite twice in a sandbox and
must come out green, with the baseline stored for the first job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.onboarding.layouts import FLAT_SETUP_CFG, NODE_NPM, SCM_VERSION, SRC_LAYOUT, UNDECLARED_IMPORT, make_layout

LAYOUTS = {
    "src-layout": (SRC_LAYOUT, "docker"),
    "flat-setup-cfg-tox": (FLAT_SETUP_CFG, "docker"),
    "setuptools-scm": (SCM_VERSION, "local"),
    "node-npm-test": (NODE_NPM, "local"),
}


def shipyard(data_dir: Path, backend: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env |= {"SHIPYARD_DATA_DIR": str(data_dir), "SHIPYARD_SANDBOX_BACKEND": backend}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.docker
def test_init_then_doctor_is_green_with_no_hand_edits(layout, tmp_path, docker_engine):
    files, backend = LAYOUTS[layout]
    repo = make_layout(tmp_path / layout, files)
    data = tmp_path / "data"

    init = shipyard(data, backend, "init", str(repo), "--yes")
    assert init.returncode == 0, init.stdout + init.stderr
    written = yaml.safe_load((repo / ".shipyard.yml").read_text())
    assert written["test"]["command"], init.stdout

    doctor = shipyard(data, backend, "doctor", layout, "--json")
    report = json.loads(doctor.stdout or "{}") if doctor.stdout.startswith("{") else {}
    assert doctor.returncode == 0 and report.get("ok"), doctor.stdout + doctor.stderr
    assert report["config_source"].startswith("stored configuration")
    assert report["backend"] == ("docker" if backend == "docker" else "bwrap")
    assert report["tests"] == len([f for f in files if "test" in f.split("/")[-1]]) * 2 - (layout == "node-npm-test")
    assert report["baseline"] and Path(report["baseline"]).is_file()


@pytest.mark.docker
def test_doctor_names_the_module_the_tests_import_and_how_to_install_it(tmp_path, docker_engine):
    repo = make_layout(tmp_path / "undeclared", UNDECLARED_IMPORT)
    data = tmp_path / "data"
    assert shipyard(data, "docker", "init", str(repo), "--yes").returncode == 0
    doctor = shipyard(data, "docker", "doctor", "undeclared")
    assert doctor.returncode == 1, doctor.stdout
    assert "tests import `numpy`, which is not installed in the sandbox: add it to setup" in doctor.stdout
    assert "`python -m pip install numpy`" in doctor.stdout
    assert "not ready" in doctor.stdout


def test_init_without_yes_off_a_terminal_keeps_nothing(tmp_path):
    repo = make_layout(tmp_path / "greeter", SRC_LAYOUT)
    out = shipyard(tmp_path / "data", "local", "init", str(repo))
    assert out.returncode == 0, out.stderr
    assert "Proposed .shipyard.yml (Python, pytest)" in out.stdout
    assert "pass --yes to keep it" in out.stdout
    assert not (repo / ".shipyard.yml").exists()
