"""Planning: a short written plan for the coding step and the human who may approve it.

An empty, cut or refused reply is answered with the problem and asked again, up to
``FORMAT_TRIES`` replies, then ``PlanError`` says why."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents import prompts
from agents.metered import UNMETERED, Metering
from agents.one_shot import OneShot, UnusableAnswer, ask_until_usable
from agents.replies import reply_text, unusable_reply


class PlanError(UnusableAnswer):
    """The planning model returned no usable plan."""


def _read(reply: AIMessage) -> str:
    """The plan's text; raises ``ValueError`` when the reply is empty, cut or refused."""
    text = reply_text(reply).strip()
    problem = unusable_reply(reply) or ("" if text else "the reply was empty")
    if problem:
        raise ValueError(problem)
    return text


PLAN = OneShot("plan", _read, PlanError, label="plan", noun="plan", resend_reply=False)


def write_plan(
    model: Any,
    ticket_title: str,
    ticket_body: str,
    repo_map: str,
    *,
    triage_reason: str = "",
    feedback: str = "",
    metering: Metering = UNMETERED,
) -> str:
    """The plan as Markdown text; ``feedback`` carries a reviewer's requested changes to a previous plan."""
    prompt: list[BaseMessage] = [
        SystemMessage(content=prompts.render("plan_system")),
        HumanMessage(
            content=prompts.render(
                "plan_task",
                title=ticket_title,
                body=ticket_body,
                repo_map=repo_map,
                triage_reason=triage_reason,
                feedback=feedback,
            )
        ),
    ]
    text = ask_until_usable(PLAN, model, model, prompt, metering)
    if metering.recorder is not None:
        metering.recorder.event("plan", f"plan written ({len(text.splitlines())} lines)")
    return text
