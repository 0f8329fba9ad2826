"""``shipyard backup`` while a worker runs, ``shipyard restore`` elsewhere: the restored deployment merges
an approved pull request and finishes the job that was running when the backup was taken; a data
directory moved away from where it was made keeps working (repository paths inside it are relative)."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import register_repository
from orchestrator.settings import Settings
from tests.orchestrator.test_stopping import SLOW, wait_for_event
from tests.pipeline.harness import ASSETS, queue_ticket, running_worker, sample_repository, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from workflows.gitops import run_git

DEMO_CASSETTE = ASSETS / "cassettes" / "slugify-dashes.yml"


def deployment(data_dir) -> Shipyard:
    return Shipyard.load(Settings(data_dir=data_dir, sandbox_backend="local", lease_seconds=10))


def shipyard(monkeypatch, data_dir, *args: str) -> str:
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHIPYARD_SANDBOX_BACKEND", "local")
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
@pytest.mark.workers
def test_a_backup_taken_while_a_worker_runs_restores_elsewhere_and_an_approval_there_merges(
    tmp_path, monkeypatch, scrub_env
):
    first = tmp_path / "first"
    ship = deployment(first)
    repo = sample_repository(first / "repos" / "textkit")
    register_repository(ship.store, repo, name="textkit", data_dir=first)
    ready = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, DEMO_CASSETTE)
    with running_worker(ship.settings) as worker:
        assert wait_for_job(ship, ready, {"awaiting_review", "blocked", "failed"}, worker=worker)["state"] == (
            "awaiting_review"
        )
        busy = queue_ticket(ship, "textkit", "slugify, slowly", SLUG_BODY, SLOW)
        wait_for_event(ship, busy, "sleep 6")  # the worker is in the middle of this job
        said = shipyard(monkeypatch, first, "backup", str(tmp_path / "backup"))
    assert "shipyard.db" in said and "checkpoints.db" in said and "repos/textkit (git, every ref)" in said
    assert "whole and restores" in shipyard(monkeypatch, first, "backup", "--check", str(tmp_path / "backup"))
    shutil.move(first, tmp_path / "moved-away")  # nothing of the restored deployment may still point here

    elsewhere = tmp_path / "elsewhere"
    assert "restored the backup" in shipyard(monkeypatch, elsewhere, "restore", str(tmp_path / "backup"))
    ship = deployment(elsewhere)
    ship.decide(ready, "approve", comment="Ship it.")
    with running_worker(ship.settings) as worker:
        merged = wait_for_job(ship, ready, {"merged", "blocked", "failed"}, worker=worker)
        resumed = wait_for_job(ship, busy, {"awaiting_review", "blocked", "failed"}, timeout=240, worker=worker)
    assert merged["state"] == "merged", merged["reason"]
    log = run_git(["log", "--format=%s", "main"], cwd=elsewhere / "repos" / "textkit")
    assert f"Merge pull request #{merged['pr']['number']}" in log
    assert resumed["state"] == "awaiting_review", resumed["reason"]  # running at backup time: finished here


def test_a_repository_inside_the_data_directory_is_stored_relative_and_found_after_a_move(tmp_path, scrub_env):
    ship = deployment(tmp_path / "data")
    repo = sample_repository(tmp_path / "data" / "repos" / "textkit")
    assert register_repository(ship.store, repo, name="textkit", data_dir=tmp_path / "data").url == "repos/textkit"
    outside = sample_repository(tmp_path / "lib")
    assert register_repository(ship.store, outside, name="lib", data_dir=tmp_path / "data").url == str(outside)


def test_restore_refuses_a_directory_in_use_or_not_empty_and_a_non_backup(tmp_path, monkeypatch, scrub_env):
    deployment(tmp_path / "data")
    shipyard(monkeypatch, tmp_path / "data", "backup", str(tmp_path / "b"))
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    out = CliRunner().invoke(app, ["restore", str(tmp_path / "b")]).output
    assert "not empty; restore into a new data directory" in " ".join(out.split())
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "new"))
    out = CliRunner().invoke(app, ["restore", str(tmp_path)]).output
    assert "not a Shipyard backup" in out
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    out = CliRunner().invoke(app, ["backup", str(tmp_path / "data" / "inside")]).output
    assert "inside the data directory" in " ".join(out.split())


def test_a_bare_repository_inside_the_data_directory_is_backed_up_with_its_refs(tmp_path, monkeypatch, scrub_env):
    ship = deployment(tmp_path / "data")
    work = sample_repository(tmp_path / "work")
    bare = tmp_path / "data" / "repos" / "lib.git"
    run_git(["clone", "-q", "--bare", str(work), str(bare)])
    run_git(["update-ref", "refs/shipyard/jobs/7", "main"], cwd=bare)
    register_repository(ship.store, bare, name="lib", data_dir=tmp_path / "data")
    shipyard(monkeypatch, tmp_path / "data", "backup", str(tmp_path / "b"))
    assert "whole and restores" in shipyard(monkeypatch, tmp_path / "data", "backup", "--check", str(tmp_path / "b"))
    shipyard(monkeypatch, tmp_path / "restored", "restore", str(tmp_path / "b"))
    refs = run_git(["for-each-ref", "--format=%(refname)"], cwd=tmp_path / "restored" / "repos" / "lib.git")
    assert "refs/shipyard/jobs/7" in refs and "refs/heads/main" in refs


@pytest.mark.postgres
def test_a_postgresql_deployment_is_backed_up_with_the_pg_dump_it_is_told_to_take_and_checked(
    tmp_path, monkeypatch, scrub_env, postgres_url
):
    import subprocess

    monkeypatch.setenv("SHIPYARD_DATABASE_URL", postgres_url)
    Shipyard.load(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    dest = tmp_path / "b"
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    told = " ".join(CliRunner().invoke(app, ["backup", str(dest)]).output.split())
    assert "the database is PostgreSQL" in told and f"pg_dump --format=custom --file={dest}/shipyard.pgdump" in told
    checked = CliRunner().invoke(app, ["backup", "--check", str(dest)])
    assert checked.exit_code == 1 and "shipyard.pgdump: missing" in " ".join(checked.output.split())
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(["pg_dump", "--format=custom", f"--file={dest}/shipyard.pgdump", plain], check=True)
    assert "whole and restores" in shipyard(monkeypatch, tmp_path / "data", "backup", "--check", str(dest))
