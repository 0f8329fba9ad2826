"""code: one attempt of the tool-using agent in the sandbox, snapshotted as a commit."""

from __future__ import annotations

import time
from dataclasses import replace

from langchain_core.runnables import RunnableConfig

from agents import prompts
from agents.context_window import HistoryCompactor
from agents.loop import AgentLimits, AgentResult, run_coding_agent
from agents.task import CodingTask, FeedbackSource, WorkspaceFacts
from sandboxes.base import Sandbox, SandboxError, SandboxSpec
from sandboxes.repo_image import image_for
from workflows.gates.evidence_check import pytest_plugin_env
from workflows.gates.protected import BUILTIN_PROTECTED, PROTECTED_PYPROJECT_TABLES
from workflows.gitops import GitRepo, OversizedFile
from workflows.job_refs import save_job_commit
from workflows.nodes import fallback_after, pause_update, route, services_of
from workflows.nodes.prepare import git_dir
from workflows.nodes.repo_briefing import base_tree, instructions_of, repo_map_of
from workflows.ports import JobServices
from workflows.repo_config import RepoConfig
from workflows.state import TicketState, pause_reason


def configured_spec(cfg: RepoConfig, image: str, labels: dict[str, str] | None = None) -> SandboxSpec:
    """The sandbox a repository's configuration asks for: its limits, its network policy, and the
    test command's timeout as each command's."""
    return SandboxSpec(
        image=image,
        network=cfg.sandbox.network,
        memory_mb=cfg.sandbox.memory_mb,
        cpus=cfg.sandbox.cpus,
        pids=cfg.sandbox.pids,
        disk_mb=cfg.sandbox.disk_mb,
        command_timeout_s=cfg.test.timeout_s,
        labels=labels or {},
    )


def sandbox_spec(services: JobServices, state: TicketState, cfg: RepoConfig) -> SandboxSpec:
    return configured_spec(cfg, sandbox_image(services, state, cfg), {"shipyard.job": str(state["job_id"])})


def sandbox_image(services: JobServices, state: TicketState, cfg: RepoConfig) -> str:
    """The repository's image: named in ``.shipyard.yml``, built from its Dockerfile (cached by
    hash, Docker backend only), or the deployment's default."""
    if cfg.sandbox.dockerfile and services.sandboxes.name == "docker":
        if services.live.image is None:
            services.live.image = image_for(
                base_tree(services, state), cfg.sandbox, report=lambda msg: services.recorder.event("sandbox", msg)
            )
        return services.live.image
    return cfg.sandbox.image or services.sandbox_image


def coding_sandbox(services: JobServices, state: TicketState, cfg: RepoConfig) -> Sandbox:
    """The job's coding sandbox at the current head, started (and set up) on first use in this run."""
    sandbox = services.live.sandbox
    if sandbox is None:
        sandbox = services.sandboxes.acquire(sandbox_spec(services, state, cfg))
        services.live.sandbox = sandbox
        GitRepo(git_dir(services.job_dir)).checkout(state["head_sha"], sandbox.host_workspace)
        where = "isolated" if sandbox.isolated else "NOT ISOLATED: plain subprocess on the host"
        services.recorder.event("sandbox", f"sandbox {sandbox.backend} ({where}) at {state['head_sha'][:10]}")
        services.recorder.set_job(sandbox_backend=sandbox.backend)
        for result in sandbox.run_setup(cfg.setup):
            if not result.ok:
                raise SandboxError(f"setup command failed ({result.describe_failure()}): {result.output[-2000:]}")
        if sandbox.environment_report is not None:
            services.recorder.event("sandbox", sandbox.environment_report.describe())
    return sandbox


