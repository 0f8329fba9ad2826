"""Triage: is a ticket fit for the agent, how complex is it, what kind of change is it.

The answer comes back as a ``TriageAnswer`` tool call (works with every tool-calling
provider and with ``ScriptedChatModel``); a JSON object in the reply text is accepted too.
An unusable answer (malformed arguments, missing fields, a cut reply, a refusal) is answered
with the problem and asked again, up to ``FORMAT_TRIES`` replies, then ``TriageError`` says why.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents import prompts
from agents.cassette import TriageAnswer
from agents.metered import UNMETERED, Metering
from agents.one_shot import OneShot, UnusableAnswer, ask_until_usable
from agents.replies import reply_text, unusable_reply

TriageResult = TriageAnswer
"""``eligible``, ``complexity`` (low/medium/high), ``kind`` (bug/feature/docs/chore), ``reason``,
``question_for_author``."""


class TriageError(UnusableAnswer):
    """The triage model gave no usable answer; the message says what was wrong."""


def _parse(reply: AIMessage) -> TriageAnswer:
    problem = unusable_reply(reply)
    if problem:
        raise ValueError(problem)
    for call in reply.tool_calls:
        if call["name"] == TriageAnswer.__name__:
            return TriageAnswer.model_validate(call["args"])
    for call in reply.invalid_tool_calls or []:
        raise ValueError(
            f"the {call.get('name') or 'tool'} arguments are not valid JSON "
            f"({str(call.get('error') or 'invalid JSON').splitlines()[0][:200]})"
        )
    match = re.search(r"\{.*\}", reply_text(reply), re.DOTALL)
    if not match:
        raise ValueError("the reply had neither a TriageAnswer tool call nor a JSON object")
    return TriageAnswer.model_validate(json.loads(match.group(0)))


def _read(reply: AIMessage) -> TriageAnswer:
    """The answer in ``reply``; raises ``ValueError`` with the first line of what is wrong."""
    try:
        return _parse(reply)
    except ValueError as exc:  # pydantic's ValidationError and json's JSONDecodeError are ValueErrors
        raise ValueError(str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__) from None


TRIAGE = OneShot("triage", _read, TriageError, label="triage answer", noun="answer", resend_reply=True)


def triage_ticket(
    model: Any, ticket_title: str, ticket_body: str, repo_map: str, *, metering: Metering = UNMETERED
) -> TriageResult:
    """Triage one ticket; raises ``TriageError`` (or ``BudgetExhausted``, ``ProviderUnavailable``) with the reason."""
    prompt: list[BaseMessage] = [
        SystemMessage(content=prompts.render("triage_system")),
        HumanMessage(content=prompts.render("triage_task", title=ticket_title, body=ticket_body, repo_map=repo_map)),
    ]
    bound = model.bind_tools([TriageAnswer], tool_choice=TriageAnswer.__name__)
    result = ask_until_usable(TRIAGE, bound, model, prompt, metering)
    if metering.recorder is not None:
        verdict = "eligible" if result.eligible else "not eligible"
        metering.recorder.event("triage", f"{verdict}: {result.complexity} {result.kind}: {result.reason}")
    return result
