"""Run eval tasks through the real pipeline, then judge each result with the hidden tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket, register_repository
from orchestrator.eval.instances import EvalError, EvalInstance, load_instances, repo_source
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.tables import JobState
from orchestrator.worker.process_group import start_worker, stop_worker
from orchestrator.worker.sandboxing import resolve_backend, sandbox_provider
from sandboxes.base import SandboxSpec
from workflows.gates.evidence_check import pytest_plugin_env
from workflows.gitops import GitError, GitRepo, run_git

SETTLED = {s.value for s in JobState if s.is_final or s.is_waiting_for_human}
PR_STATES = {JobState.AWAITING_REVIEW.value, JobState.MERGED.value}
HIDDEN_TEST_COMMAND = "python -m pytest -rA -q -p no:cacheprovider"


@dataclass
class InstanceResult:
    instance_id: str
    job_id: int
    state: str
    reason: str
    pr_opened: bool
    resolved: bool
    """Every FAIL_TO_PASS and PASS_TO_PASS test passes with the hidden test_patch applied."""
    failing_tests: list[str]
    cost_usd: float
    input_tokens: int
    output_tokens: int
    wall_s: float
    stop_reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EvalSetup:
    """What every model configuration of one eval run shares."""

    instances: Path
    """The tasks, in SWE-bench's JSONL schema."""
    cassettes: Path | None = None
    """Directory of ``<instance_id>.yml`` cassettes standing in for the model (None: real models)."""
    sandbox_backend: str = "auto"
    timeout_s: float = 1800
    """Longest wait for one configuration's jobs to settle."""


def prepare_repo(instance: EvalInstance, jsonl: Path, dest: Path) -> Path:
    """A local clone of the task's repository whose ``main`` is its ``base_commit``. A plain
    directory (no ``.git``) is snapshotted as one commit, so ``base_commit: HEAD`` names it."""
    source = repo_source(instance, jsonl)
    if Path(source).is_dir() and not (Path(source) / ".git").exists():
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", ".coverage", ".pytest_cache"))
        run_git(["init", "-q", "-b", "main"], cwd=dest)
        run_git(["add", "-A"], cwd=dest)
        run_git(["commit", "-q", "-m", f"{instance.instance_id}: snapshot of {instance.repo}"], cwd=dest)
    else:
        run_git(["clone", "-q", source, str(dest)])
    try:
        run_git(["checkout", "-q", "-B", "main", instance.base_commit], cwd=dest)
    except GitError as exc:
        raise EvalError(
            f"{instance.instance_id}: base_commit {instance.base_commit}: not in {instance.repo}: {exc}"
        ) from None
    return dest


def queue_instances(
    ship: Shipyard, jsonl: Path, instances: list[EvalInstance], cassettes: Path | None
) -> dict[str, int]:
    jobs = {}
    for instance in instances:
        cassette = None
        if cassettes is not None:
            cassette = cassettes / f"{instance.instance_id}.yml"
            if not cassette.is_file():
                raise EvalError(f"{cassettes}: no cassette {cassette.name} for instance {instance.instance_id}")
        repo = prepare_repo(instance, jsonl, ship.settings.data_dir / "eval-repos" / instance.instance_id)
        register_repository(ship.store, repo, name=instance.instance_id)
        ticket = add_ticket(
            ship.store,
            repo=instance.instance_id,
            title=instance.title,
            body=instance.body,
            labels=["shipyard"],
            cassette=cassette,
        )
        jobs[instance.instance_id], _ = ship.enqueue_ticket(ticket.id)
    return jobs


