"""Triage: is a ticket fit for the agent, how complex is it, what kind of change is it.

The answer comes back as a ``TriageAnswer`` tool call (works with every tool-calling
provider and with ``ScriptedChatModel``); a JSON object in the reply text is accepted too.
An unusable answer is retried once with the problem stated, then ``TriageError``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from agents import prompts
from agents.cassette import TriageAnswer
from agents.metered import metered_invoke
from agents.scripted import ReplayStopped

TriageResult = TriageAnswer
"""``eligible``, ``complexity`` (low/medium/high), ``kind`` (bug/feature/docs/chore), ``reason``,
``question_for_author``."""


class TriageError(RuntimeError):
    """The triage model gave no usable answer; the message says what was wrong."""


def _parse(reply: AIMessage) -> TriageAnswer:
    for call in reply.tool_calls:
        if call["name"] == TriageAnswer.__name__:
            return TriageAnswer.model_validate(call["args"])
    text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        raise ValueError("the reply had neither a TriageAnswer tool call nor a JSON object")
    return TriageAnswer.model_validate(json.loads(match.group(0)))


def triage_ticket(
    model: Any,
    ticket_title: str,
    ticket_body: str,
    repo_map: str,
    *,
    recorder: Any = None,
    guard: Any = None,
) -> TriageResult:
    """Triage one ticket; raises ``TriageError`` (or ``BudgetExhausted``) with the reason."""
    bound = model.bind_tools([TriageAnswer], tool_choice=TriageAnswer.__name__)
    messages: list[BaseMessage] = [
        SystemMessage(content=prompts.TRIAGE_SYSTEM),
        HumanMessage(content=prompts.triage_prompt(ticket_title, ticket_body, repo_map)),
    ]
    problem = ""
    for step in (1, 2):
        try:
            reply, _ = metered_invoke(bound, model, messages, role="triage", step=step, recorder=recorder, guard=guard)
        except ReplayStopped as exc:
            raise TriageError(f"triage: {exc}") from None
        try:
            result = _parse(reply)
        except (ValueError, ValidationError) as exc:
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            messages = [*messages, HumanMessage(
                content=f"Your answer could not be used ({problem}). Call the TriageAnswer tool with all fields.")]
            continue
        if recorder is not None:
            verdict = "eligible" if result.eligible else "not eligible"
            recorder.event("triage", f"{verdict}: {result.complexity} {result.kind}: {result.reason}")
        return result
    raise TriageError(f"triage: the model gave no usable answer after 2 tries: {problem}")
