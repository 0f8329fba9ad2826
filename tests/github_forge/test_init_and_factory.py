"""`shipyard init github:owner/name` against the emulator, and the forge factory the runner uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from orchestrator.forges import ForgeConfigError, make_forge
from orchestrator.forges.github import GitHubForge
from orchestrator.forges.local_git import LocalForge
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.tables import Repository
from tests.github_forge.conftest import TOKEN

SHIPYARD = str(Path(sys.executable).with_name("shipyard"))


def _env(emulator, data: Path, token: str = TOKEN) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    return env | {
        "COLUMNS": "200",
        "SHIPYARD_DATA_DIR": str(data),
        "SHIPYARD_GITHUB_API_URL": f"{emulator.base}/api/v3",
        "SHIPYARD_GITHUB_GIT_URL": emulator.base,
        "SHIPYARD_GITHUB_TOKEN": token,
    }


def test_init_github_registers_the_repository(emulator, tmp_path: Path):
    data = tmp_path / "data"
    done = subprocess.run(
        [SHIPYARD, "init", "github:acme/widgets"], env=_env(emulator, data), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "registered GitHub repository acme/widgets as 'widgets' (pull requests target main)" in done.stdout
    store = Store(Settings(data_dir=data).db_url)
    with store.session() as s:
        row = s.scalar(select(Repository).where(Repository.name == "widgets"))
        assert (row.forge, row.url, row.base_branch) == ("github", "acme/widgets", "main")
    assert TOKEN not in done.stdout + done.stderr


def test_init_github_proposes_a_configuration_from_the_fetched_tree(emulator, tmp_path: Path):
    data = tmp_path / "data"
    done = subprocess.run(
        [SHIPYARD, "init", "github:acme/widgets", "--yes"],
        env=_env(emulator, data) | {"SHIPYARD_GITHUB_GIT_URL": emulator.base},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Proposed .shipyard.yml" in done.stdout and "Kept in Shipyard's store for widgets" in done.stdout
    with Store(Settings(data_dir=data).db_url).session() as s:
        assert "test:" in s.scalar(select(Repository).where(Repository.name == "widgets")).config_yaml
    assert TOKEN not in done.stdout + done.stderr


def test_init_with_forge_github_takes_owner_and_name(emulator, tmp_path: Path):
    done = subprocess.run(
        [SHIPYARD, "init", "acme/widgets", "--forge", "github", "--name", "w"],
        env=_env(emulator, tmp_path / "data") | {"SHIPYARD_GITHUB_GIT_URL": emulator.base},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "registered GitHub repository acme/widgets as 'w'" in done.stdout


def test_init_github_refuses_bad_credentials_and_bad_names(emulator, tmp_path: Path):
    env = _env(emulator, tmp_path / "data", token="revoked")
    done = subprocess.run(
        [SHIPYARD, "init", "github:acme/widgets"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and "401 Bad credentials" in done.stderr
    done = subprocess.run([SHIPYARD, "init", "github:not a repo"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "expected github:OWNER/NAME" in done.stderr


def test_make_forge_picks_by_repository(emulator, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", TOKEN)
    settings = Settings(data_dir=tmp_path / "data")
    store = Store(settings.db_url)
    gh = make_forge(
        settings, Repository(name="w", forge="github", url="acme/widgets", base_branch="main"), 1, store=store
    )
    local = make_forge(
        settings, Repository(name="l", forge="local", url=str(tmp_path), base_branch="main"), 1, store=store
    )
    # Each comes wrapped in the egress redactor, which publishes through the forge picked.
    assert isinstance(gh.wrapped, GitHubForge) and isinstance(local.wrapped, LocalForge)


def test_a_github_job_without_credentials_is_blocked_with_the_setting_to_give(tmp_path: Path, monkeypatch, scrub_env):
    from orchestrator.deployment import Shipyard
    from orchestrator.store.tables import Job, Ticket
    from orchestrator.worker.job_runner import JobRunner

    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local"))
    with ship.store.session() as s:
        repo = Repository(name="widgets", forge="github", url="acme/widgets", base_branch="main")
        s.add(repo)
        s.flush()
        ticket = Ticket(repository_id=repo.id, title="Fix it", body="", labels=["shipyard"])
        s.add(ticket)
        s.flush()
        job = Job(ticket_id=ticket.id)
        s.add(job)
        s.flush()
        job_id = job.id
    assert JobRunner(ship.settings, ship.store).run(job_id) == "blocked"
    with ship.store.session() as s:
        reason = s.get(Job, job_id).reason
    assert (
        reason
        == "configuration error: GitHub needs SHIPYARD_GITHUB_TOKEN (or SHIPYARD_GITHUB_APP_ID with a private key)"
    )
    monkeypatch.setenv("SHIPYARD_GITHUB_MERGE_METHOD", "yolo")
    try:
        make_forge(
            ship.settings, Repository(name="w", forge="github", url="acme/w", base_branch="main"), 1, store=ship.store
        )
    except ForgeConfigError as exc:
        assert "SHIPYARD_GITHUB_MERGE_METHOD" in str(exc)
    else:
        raise AssertionError("an invalid merge method was accepted")
