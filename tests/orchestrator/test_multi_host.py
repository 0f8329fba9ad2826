"""Two hosts that share only PostgreSQL, Redis and the forge: a job whose worker is killed on one
host after an attempt was committed is finished by a worker on the other, from the store and the
forge alone (the first host's data directory is deleted before the second starts)."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from orchestrator.deployment import Shipyard
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, PullRequest, utcnow
from orchestrator.worker.celery_app import MAX_RECOVERIES, recover_stale_jobs
from sandboxes.disk_quota import release_disk
from tests.orchestrator.test_stopping import wait_for_event
from tests.pipeline.harness import Worker, queue_ticket, register, running_worker, sample_repository, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from workflows.gitops import GitError, run_git

TWO_HOSTS = Path(__file__).resolve().parents[1] / "pipeline" / "cassettes" / "slugify-two-hosts.yml"
SETTLED = {"awaiting_review", "blocked", "failed"}


def ref_sha(repo: Path, ref: str) -> str | None:
    try:
        return run_git(["rev-parse", "--verify", "-q", ref], cwd=repo).strip()
    except GitError:
        return None


def timeline(detail: dict) -> str:
    return "\n".join(f"{e['kind']}: {e['message'][:160]}" for e in detail["events"])


@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.postgres
@pytest.mark.redis
def test_a_job_killed_on_one_host_is_finished_on_another_with_no_shared_data_directory(
    tmp_path, scrub_env, postgres_url, redis_db_url
):
    shared = dict(database_url=postgres_url, broker_url=redis_db_url, sandbox_backend="local", lease_seconds=10)
    host_a, host_b = Settings(data_dir=tmp_path / "host-a", **shared), Settings(data_dir=tmp_path / "host-b", **shared)
    ship = Shipyard.load(host_b)
    repo = sample_repository(tmp_path / "textkit")
    register(ship, repo, "textkit")
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, TWO_HOSTS)
    ref = f"refs/shipyard/jobs/{job_id}"

    host_a.ensure_dirs()
    worker_a = Worker(host_a)
    try:
        wait_for_event(ship, job_id, "sleep 8", timeout=180)  # attempt 2 under way: attempt 1 is committed
    finally:
        worker_a.kill()  # kill -9 of the whole process group
        killed_at = datetime.now(UTC)
        worker_a.stop()
    first = views.job_detail(ship.store, host_b.job_dirs, job_id)["attempt_list"][0]
    assert first["head_sha"] and ref_sha(repo, ref) == first["head_sha"], timeline(
        views.job_detail(ship.store, host_b.job_dirs, job_id)
    )
    assert host_a.job_dirs.git(job_id).is_dir()
    for sandbox in (host_a.data_dir / "sandboxes").glob("local-*"):
        release_disk(sandbox)  # host A's own clean-up of its killed sandboxes (their disks are mounted)
    shutil.rmtree(host_a.data_dir)  # host B can read nothing of host A's

    with running_worker(host_b) as worker_b:
        detail = wait_for_job(ship, job_id, SETTLED, timeout=240, worker=worker_b)
    assert detail["state"] == "awaiting_review", f"{detail['reason']}\n{timeline(detail)}"
    assert not host_a.data_dir.exists()
    messages = [e["message"] for e in detail["events"]]
    rebuilt = [e for e in detail["events"] if "working copy rebuilt from the forge" in e["message"]]
    assert len(rebuilt) == 1, timeline(detail)
    resumed_after_s = (datetime.fromisoformat(rebuilt[0]["at"]) - killed_at).total_seconds()
    print(
        f"\nresumed on host B {resumed_after_s:.1f} s after the kill "
        f"(lease {host_b.lease_seconds} s, worker start included)"
    )
    # Attempt 1 ran once (on host A); host B went on from its commit, not from the base.
    assert sum("attempt 1 ended" in m for m in messages) == 1, timeline(detail)
    assert [a["number"] for a in detail["attempt_list"]] == [1, 2]
    with ship.store.session() as s:
        prs = s.scalars(select(PullRequest)).all()
        assert len(prs) == 1, [(p.number, p.branch) for p in prs]
        branch = prs[0].branch
    branches = run_git(["for-each-ref", "--format=%(refname)", "refs/heads"], cwd=repo).split()
    assert branches == ["refs/heads/main", f"refs/heads/{branch}"]  # one PR branch; the job ref is no branch
    diff = run_git(["diff", "main", branch], cwd=repo)
    assert "separator.join(" in diff  # host A's committed attempt 1
    assert "test_slugify_collapses_repeated_separators" in diff  # host B's attempt 2
    assert run_git(["merge-base", "--is-ancestor", first["head_sha"], branch], cwd=repo) == ""
    assert ref_sha(repo, ref) == detail["head_sha"]
    # A web app on a third host (no job directory at all) shows the same diff, from the store.
    elsewhere = views.job_detail(ship.store, Settings(data_dir=tmp_path / "web-host").job_dirs, job_id)
    assert elsewhere["diff"] == detail["diff"] and "separator.join(" in elsewhere["diff"]

    # The job ends (a human approves, host B merges): its hidden ref is gone from the forge.
    ship.decide(job_id, "approve")
    with running_worker(host_b) as worker_b:
        detail = wait_for_job(ship, job_id, {"merged", "blocked", "failed"}, timeout=120, worker=worker_b)
    assert detail["state"] == "merged", f"{detail['reason']}\n{timeline(detail)}"
    deadline = time.monotonic() + 10  # removed by the worker right after it released the job
    while ref_sha(repo, ref) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ref_sha(repo, ref) is None
    assert run_git(["for-each-ref", "refs/shipyard"], cwd=repo).strip() == ""


@pytest.fixture
def ship(tmp_path, scrub_env) -> Shipyard:
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10))
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    return ship


def saved_job(ship: Shipyard) -> tuple[int, Path, str]:
    """A queued job whose commits a worker saved on the (local) forge under its hidden ref."""
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, TWO_HOSTS)
    repo = ship.settings.data_dir.parent / "textkit"
    ref = f"refs/shipyard/jobs/{job_id}"
    run_git(["update-ref", ref, "main"], cwd=repo)
    return job_id, repo, ref


def test_cancelling_a_job_that_no_worker_holds_removes_its_job_ref_from_the_forge(ship):
    job_id, repo, ref = saved_job(ship)
    assert run_git(["branch", "--list", "--all"], cwd=repo).split() == ["*", "main"]  # the job ref is no branch
    ship.cancel(job_id)
    assert views.job_detail(ship.store, ship.settings.job_dirs, job_id)["state"] == "cancelled"
    assert ref_sha(repo, ref) is None
    assert ref_sha(repo, "refs/heads/main")


def test_a_job_the_sweep_fails_after_too_many_recoveries_loses_its_job_ref(ship):
    job_id, repo, ref = saved_job(ship)
    with ship.store.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                state="running",
                lease_owner="gone:1:1",
                lease_expires_at=utcnow() - timedelta(seconds=60),
                recoveries=MAX_RECOVERIES,
            )
        )
    recover_stale_jobs(ship.settings, ship.store, ship.celery)
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
    assert detail["state"] == "failed" and "stopped 3 times" in detail["reason"], detail["reason"]
    assert ref_sha(repo, ref) is None


def test_the_sweep_and_jobs_gc_remove_job_refs_that_finished_jobs_left_on_the_forge(ship, monkeypatch):
    """A snapshot push still in flight when its job was cancelled re-creates the ref the cancel removed,
    and a worker killed right after never removes it again: the periodic sweep (and `jobs gc`) does.
    Refs of jobs still active, of jobs this deployment does not know, or not named by a job id stay."""
    from typer.testing import CliRunner

    from orchestrator.cli.main import app as cli_app
    from orchestrator.worker.celery_app import collect_job_dirs

    cancelled, repo, cancelled_ref = saved_job(ship)
    ship.cancel(cancelled)
    assert ref_sha(repo, cancelled_ref) is None
    run_git(["update-ref", cancelled_ref, "main"], cwd=repo)  # the push that was in flight lands
    waiting, _, waiting_ref = saved_job(ship)
    failed, _, failed_ref = saved_job(ship)
    with ship.store.session() as s:
        s.execute(update(Job).where(Job.id == failed).values(state="failed", finished_at=utcnow()))
    for foreign in ("refs/shipyard/jobs/99999", "refs/shipyard/jobs/notes"):
        run_git(["update-ref", foreign, "main"], cwd=repo)

    collect_job_dirs(ship.settings, ship.store)  # the workers' and web's periodic clean-up
    assert ref_sha(repo, cancelled_ref) is None
    assert ref_sha(repo, waiting_ref) and ref_sha(repo, failed_ref) is None
    assert ref_sha(repo, "refs/shipyard/jobs/99999") and ref_sha(repo, "refs/shipyard/jobs/notes")

    run_git(["update-ref", failed_ref, "main"], cwd=repo)
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))
    monkeypatch.setenv("SHIPYARD_SANDBOX_BACKEND", "local")
    result = CliRunner().invoke(cli_app, ["jobs", "gc"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"job {failed}: removed refs/shipyard/jobs/{failed} from textkit's forge" in result.output, result.output
    assert ref_sha(repo, failed_ref) is None and ref_sha(repo, waiting_ref)


def test_a_worker_that_cannot_rebuild_the_working_copy_fails_the_job_with_the_reason(tmp_path, ship):
    """The checkpoint names commits that neither this host nor the forge has (the ref was deleted by hand)."""
    from orchestrator.worker.job_runner import JobRunner

    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, TWO_HOSTS)
    runner = JobRunner(ship.settings, ship.store)
    with ship.store.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(state="queued"))
    # Run the job up to its pull request on this host, then lose the host's directory and the ref.
    assert runner.run(job_id) == "awaiting_review"
    repo = ship.settings.data_dir.parent / "textkit"
    shutil.rmtree(ship.settings.job_dirs.job(job_id))
    run_git(["update-ref", "-d", f"refs/shipyard/jobs/{job_id}"], cwd=repo)
    ship.decide(job_id, "request_changes", comment="Also describe the new behaviour in the docstring.")
    assert runner.run(job_id) == "failed"
    reason = views.job_detail(ship.store, ship.settings.job_dirs, job_id)["reason"]
    assert f"not on this host and not on the forge (no refs/shipyard/jobs/{job_id} on the forge)" in reason, reason
