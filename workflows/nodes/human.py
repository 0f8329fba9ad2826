"""Human gates: the workflow pauses durably (LangGraph ``interrupt``) until a person decides.

Each gate is its own node so that resuming re-runs nothing but the wait itself. What a paused
job waits for is a :data:`WaitingFor`; the control plane reads it from the workflow's last
checkpoint with :func:`waiting_for` and resumes the thread with a :class:`~workflows.state.Decision`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot, interrupt

from agents.resilience import ProviderUnavailable
from workflows.nodes import services_of
from workflows.ports import JobServices
from workflows.state import Decision, Gate, PausingStep, TicketState, pause_reason


@dataclass(frozen=True)
class _Wait:
    gate: ClassVar[Gate]

    def payload(self) -> dict[str, Any]:
        """The plain data the gate node interrupts with (what the checkpoint keeps)."""
        return {"gate": self.gate, **asdict(self)}


@dataclass(frozen=True)
class PlanApproval(_Wait):
    """The plan waits for a human to approve it, ask for changes or reject it."""

    gate: ClassVar[Gate] = "plan"
    plan: str


@dataclass(frozen=True)
class BudgetExtension(_Wait):
    """A spending limit was reached: a human extends the budget (``extra_usd``) or stops the job."""

    gate: ClassVar[Gate] = "budget"
    reason: str
    """The limit reached."""


@dataclass(frozen=True)
class ProviderOutage(_Wait):
    """The model's provider stopped answering: a worker's probe resumes the job once it answers
    again, or a human resumes (approve) or stops (reject) it."""

    gate: ClassVar[Gate] = "provider"
    reason: str
    """The step, provider, model and URL that did not answer."""


@dataclass(frozen=True)
class PullRequestReview(_Wait):
    """The pull request waits for a reviewer to approve (merge), request changes or reject (close) it."""

    gate: ClassVar[Gate] = "pr"
    pr_number: int | None
    pr_url: str | None
    merge_refused: str = ""
    """Why the forge refused the approved merge (a person can fix it, then approve again); empty otherwise."""

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"gate": self.gate, "pr_number": self.pr_number, "pr_url": self.pr_url}
        if self.merge_refused:
            payload["reason"] = self.merge_refused
        return payload


WaitingFor = PlanApproval | BudgetExtension | ProviderOutage | PullRequestReview
"""What a paused ticket workflow waits for; ``.gate`` names the gate."""


def waiting_for(snapshot: StateSnapshot) -> WaitingFor | None:
    """What the workflow thread of ``snapshot`` (``graph.get_state(config)``) waits for, or None
    when it is not waiting at a gate (it ended, or has not started)."""
    for task in snapshot.tasks:
        for pending in task.interrupts:
            return _from_payload(pending.value)
    return None


def _from_payload(value: Any) -> WaitingFor:
    """The interrupt's value, as the gate nodes store it in the checkpoint (plain data)."""
    gate = value.get("gate", "pr")
    if gate == "plan":
        return PlanApproval(plan=value.get("plan", ""))
    if gate == "budget":
        return BudgetExtension(reason=value.get("reason", ""))
    if gate == "provider":
        return ProviderOutage(reason=value.get("reason", ""))
    if gate == "pr":
        return PullRequestReview(value.get("pr_number"), value.get("pr_url"), value.get("reason", ""))
    raise ValueError(f"the workflow waits at an unknown gate {gate!r}")


def _wait(waiting: WaitingFor) -> Decision:
    """Pause the thread until a decision resumes it; returns the decision (without ``gate``)."""
    decision: Decision = interrupt(waiting.payload())
    return decision


def await_plan_approval(state: TicketState, config: RunnableConfig) -> TicketState:
    decision = _wait(PlanApproval(plan=state.get("plan", "")))
    services_of(config).recorder.event("review", f"plan {_verb(decision, 'plan')}", **decision)
    return {"decision": {"gate": "plan", **decision}}


def await_budget(state: TicketState, config: RunnableConfig) -> TicketState:
    decision = _wait(BudgetExtension(reason=pause_reason(state)))
    services_of(config).recorder.event("review", f"budget extension {_verb(decision, 'budget')}", **decision)
    # The extension itself is stored with the decision and applied by the budget guard's limits.
    return {"decision": {"gate": "budget", **decision}}


def budget_pause(step: PausingStep, reason: str) -> TicketState:
    """The state update of a step stopped at a spending limit: the job waits for a human."""
    return {"paused": {"kind": "budget", "step": step, "reason": reason}}


def provider_pause(services: JobServices, step: PausingStep, exc: ProviderUnavailable) -> TicketState:
    """The state update of a step whose provider stopped answering: the job waits, nothing is lost."""
    reason = f"{step}: {exc}"
    services.recorder.event(
        "awaiting_provider", reason, step=step, spec=exc.spec_name, provider=exc.provider, model=exc.model, url=exc.url
    )
    return {"paused": {"kind": "provider", "step": step, "reason": reason}}


def await_provider(state: TicketState, config: RunnableConfig) -> TicketState:
    """Wait for the provider: a worker's probe resumes the job once the model answers again,
    or a human resumes (approve) or stops (reject) it."""
    decision: Decision = {"gate": "provider", **_wait(ProviderOutage(reason=pause_reason(state)))}
    services_of(config).recorder.event("review", f"provider wait {_verb(decision, 'provider')}", **decision)
    return {"decision": decision}


def await_review(state: TicketState, config: RunnableConfig) -> TicketState:
    decision = _wait(
        PullRequestReview(state.get("pr_number"), state.get("pr_url"), merge_refused=state.get("merge_refused", ""))
    )
    services = services_of(config)
    services.recorder.event("review", f"pull request {_verb(decision, 'pr')}", **decision)
    update: TicketState = {"decision": {"gate": "pr", **decision}, "merge_refused": ""}
    if decision.get("decision") == "request_changes":
        update |= {"feedback": review_feedback(decision), "feedback_from": "review"}
    return update


def review_feedback(decision: Decision) -> str:
    """The reviewer's words for the next attempt: the comment, then each comment on a line of the diff."""
    parts = [decision["comment"]] if decision.get("comment", "").strip() else []
    lines = decision.get("line_comments") or []
    if lines:
        parts.append(
            "Comments on lines of the diff (line numbers in the changed file):\n"
            + "\n".join(f"- {c['path']}:{c['line']}: {c['body']}" for c in lines)
        )
    return "\n\n".join(parts) or "(no comment given)"


def _verb(decision: Decision, gate: Gate) -> str:
    verb = {
        "approve": "resumed" if gate == "provider" else "approved",
        "reject": "rejected",
        "request_changes": "changes requested",
    }.get(decision.get("decision", ""), "decided")
    comment = decision.get("comment")
    lines = decision.get("line_comments") or []
    on_lines = "; ".join(f"{c['path']}:{c['line']}: {c['body']}" for c in lines)
    return f"{verb}" + (f": {comment}" if comment else "") + (f" — on lines: {on_lines}" if on_lines else "")
