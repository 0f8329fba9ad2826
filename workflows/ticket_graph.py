"""The ticket workflow, wired in one place; it reads like the data flow in the README
section "Architecture".

    prepare → triage → plan → [plan approval] → code ⇄ gate → open_pr → [review] → merge
    (with ``pull_request.draft``, a failed gate also passes through open_pr, as a draft, back to code)
                                                  ↑ budget pause ↓        ↑ changes requested
    triage, plan and code may also pause for the budget (a human extends it) or for the model's
    provider (a worker's probe, or a human, resumes it); the paused step then runs again.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from workflows.nodes.code import code
from workflows.nodes.finish import close, finish, merge
from workflows.nodes.gate import gate
from workflows.nodes.human import await_budget, await_plan_approval, await_provider, await_review
from workflows.nodes.plan import needs_plan_approval, plan
from workflows.nodes.prepare import prepare
from workflows.nodes.pull_request import open_pr
from workflows.nodes.triage import triage
from workflows.state import TicketState


def stop_if_decided(next_node: str):
    """Route to ``finish`` once a node has set an outcome (blocked, failed), else onward."""

    def route(state: TicketState) -> str:
        return "finish" if state.get("outcome") else next_node

    route.__name__ = f"stop_or_{next_node}"
    return route


def paused_or(next_node: str):
    """Route to ``finish`` once a node set an outcome, to a wait when it paused, else onward."""

    def route(state: TicketState) -> str:
        if state.get("outcome"):
            return "finish"
        pause = state.get("paused")
        if pause is not None:
            return "await_budget" if pause["kind"] == "budget" else "await_provider"
        return next_node

    route.__name__ = f"paused_or_{next_node}"
    return route


def route_after_plan(state: TicketState) -> str:
    onward = "await_plan_approval" if needs_plan_approval(state) else "code"
    return paused_or(onward)(state)


def route_after_plan_approval(state: TicketState) -> str:
    return {"approve": "code", "request_changes": "plan"}.get(state["decision"].get("decision", ""), "close")


def route_after_code(state: TicketState) -> str:
    if not state.get("outcome") and state.get("no_change"):
        return "code"  # the reviewer's comments were not acted on: another attempt, told so
    return paused_or("gate")(state)


def route_after_pause(state: TicketState) -> str:
    """Back to the step that paused (budget extended, provider answering again), or stop."""
    if state["decision"].get("decision") != "approve":
        return "close"
    pause = state.get("paused")
    return pause["step"] if pause is not None else "code"


def route_after_gate(state: TicketState) -> str:
    if state.get("gate_passed") or wants_draft(state):
        return "open_pr"
    return "finish" if state.get("outcome") else "code"


def wants_draft(state: TicketState) -> bool:
    """``pull_request.draft``: a failed gate still shows its attempt as a draft pull request."""
    return bool(((state.get("config") or {}).get("pull_request") or {}).get("draft"))


def route_after_open_pr(state: TicketState) -> str:
    """A passing PR waits for review; a draft goes back to the agent (or ends the job, out of attempts)."""
    if state.get("gate_passed"):
        return "await_review"
    return "finish" if state.get("outcome") else "code"


def route_after_review(state: TicketState) -> str:
    return {"approve": "merge", "request_changes": "code"}.get(state["decision"].get("decision", ""), "close")


def route_after_merge(state: TicketState) -> str:
    """A refused merge leaves the pull request open and waits for review again."""
    return "await_review" if state.get("merge_refused") else "finish"


def build_ticket_graph() -> StateGraph:
    g = StateGraph(TicketState)
    for name, node in [
        ("prepare", prepare), ("triage", triage), ("plan", plan), ("await_plan_approval", await_plan_approval),
        ("code", code), ("await_budget", await_budget), ("await_provider", await_provider), ("gate", gate),
        ("open_pr", open_pr), ("await_review", await_review), ("merge", merge), ("close", close), ("finish", finish),
    ]:  # fmt: skip
        g.add_node(name, node)
    g.add_edge(START, "prepare")
    g.add_conditional_edges("prepare", stop_if_decided("triage"), ["triage", "finish"])
    waits = ["await_budget", "await_provider", "finish"]
    g.add_conditional_edges("triage", paused_or("plan"), ["plan", *waits])
    g.add_conditional_edges("plan", route_after_plan, ["await_plan_approval", "code", *waits])
    g.add_conditional_edges("await_plan_approval", route_after_plan_approval, ["code", "plan", "close"])
    g.add_conditional_edges("code", route_after_code, ["gate", "code", *waits])
    for wait in ("await_budget", "await_provider"):
        g.add_conditional_edges(wait, route_after_pause, ["triage", "plan", "code", "close"])
    g.add_conditional_edges("gate", route_after_gate, ["open_pr", "code", "finish"])
    g.add_conditional_edges("open_pr", route_after_open_pr, ["await_review", "code", "finish"])
    g.add_conditional_edges("await_review", route_after_review, ["merge", "code", "close"])
    g.add_conditional_edges("merge", route_after_merge, ["await_review", "finish"])
    g.add_edge("close", "finish")
    g.add_edge("finish", END)
    return g
