"""Run eval tasks through the real pipeline, then judge each result with the hidden tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket, register_repository
from orchestrator.eval.instances import EvalError, EvalInstance, load_instances, repo_source
from orchestrator.eval.judge import job_config, run_hidden_tests
from orchestrator.eval.predictions import Prediction
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.tables import JobState
from orchestrator.worker.process_group import start_worker, stop_worker
from orchestrator.worker.sandboxing import resolve_backend
from workflows.gitops import GitError, GitRepo, run_git
from workflows.repo_config import ConfigError

SETTLED = {s.value for s in JobState if s.is_final or s.is_waiting_for_human}
PR_STATES = {JobState.AWAITING_REVIEW.value, JobState.MERGED.value}


@dataclass
class InstanceResult:
    """One task's verdict: a job's (``shipyard eval``) or a scored prediction's (``--score-predictions``)."""

    instance_id: str
    job_id: int
    """0: no job (a scored prediction's patch goes straight to the gate)."""
    state: str
    """The job's final state; for a scored prediction ``gate_passed`` (a PR would open), ``blocked``
    (the gate refused it) or ``no_change`` (an empty patch)."""
    reason: str
    pr_opened: bool
    resolved: bool
    """Every FAIL_TO_PASS and PASS_TO_PASS test passes with the hidden test_patch applied."""
    failing_tests: list[str]
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    wall_s: float = 0.0
    stop_reasons: list[str] = field(default_factory=list)
    log: str = ""
    """The per-instance log: test-file resets, ``test_patch``, setup and test output."""


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
        try:
            run_git(["clone", "-q", source, str(dest)])
        except GitError as exc:
            raise EvalError(f"{instance.instance_id}: repo {instance.repo}: cannot clone: {exc}") from None
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


def judge(ship: Shipyard, instance: EvalInstance, job_id: int, wall_s: float, logs: Path) -> InstanceResult:
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id) or {}
    head, base = detail.get("head_sha"), detail.get("base_sha")
    log = logs / f"{instance.instance_id}.log"
    if head and base and head != base:
        repo = GitRepo(ship.settings.job_dirs.git(job_id))
        try:
            cfg = job_config(ship.store, repo, base, instance.instance_id)
            hidden = run_hidden_tests(ship.settings, repo, cfg, head, base, instance)
            failing, lines = hidden.failing, hidden.log
        except ConfigError as exc:
            failing, lines = [f"(invalid configuration: {exc})"], [f"instance {instance.instance_id}: {exc}"]
    else:
        failing, lines = ["(no change made)"], [f"instance {instance.instance_id}: job {job_id} made no change"]
    lines.insert(1, f"job state: {detail.get('state', '?')}; reason: {detail.get('reason') or '-'}")
    log.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
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
        wall_s=_lifetime(detail) or wall_s,
        stop_reasons=[a["outcome"] or "" for a in detail.get("attempt_list", [])],
        log=str(log),
    )


def _lifetime(detail: dict) -> float | None:
    """Seconds from the job's creation to its settling (its last change while it waits for a human)."""
    end = detail.get("finished_at") or detail.get("updated_at")
    if not (end and detail.get("created_at")):
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(detail["created_at"])).total_seconds(), 1)


def model_patch(ship: Shipyard, job_id: int) -> str:
    """The job's change as one diff against its base commit (empty when it made none)."""
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id) or {}
    head, base = detail.get("head_sha"), detail.get("base_sha")
    if not (head and base) or head == base:
        return ""
    return GitRepo(ship.settings.job_dirs.git(job_id)).git("diff", "--binary", "--full-index", base, head)


def run_eval(
    setup: EvalSetup,
    *,
    data_dir: Path,
    models_file: Path | None = None,
    label: str = "",
    predictions: list[Prediction] | None = None,
) -> dict:
    """Run every task once with one model configuration; returns the report (``report.summarize``).
    ``predictions``: each task's change is appended there in SWE-bench's predictions format."""
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
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    results = [judge(ship, i, jobs[i.instance_id], wall / len(instances), logs) for i in instances]
    name = label or (models_file.stem if models_file else ("cassettes" if cassettes else "default catalogue"))
    if predictions is not None:
        who = "shipyard/" + "-".join(name.split())
        predictions += [Prediction(i.instance_id, who, model_patch(ship, jobs[i.instance_id])) for i in instances]
    return summarize(name, results, run_wall_s=wall)
