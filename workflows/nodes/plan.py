"""plan: a short written plan; the plan-approval gate is the next node."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from agents.plan_writer import write_plan
from workflows.nodes import metering_of, model_step, route, services_of
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
    repo_map, metering = repo_map_of(services, state), metering_of(services)
    text = model_step(
        services,
        routed,
        "plan",
        lambda model: write_plan(
            model, ticket["title"], ticket["body"], repo_map, feedback=feedback, metering=metering
        ),
        instead="retry the job, or route planning to another model",
    )
    if isinstance(text, dict):
        return text
    services.recorder.event("plan", text)
    return {"plan": text, "paused": None}
