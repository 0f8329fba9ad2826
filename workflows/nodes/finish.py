"""The end of a ticket: merge or close the PR, or record why the job stopped."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from workflows.nodes import services_of
from workflows.ports import MergeRefused, PullRequestInfo
from workflows.state import TicketState, pause_reason


def merge(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    try:
        sha = services.forge.merge_pull_request(state["repo"]["url"], state["pr_number"])
    except MergeRefused as exc:
        services.recorder.event("merge_refused", f"merge refused, the pull request stays open: {exc}")
        return {"merge_refused": f"approved, but the merge was refused: {exc}"}
    services.recorder.event(
        "merged",
        f"pull request #{state['pr_number']} merged into {state['repo']['base_branch']} ({sha[:10]})",
        merge_commit=sha,
    )
    services.recorder.pull_request(
        PullRequestInfo(state["pr_number"], state.get("pr_url", ""), state.get("branch", ""), "merged")
    )
    return {"outcome": "merged", "reason": ""}


def close(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    comment = (state.get("decision") or {}).get("comment", "")
    gate = (state.get("decision") or {}).get("gate", "pr")
    if state.get("pr_number"):
        services.forge.close_pull_request(state["repo"]["url"], state["pr_number"])
        services.recorder.pull_request(
            PullRequestInfo(state["pr_number"], state.get("pr_url", ""), state.get("branch", ""), "closed")
        )
    if gate == "budget":
        return {"outcome": "blocked", "reason": f"budget reached and not extended: {pause_reason(state)}"}
    if gate == "provider":
        why = f" ({comment})" if comment else ""
        return {
            "outcome": "blocked",
            "reason": f"stopped by a human while waiting for the provider{why}: {pause_reason(state)}",
        }
    what = "plan rejected" if gate == "plan" else "pull request rejected"
    return {"outcome": "closed", "reason": f"{what} by the reviewer" + (f": {comment}" if comment else "")}


def finish(state: TicketState, config: RunnableConfig) -> TicketState:
    services = services_of(config)
    outcome = state.get("outcome", "failed")
    services.recorder.event("done", f"{outcome}" + (f": {state['reason']}" if state.get("reason") else ""))
    return {}