def code(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    cfg = RepoConfig.model_validate(state["config"])
    pause = state.get("paused")
    paused = pause is not None and pause["step"] == "code"
    attempt = state.get("attempt", 0) + (0 if paused else 1)
    routed = route(services, state, "code", attempt=attempt, failures=state.get("gate_failures", 0))
    services.recorder.attempt_started(attempt, routed.spec_name, routed.reason)
    try:
        sandbox = coding_sandbox(services, state, cfg)
    except SandboxError as exc:
        services.recorder.attempt_finished(attempt, "sandbox_failed", str(exc))
        return {"attempt": attempt, "outcome": "blocked", "reason": f"the sandbox could not be prepared: {exc}"}
    task = coding_task(services, state, cfg, sandbox, attempt=attempt, resumed=paused)
    limits = AgentLimits(
        max_steps=cfg.agent.max_steps, deadline_epoch=time.time() + services.attempt_time_limit_s, retry=services.retry
    )
    compactor = HistoryCompactor(
        summarizer_factory=lambda: route(services, state, "summarize").model, recorder=services.recorder
    )
    result = run_attempt(services, state, sandbox, routed, task, limits, compactor)
    ends_job = job_ending(result)
    try:
        head = _snapshot(services, state, sandbox, cfg, attempt, f"{state['ticket']['title']}\n\n{result.summary}")
    except OversizedFile as exc:
        if not ends_job:
            services.recorder.attempt_finished(attempt, "oversized_file", str(exc))
            return {"attempt": attempt, "outcome": "blocked", "reason": str(exc)}
        # What stopped the attempt comes first: a full disk is why the workspace holds a big file.
        reason = f"{ends_job}: {result.detail or result.summary}; {exc}"
        services.recorder.attempt_finished(attempt, result.stop_reason, reason)
        return {"attempt": attempt, "outcome": "blocked", "reason": reason}
    services.recorder.event("agent", f"attempt {attempt} ended: {result.stop_reason} after {result.steps} steps")
    pause = result.budget or result.provider
    if pause is None and not ends_job and _ignored_review(services, state, head):
        return _no_change_for_review(services, state, cfg, attempt)
    services.recorder.attempt_finished(attempt, result.stop_reason, result.detail or result.summary, head_sha=head)
    update: TicketState = {"attempt": attempt, "head_sha": head, "paused": None, "no_change": False}
    if pause is not None:
        # The work so far is committed; the attempt resumes once a human extends the spending
        # limit or the provider answers again.
        update |= pause_update(services, "code", pause)
    elif ends_job:
        update |= {"outcome": "blocked", "reason": f"{ends_job}: {result.detail or result.summary}"}
    return update


NO_CHANGE = "the agent made no change for your comments"


def _ignored_review(services: JobServices, state: TicketState, head: str) -> bool:
    """An attempt answering a reviewer's comments that ended without changing a file."""
    if state.get("feedback_from") != "review":
        return False
    repo = GitRepo(git_dir(services.job_dir))
    return (
        repo.git("rev-parse", f"{head}^{{tree}}").strip()
        == repo.git("rev-parse", f"{state['head_sha']}^{{tree}}").strip()
    )


def _no_change_for_review(services: JobServices, state: TicketState, cfg: RepoConfig, attempt: int) -> TicketState:
    """Not put back in front of the reviewer as if addressed: a failed attempt, then another
    attempt told so, or (no attempt left) the job stops saying why. The pull request keeps its commit."""
    services.recorder.set_job(head_sha=state["head_sha"])
    services.recorder.attempt_finished(attempt, "no_change", NO_CHANGE)
    services.recorder.event("review", f"attempt {attempt}: {NO_CHANGE}; the pull request is not put back for review")
    update: TicketState = {"attempt": attempt, "paused": None, "gate_failures": state.get("gate_failures", 0) + 1}
    if attempt >= cfg.agent.max_attempts:
        reason = (
            f"{NO_CHANGE} (attempt {attempt} of {cfg.agent.max_attempts}); "
            "the pull request is unchanged and still open — reject it to close it, or retry the ticket as a new job"
        )
        return update | {"outcome": "blocked", "reason": reason}
    comments = state.get("feedback", "")
    # After a second attempt that changed nothing, the comments already say so.
    said = comments.startswith(prompts.render("no_change_feedback", comments=""))
    feedback = comments if said else prompts.render("no_change_feedback", comments=comments)
    return update | {"no_change": True, "feedback": feedback, "feedback_from": "review"}


def run_attempt(
    services: JobServices,
    state: TicketState,
    sandbox: Sandbox,
    routed,
    task: CodingTask,
    limits: AgentLimits,
    compactor: HistoryCompactor,
) -> AgentResult:
    """One attempt of the agent; when the model's provider stops answering and the catalogue names
    a fallback, the attempt goes on with it (each model at most once), told why and what is there."""
    tried = {routed.spec_name}
    while True:
        result = run_coding_agent(
            routed.model,
            sandbox,
            task,
            recorder=services.recorder,
            limits=limits,
            guard=services.budget,
            compactor=compactor,
            diff_source=lambda: workspace_diff(services, state, sandbox),
            should_cancel=services.cancelled,
        )
        if result.provider is None:
            return result
        fallback = fallback_after(services, routed, "code", result.provider, tried, attempt=task.attempt)
        if fallback is None:
            return result
        routed = fallback
        services.recorder.attempt_started(task.attempt, routed.spec_name, routed.reason)
        task = replace(
            task,
            feedback=prompts.render(
                "fallback_feedback", cause=str(result.provider), model=routed.spec_name, earlier=task.feedback
            ),
            feedback_from="provider",
            previous_work=bool(workspace_diff(services, state, sandbox).strip()),
        )


STOPS_THE_JOB = {
    "stuck": "the agent is stuck (repeating itself without progress)",
    "error": "the attempt could not go on (model or sandbox failure)",
    "cancelled": "the job was cancelled",
}
"""Agent stop reasons that end the job (blocked) instead of going to the gate."""


def job_ending(result: AgentResult) -> str:
    """Why the job ends with this attempt (the start of its reason); empty when the work goes on
    (to the gate, or to a pause). A model that stopped answering says so itself."""
    if result.model_stopped is not None:
        return result.model_stopped.ends_job
    return STOPS_THE_JOB.get(result.stop_reason, "")


def feedback_source(state: TicketState, resumed: bool) -> FeedbackSource:
    """Who wrote the feedback the next attempt must address."""
    pause = state.get("paused")
    if resumed:
        return "provider" if pause is not None and pause["kind"] == "provider" else "budget"
    source = state.get("feedback_from") or ""
    if state.get("feedback") and not source:
        return "gate"
    return source if source in ("gate", "review") else ""  # type: ignore[return-value]


def coding_task(
    services: JobServices, state: TicketState, cfg: RepoConfig, sandbox: Sandbox, *, attempt: int, resumed: bool
) -> CodingTask:
    """The attempt's task, with every fact read from the state and the checked-out workspace."""
    source = feedback_source(state, resumed)
    feedback = (pause_reason(state) if source in ("budget", "provider") else "") or state.get("feedback", "")
    protected = [*BUILTIN_PROTECTED, *cfg.gates.protected_paths]
    kind = state.get("kind", "feature")
    protected.append("pyproject.toml tables " + ", ".join(f"[tool.{t}]" for t in PROTECTED_PYPROJECT_TABLES))
    facts = WorkspaceFacts(
        has_git=(sandbox.host_workspace / ".git").exists(),
        protected_paths=tuple(protected),
        coverage_target=cfg.gates.coverage.target if cfg.gates.coverage.enabled else None,
        max_steps=cfg.agent.max_steps,
        tests_required=cfg.gates.require_tests,
        tests_waived_without_code=kind if kind in cfg.gates.waive_tests_for_kinds else "",
    )
    return CodingTask(
        ticket_title=state["ticket"]["title"],
        ticket_body=state["ticket"]["body"],
        instructions=instructions_of(services, state),
        feedback=feedback,
        feedback_from=source,
        plan=state.get("plan", ""),
        previous_work=state.get("head_sha") != state.get("base_sha"),
        attempt=attempt,
        test_command=cfg.test.command,
        select_test_command=cfg.test.select_command,
        test_env=pytest_plugin_env(cfg.gates.pytest_plugins),
        repo_map=repo_map_of(services, state),
        workspace=facts,
    )


def workspace_diff(services: JobServices, state: TicketState, sandbox: Sandbox) -> str:
    """The workspace's changes against the base commit, computed on the host (the workspace has no .git)."""
    repo = GitRepo(git_dir(services.job_dir))
    cfg = RepoConfig.model_validate(state["config"])
    snapshot = repo.commit_worktree(
        sandbox.host_workspace,
        state["head_sha"],
        "diff preview",
        scrub=services.redactor,
        max_bytes=max_file_bytes(cfg),
    )
    return repo.git("diff", "--no-color", "--no-ext-diff", "--find-renames", state["base_sha"], snapshot)


def _snapshot(
    services: JobServices, state: TicketState, sandbox: Sandbox, cfg: RepoConfig, attempt: int, message: str
) -> str:
    """Commit the workspace so no work is lost, whatever happens next."""
    sha = GitRepo(git_dir(services.job_dir)).commit_worktree(
        sandbox.host_workspace, state["head_sha"], message, scrub=services.redactor, max_bytes=max_file_bytes(cfg)
    )
    services.recorder.set_job(head_sha=sha)
    save_job_commit(
        services, state["repo"], state["job_id"], sha
    )  # before the checkpoint names it: any host can resume
    return sha


def max_file_bytes(cfg: RepoConfig) -> int:
    """The gate's file size limit (``gates.max_file_mb``), which snapshots of the workspace keep too."""
    return int(cfg.gates.max_file_mb * 2**20)
