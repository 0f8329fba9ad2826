"""Planning: a short written plan for the coding step and the human who may approve it.

An empty, cut or refused reply is answered with the problem and asked again, up to
``FORMAT_TRIES`` replies, then ``PlanError`` says why."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agents import prompts
from agents.metered import DEFAULT_RETRY, metered_invoke
from agents.observers import CallRecorder, SpendingGuard
from agents.replies import FORMAT_TRIES, reply_text, retry_notice, unusable_reply
from agents.resilience import RetryPolicy
from agents.scripted import ReplayStopped

ASK = "Write the plan as short Markdown text (numbered steps), with no tool calls."


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
    recorder: CallRecorder | None = None,
    guard: SpendingGuard | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> str:
    """The plan as Markdown text; ``feedback`` carries a reviewer's requested changes to a previous plan."""
    messages: list[BaseMessage] = [
        SystemMessage(content=prompts.PLAN_SYSTEM),
        HumanMessage(content=prompts.plan_prompt(ticket_title, ticket_body, repo_map, triage_reason, feedback)),
    ]
    problem = ""
    for step in range(1, FORMAT_TRIES + 1):
        try:
            reply, _ = metered_invoke(
                model, model, messages, role="plan", step=step, recorder=recorder, guard=guard, retry=retry
            )
        except ReplayStopped as exc:
            raise PlanError(f"plan: {exc}") from None
        text = reply_text(reply).strip()
        problem = unusable_reply(reply) or ("" if text else "the reply was empty")
        if not problem:
            if recorder is not None:
                recorder.event("plan", f"plan written ({len(text.splitlines())} lines)")
            return text
        if recorder is not None:
            recorder.event("plan", f"unusable plan: {problem}")
        # The reply itself is not sent back: a cut or refused text would only anchor the next one.
        messages = [*messages, HumanMessage(content=retry_notice(problem, ASK))]
    raise PlanError(f"plan: the model gave no usable plan after {FORMAT_TRIES} tries: {problem}")
