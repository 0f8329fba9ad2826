"""``shipyard eval --score-predictions``: another agent's patches through Shipyard's gate and hidden tests.

Each patch is committed on the task's ``base_commit`` in a fresh clone and checked by the same
``run_gates`` a job's gate step calls (with the repository's ``.shipyard.yml``), then judged by the
hidden tests as in ``orchestrator.eval.judge``: gate precision and recall per agent."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from orchestrator.eval.instances import EvalError, EvalInstance, load_instances
from orchestrator.eval.judge import gate_spec, job_config, run_hidden_tests
from orchestrator.eval.predictions import Prediction, load_predictions
from orchestrator.eval.run import InstanceResult, prepare_repo
from orchestrator.settings import Settings
from orchestrator.worker.sandboxing import resolve_backend, sandbox_provider
from workflows.gates import run_gates
from workflows.gitops import GitRepo, run_git
from workflows.repo_config import ConfigError


def _commit_patch(clone: Path, patch: str, who: str) -> str | None:
    applied = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "-"], input=patch.encode(), cwd=clone, capture_output=True
    )
    if applied.returncode != 0:
        return None
    run_git(["add", "-A"], cwd=clone)
    run_git(["-c", "user.name=eval", "-c", "user.email=eval@localhost", "commit", "-q", "-m", who], cwd=clone)
    return run_git(["rev-parse", "HEAD"], cwd=clone).strip()


def score_one(settings: Settings, jsonl: Path, instance: EvalInstance, pred: Prediction, work: Path) -> InstanceResult:
    """The gate's verdict and the hidden tests' on one prediction, each in its own fresh sandboxes."""
    started = time.monotonic()
    clone = prepare_repo(instance, jsonl, work / "repo")
    base = run_git(["rev-parse", "HEAD"], cwd=clone).strip()
    repo = GitRepo(clone / ".git")
    log_path = work / "hidden-tests.log"
    result = InstanceResult(instance.instance_id, 0, "no_change", "the prediction's patch is empty", False, False, [])
    lines = [f"prediction of {pred.model_name_or_path} for {instance.instance_id}"]
    head = _commit_patch(clone, pred.model_patch, pred.model_name_or_path) if pred.model_patch.strip() else None
    if pred.model_patch.strip() and head is None:
        result.state, result.reason = "blocked", "the patch does not apply to base_commit"
        result.failing_tests = ["(model_patch does not apply)"]
    elif head is not None:
        try:
            cfg = job_config(None, repo, base, instance.instance_id)
        except ConfigError as exc:
            raise EvalError(f"{instance.instance_id}: {exc}") from None
        report = run_gates(
            repo=repo,
            base_sha=base,
            candidate_sha=head,
            config=cfg,
            ticket_kind="bug",
            sandboxes=sandbox_provider(settings),
            spec=gate_spec(settings, cfg),
            cache_dir=settings.cache_dir,
        )
        result.pr_opened = report.passed
        result.state = "gate_passed" if report.passed else "blocked"
        result.reason = "all gates passed" if report.passed else "; ".join(report.failed_reasons())
        lines.append(f"gate: {result.reason}")
        hidden = run_hidden_tests(settings, repo, cfg, head, base, instance)
        result.failing_tests, lines = hidden.failing, lines + hidden.log
        result.resolved = not hidden.failing
    else:
        result.failing_tests = ["(no change made)"]
    log_path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    result.log, result.wall_s = str(log_path), round(time.monotonic() - started, 1)
    return result


def score_predictions(jsonl: Path, predictions: Path, *, data_dir: Path, sandbox_backend: str) -> list[dict]:
    """One report per ``model_name_or_path`` in ``predictions``: what Shipyard's gate would have let
    through from that agent, and what the hidden tests say of it."""
    from orchestrator.eval.scorecard import summarize

    instances = {i.instance_id: i for i in load_instances(jsonl)}
    preds = load_predictions(predictions)
    unknown = sorted({p.instance_id for p in preds} - set(instances))
    if unknown:
        raise EvalError(f"{predictions}: instance_id not in {jsonl.name}: {', '.join(unknown)}")
    settings = Settings(data_dir=data_dir, sandbox_backend=resolve_backend(sandbox_backend))
    data_dir.mkdir(parents=True, exist_ok=True)
    by_agent: dict[str, list[Prediction]] = {}
    for pred in preds:
        by_agent.setdefault(pred.model_name_or_path, []).append(pred)
    reports = []
    for n, (agent, agent_preds) in enumerate(by_agent.items(), start=1):
        started = time.monotonic()
        results = [
            score_one(settings, jsonl, instances[p.instance_id], p, data_dir / f"agent-{n}" / p.instance_id)
            for p in agent_preds
        ]
        reports.append(summarize(f"{agent} (predictions)", results, run_wall_s=time.monotonic() - started))
    return reports
