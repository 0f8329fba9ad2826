"""Human gates: the workflow pauses durably (LangGraph ``interrupt``) until a person decides.

Each gate is its own node so that resuming re-runs nothing but the wait itself.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from agents.resilience import ProviderUnavailable
from workflows.nodes import services_of
from workflows.state import TicketState


def await_plan_approval(state: TicketState, config: RunnableConfig) -> dict:
    decision = interrupt({"gate": "plan", "plan": state.get("plan", "")})
    services_of(config).recorder.event("review", f"plan {_verb(decision)}", **decision)
    return {"decision": {"gate": "plan", **decision}}


def await_budget(state: TicketState, config: RunnableConfig) -> dict:
    decision = interrupt({"gate": "budget", "reason": state.get("budget_paused", "")})
    services_of(config).recorder.event("review", f"budget extension {_verb(decision)}", **decision)
    # The extension itself is stored with the decision and applied by the budget guard's limits.
    return {"decision": {"gate": "budget", **decision}}


def provider_pause(services, step: str, exc: ProviderUnavailable) -> dict:
    """The state update of a step whose provider stopped answering: the job waits, nothing is lost."""
    reason = f"{step}: {exc}"
    services.recorder.event(
        "awaiting_provider", reason, step=step, spec=exc.spec_name, provider=exc.provider, model=exc.model, url=exc.url
    )
    return {"provider_paused": reason, "paused_at": step}


def await_provider(state: TicketState, config: RunnableConfig) -> dict:
    """Wait for the provider: a worker's probe resumes the job once the model answers again,
    or a human resumes (approve) or stops (reject) it."""
    decision = interrupt({"gate": "provider", "reason": state.get("provider_paused", "")})
    decision = {"gate": "provider", **decision}
    services_of(config).recorder.event("review", f"provider wait {_verb(decision)}", **decision)
    return {"decision": decision}


def await_review(state: TicketState, config: RunnableConfig) -> dict:
    payload = {"gate": "pr", "pr_number": state.get("pr_number"), "pr_url": state.get("pr_url")}
    if state.get("merge_refused"):
        payload["reason"] = state["merge_refused"]
    decision = interrupt(payload)
    services = services_of(config)
    services.recorder.event("review", f"pull request {_verb(decision)}", **decision)
    update: dict = {"decision": {"gate": "pr", **decision}, "merge_refused": ""}
    if decision.get("decision") == "request_changes":
        update |= {"feedback": review_feedback(decision), "feedback_from": "review"}
    return update


def review_feedback(decision: dict) -> str:
    """The reviewer's words for the next attempt: the comment, then each comment on a line of the diff."""
    parts = [decision["comment"]] if decision.get("comment", "").strip() else []
    lines = decision.get("line_comments") or []
    if lines:
        parts.append(
            "Comments on lines of the diff (line numbers in the changed file):\n"
            + "\n".join(f"- {c['path']}:{c['line']}: {c['body']}" for c in lines)
        )
    return "\n\n".join(parts) or "(no comment given)"


def _verb(decision: dict) -> str:
    verb = {
        "approve": "resumed" if decision.get("gate") == "provider" else "approved",
        "reject": "rejected",
        "request_changes": "changes requested",
    }.get(decision.get("decision", ""), "decided")
    comment = decision.get("comment")
    lines = decision.get("line_comments") or []
    on_lines = "; ".join(f"{c['path']}:{c['line']}: {c['body']}" for c in lines)
    return f"{verb}" + (f": {comment}" if comment else "") + (f" — on lines: {on_lines}" if on_lines else "")
