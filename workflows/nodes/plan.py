"""plan: a short written plan; the plan-approval gate is the next node."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from agents.budget import BudgetExhausted
from agents.plan_writer import PlanError, write_plan
from agents.resilience import ProviderUnavailable
from workflows.nodes import route, services_of, with_fallback
from workflows.nodes.human import budget_pause, provider_pause
from workflows.nodes.repo_briefing import repo_map_of
from workflows.repo_config import RepoConfig
from workflows.state import TicketState

_NEEDS_APPROVAL = {
    "never": set(),
    "always": {"low", "medium", "high"},
    "medium_and_above": {"medium", "high"},
    "high": {"high"},
}


def needs_plan_approval(state: TicketState) -> bool:
    policy = RepoConfig.model_validate(state["config"]).agent.plan_approval
    return state.get("complexity", "medium") in _NEEDS_APPROVAL[policy]


def plan(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    routed = route(services, state, "plan")
    ticket = state["ticket"]
    feedback = ""
    decision = state.get("decision") or {}
    if decision.get("gate") == "plan" and decision.get("decision") == "request_changes":
        feedback = decision.get("comment", "")
    try:
        text = with_fallback(
            services,
            routed,
            "plan",
            lambda model: write_plan(
                model,
                ticket["title"],
                ticket["body"],
                repo_map_of(services, state),
                feedback=feedback,
                recorder=services.recorder,
                guard=services.budget,
                retry=services.retry,
            ),
        )
    except BudgetExhausted as exc:
        return budget_pause("plan", exc.reason)
    except ProviderUnavailable as exc:
        return provider_pause(services, "plan", exc)
    except PlanError as exc:
        return {"outcome": "blocked", "reason": f"{exc}; retry the job, or route planning to another model"}
    services.recorder.event("plan", text)
    return {"plan": text, "paused": None}
