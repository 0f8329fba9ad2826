"""Repositories with dependencies of their own, through a real worker and real sandboxes, on bwrap and Docker.

* Tests that need a package no index holds (a wheel committed in the repository, installed
  offline) and a pinned ``pydantic`` 1.x stand-in where Shipyard runs pydantic 2: a good change
  passes the gate and opens a pull request (its new test asserts the pinned version, so it
  passes only in the repository's own environment); the same change without its test is
  blocked. The two jobs share one environment: one builds it, the other starts from it.
* A hatch-vcs src layout (version from git, none in the sandbox; a test extra from PyPI that
  Shipyard does not ship) onboards with ``shipyard init`` and ``shipyard doctor`` — the second
  doctor starts from the cached environment — and a good change gets a pull request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import register_repository
from orchestrator.settings import Settings
from tests.onboarding.real_repositories import (
    HATCH_VCS_SRC,
    OWN_DEPENDENCIES,
    SNAKE_CASSETTE,
    SOURCE_ONLY_CASSETTE,
    WHISPER_CASSETTE,
    make_repository,
    write_cassette,
)
from tests.pipeline.harness import queue_ticket, running_worker, wait_for_job
from tests.sandboxes.wheels import make_wheel

BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), "local"]


def shipyard(data_dir: Path, backend: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env |= {"SHIPYARD_DATA_DIR": str(data_dir), "SHIPYARD_SANDBOX_BACKEND": backend}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args], env=env, capture_output=True, text=True, timeout=600
    )


def environment_events(job: dict) -> list[str]:
    return [e["message"] for e in job["events"] if e["message"].startswith("environment ")]


@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_repository_with_its_own_and_conflicting_dependencies_gets_a_pull_request(backend, tmp_path, scrub_env):
    wheels = tmp_path / "wheels"
    files: dict[str, str | bytes] = dict(OWN_DEPENDENCIES)
    for wheel in (
        make_wheel(wheels, "tinydep", "1.0", {"tinydep.py": "def shout(text):\n    return text.upper() + '!'\n"}),
        make_wheel(wheels, "pydantic", "1.10.99", {"pydantic/__init__.py": "VERSION = '1.10.99'\n"}),
    ):
        files[f"wheels/{wheel.name}"] = wheel.read_bytes()
    repo = make_repository(tmp_path / "shouty", files)
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend=backend, lease_seconds=30))
    register_repository(ship.store, repo, name="shouty")
    good = write_cassette(tmp_path / "whisper.yml", WHISPER_CASSETTE)
    untested = write_cassette(tmp_path / "untested.yml", SOURCE_ONLY_CASSETTE)
    good_id = queue_ticket(ship, "shouty", "add whisper()", "A quiet counterpart of banner().", good)
    untested_id = queue_ticket(ship, "shouty", "add whisper() quickly", "A quiet counterpart of banner().", untested)
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, good_id, {"awaiting_review", "blocked", "failed"}, timeout=420, worker=worker)
        other = wait_for_job(ship, untested_id, {"awaiting_review", "blocked", "failed"}, timeout=420, worker=worker)
    assert job["state"] == "awaiting_review", job["reason"]
    assert job["sandbox"] == ("docker" if backend == "docker" else "bwrap")
    assert job["gate_passed"] is True and job["pr"] is not None
    assert other["state"] == "blocked" and other["pr"] is None, other["reason"]
    assert "the change adds or changes no test file" in other["reason"], other["reason"]
    # Two jobs on one base: one built the environment, the other started from it.
    events = sorted(environment_events(job) + environment_events(other))
    assert len(events) == 2 and "built by setup" in events[0] and "reused from the cache" in events[1], events


@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hatch_vcs_src_layout_onboards_with_init_and_doctor_and_gets_a_pull_request(backend, tmp_path, scrub_env):
    repo = make_repository(tmp_path / "vcsgreet", HATCH_VCS_SRC)
    data = tmp_path / "data"
    init = shipyard(data, backend, "init", str(repo), "--yes")
    assert init.returncode == 0, init.stdout + init.stderr
    assert "hatch-vcs" in init.stdout and "-e '.[test]'" in init.stdout, init.stdout

    reports = []
    for _ in range(2):
        doctor = shipyard(data, backend, "doctor", "vcsgreet", "--json")
        report = json.loads(doctor.stdout) if doctor.stdout.startswith("{") else {}
        assert doctor.returncode == 0 and report.get("ok"), doctor.stdout + doctor.stderr
        reports.append(report)
    assert reports[0]["tests"] == 2
    first, second = (r["environment"] for r in reports)
    assert first["cached"] is False and second["cached"] is True and first["key"] == second["key"]
    assert any("reused from the cache" in f["what"] for f in reports[1]["findings"])

    ship = Shipyard.load(Settings(data_dir=data, sandbox_backend=backend, lease_seconds=30))
    cassette = write_cassette(tmp_path / "snake.yml", SNAKE_CASSETTE)
    job_id = queue_ticket(ship, "vcsgreet", "add snake()", "snake_case from CamelCase.", cassette)
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, timeout=420, worker=worker)
    assert job["state"] == "awaiting_review", job["reason"]
    assert job["gate_passed"] is True and job["pr"] is not None
    # doctor built the environment; the job's sandboxes start from it.
    [reused] = environment_events(job)
    assert "reused from the cache" in reused, reused


def test_doctor_on_bwrap_says_when_setup_asks_for_a_host_the_setup_proxy_refuses(tmp_path, scrub_env):
    config = (
        "setup:\n  - python -m pip install --retries 1 --index-url https://10.0.0.1/simple six\n"
        "sandbox:\n  network: setup\n"
    )
    files = {".shipyard.yml": config, "calc.py": "X = 1\n", "tests/test_calc.py": "def test_x():\n    assert True\n"}
    repo = make_repository(tmp_path / "private-index", files)
    data = tmp_path / "data"
    assert shipyard(data, "local", "init", str(repo), "--yes").returncode == 0
    doctor = shipyard(data, "local", "doctor", "private-index")
    assert doctor.returncode == 1, doctor.stdout
    assert "Tunnel connection failed: 403" in doctor.stdout
    assert "setup asked for a host the bwrap setup proxy refuses" in doctor.stdout, doctor.stdout
