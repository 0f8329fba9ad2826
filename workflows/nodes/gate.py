"""gate: the orchestrator's own checks on the candidate commit, in fresh sandboxes."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from workflows.gates import run_gates
from workflows.gitops import GitRepo
from workflows.nodes import services_of
from workflows.nodes.code import sandbox_spec
from workflows.nodes.prepare import git_dir
from workflows.repo_config import RepoConfig
from workflows.state import TicketState


def gate(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    cfg = RepoConfig.model_validate(state["config"])
    attempt = state["attempt"]
    report = run_gates(
        repo=GitRepo(git_dir(services.job_dir)),
        base_sha=state["base_sha"],
        candidate_sha=state["head_sha"],
        config=cfg,
        ticket_kind=state.get("kind", "feature"),
        sandboxes=services.sandboxes,
        spec=sandbox_spec(services, state, cfg),
        cache_dir=services.cache_dir,
        on_event=lambda kind, message: services.recorder.event(kind, message),
    )
    services.recorder.gate_result(attempt, report)
    coverage = report.check("diff_coverage")
    uncovered = dict((coverage.details.get("uncovered") or {}) if coverage else {})
    if report.passed:
        services.recorder.attempt_finished(attempt, "gate_passed", "all gates passed")
        return {
            "gate_passed": True,
            "gate_markdown": report.to_markdown(),
            "feedback": "",
            "feedback_from": "",
            "gate_uncovered": uncovered,
        }
    reasons = "; ".join(report.failed_reasons())
    services.recorder.attempt_finished(attempt, "gate_failed", reasons)
    failures = state.get("gate_failures", 0) + 1
    update: TicketState = {
        "gate_passed": False,
        "gate_failures": failures,
        "gate_markdown": report.to_markdown(),
        "gate_uncovered": uncovered,
    }
    update |= {"feedback": report.summary_for_agent(), "feedback_from": "gate"}
    if report.base_error:
        update["outcome"] = "blocked"
        update["reason"] = (
            f"the base commit's tests could not be measured, so no attempt can pass the gate: {report.base_error}. "
            f"Fix the repository's test command (check it with `shipyard doctor {state['repo']['name']}`), then retry"
        )
    elif attempt >= cfg.agent.max_attempts:
        update |= {"outcome": "blocked", "reason": f"quality gate failed after {attempt} attempt(s): {reasons}"}
    return update
