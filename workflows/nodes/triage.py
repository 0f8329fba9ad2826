"""triage: is the ticket eligible, how complex is it, what kind of change — decides routing."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from agents.ticket_triage import triage_ticket
from workflows.nodes import metering_of, model_step, route, services_of
from workflows.nodes.repo_briefing import repo_map_of
from workflows.ports import JobServices
from workflows.state import TicketState


def triage(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    routed = route(services, state, "triage")
    ticket = state["ticket"]
    repo_map, metering = repo_map_of(services, state), metering_of(services)
    result = model_step(
        services,
        routed,
        "triage",
        lambda model: triage_ticket(model, ticket["title"], ticket["body"], repo_map, metering=metering),
        instead="retry the job, or route triage to another model",
    )
    if isinstance(result, dict):
        return result
    services.recorder.set_job(complexity=result.complexity, kind=result.kind)
    update: TicketState = {"complexity": result.complexity, "kind": result.kind, "paused": None}
    if not result.eligible:
        question = f" Question for the author: {result.question_for_author}" if result.question_for_author else ""
        update |= {
            "outcome": "blocked",
            "reason": f"not eligible for the agent: {result.reason.rstrip('.')}.{question}",
        }
        if result.question_for_author:  # vetted: only a well-formed question reaches the author
            _ask_author(state, services, f"Shipyard cannot work on this yet: {result.reason.rstrip('.')}.{question}")
    return update


def _ask_author(state: TicketState, services: JobServices, text: str) -> None:
    """On a forge with issues, post the question on the ticket's issue (a reply re-triages it)."""
    ticket = state["ticket"]
    issue = str(ticket.get("external_id") or "")
    if ticket.get("source") != "github" or not issue.isdigit():
        return
    try:
        asked = services.forge.ask_author(
            state["repo"]["url"], int(issue), text + "\n\nReply here to have the ticket triaged again."
        )
    except RuntimeError as exc:  # the forge's error says what GitHub answered
        services.recorder.event("triage", f"could not post the question on the issue: {exc}")
        return
    if asked:
        services.recorder.event("triage", f"question posted on issue #{issue}")