def wait_until_settled(ship: Shipyard, job_ids: list[int], worker: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = {j["id"]: j["state"] for j in views.list_jobs(ship.store) if j["id"] in job_ids}
        if all(states.get(j) in SETTLED for j in job_ids):
            return
        if worker.poll() is not None:
            raise EvalError(f"the worker exited ({worker.returncode}); see {ship.settings.data_dir / 'worker.log'}")
        time.sleep(0.5)
    raise EvalError(f"jobs not settled after {timeout_s:.0f}s: {states}")


def hidden_test_failures(settings: Settings, job_id: int, sha: str, instance: EvalInstance) -> list[str]:
    """Apply ``test_patch`` to ``sha`` in a fresh sandbox and run FAIL_TO_PASS + PASS_TO_PASS;
    returns the tests that did not pass (empty: resolved)."""
    tests = [*instance.FAIL_TO_PASS, *instance.PASS_TO_PASS]
    sandbox = sandbox_provider(settings).acquire(SandboxSpec(image=settings.sandbox_image, command_timeout_s=600))
    try:
        GitRepo(settings.job_dirs.git(job_id)).checkout(sha, sandbox.host_workspace)
        applied = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            input=instance.test_patch.encode(),
            cwd=sandbox.host_workspace,
            capture_output=True,
        )
        if applied.returncode != 0:
            return [f"(test_patch does not apply: {applied.stderr.decode(errors='replace').strip()[:300]})"]
        ids = " ".join(_quote(t) for t in tests)
        # As in the gate's runs, no installed pytest plugin autoloads: none can change the verdict.
        result = sandbox.exec(f"{HIDDEN_TEST_COMMAND} {ids}", timeout_s=600, env=pytest_plugin_env([]))
    finally:
        sandbox.close()
    passed = set(re.findall(r"^PASSED (\S+)", result.output, re.MULTILINE))
    return [t for t in tests if t not in passed]


def _quote(test_id: str) -> str:
    return "'" + test_id.replace("'", "'\\''") + "'"


def judge(ship: Shipyard, instance: EvalInstance, job_id: int, wall_s: float) -> InstanceResult:
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id) or {}
    head, base = detail.get("head_sha"), detail.get("base_sha")
    failing = (
        hidden_test_failures(ship.settings, job_id, head, instance) if head and head != base else ["(no change made)"]
    )
    usage = detail.get("cost_by_model") or []
    return InstanceResult(
        instance_id=instance.instance_id,
        job_id=job_id,
        state=detail.get("state", "?"),
        reason=detail.get("reason") or "",
        pr_opened=detail.get("state") in PR_STATES,
        resolved=not failing,
        failing_tests=failing,
        cost_usd=sum(u["cost_usd"] for u in usage),
        input_tokens=sum(u["input_tokens"] for u in usage),
        output_tokens=sum(u["output_tokens"] for u in usage),
        wall_s=wall_s,
        stop_reasons=[a["outcome"] or "" for a in detail.get("attempt_list", [])],
    )


def run_eval(setup: EvalSetup, *, data_dir: Path, models_file: Path | None = None, label: str = "") -> dict:
    """Run every task once with one model configuration; returns the report (``report.summarize``)."""
    from orchestrator.eval.scorecard import summarize

    jsonl, cassettes = setup.instances, setup.cassettes
    instances = load_instances(jsonl)
    data_dir.mkdir(parents=True, exist_ok=True)
    backend = resolve_backend(setup.sandbox_backend)
    settings = Settings(data_dir=data_dir, sandbox_backend=backend, models_file=models_file)
    ship = Shipyard.load(settings)
    started = time.monotonic()
    jobs = queue_instances(ship, jsonl, instances, cassettes)
    env = {"SHIPYARD_MODELS_FILE": str(models_file)} if models_file else {}
    worker = start_worker(settings, env)
    try:
        wait_until_settled(ship, list(jobs.values()), worker, setup.timeout_s)
    finally:
        stop_worker(worker)
    wall = time.monotonic() - started
    results = [judge(ship, i, jobs[i.instance_id], wall / len(instances)) for i in instances]
    name = label or (models_file.stem if models_file else ("cassettes" if cassettes else "default catalogue"))
    return summarize(name, results)
