"""Planning: a short written plan for the coding step and the human who may approve it."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agents import prompts
from agents.metered import metered_invoke
from agents.scripted import ReplayStopped


class PlanError(RuntimeError):
    """The planning model returned no usable plan."""


def write_plan(
    model: Any,
    ticket_title: str,
    ticket_body: str,
    repo_map: str,
    *,
    triage_reason: str = "",
    feedback: str = "",
    recorder: Any = None,
    guard: Any = None,
) -> str:
    """The plan as Markdown text; ``feedback`` carries a reviewer's requested changes to a previous plan."""
    messages = [
        SystemMessage(content=prompts.PLAN_SYSTEM),
        HumanMessage(content=prompts.plan_prompt(ticket_title, ticket_body, repo_map, triage_reason, feedback)),
    ]
    try:
        reply, _ = metered_invoke(model, model, messages, role="plan", step=1, recorder=recorder, guard=guard)
    except ReplayStopped as exc:
        raise PlanError(f"plan: {exc}") from None
    content = reply.content
    text = content if isinstance(content, str) else "".join(
        b.get("text", "") for b in content if isinstance(b, dict)
    )
    if not text.strip():
        raise PlanError("plan: the model returned an empty plan")
    if recorder is not None:
        recorder.event("plan", f"plan written ({len(text.splitlines())} lines)")
    return text.strip()
