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

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import ValidationError

from agents import prompts
from agents.cassette import TriageAnswer
from agents.metered import DEFAULT_RETRY, metered_invoke
from agents.observers import CallRecorder, SpendingGuard
from agents.replies import FORMAT_TRIES, reply_text, retry_notice, unusable_reply
from agents.resilience import RetryPolicy
from agents.scripted import ReplayStopped

TriageResult = TriageAnswer
"""``eligible``, ``complexity`` (low/medium/high), ``kind`` (bug/feature/docs/chore), ``reason``,
``question_for_author``."""

ASK = "Call the TriageAnswer tool once, with all its fields as one JSON object."


class TriageError(RuntimeError):
    """The triage model gave no usable answer; the message says what was wrong."""


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


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


def _answers(reply: AIMessage, problem: str) -> list[BaseMessage]:
    """Every tool call of an unusable reply gets its error answer (providers require one per call)."""
    ids = [c.get("id") or "" for c in [*reply.tool_calls, *(reply.invalid_tool_calls or [])]]
    if not ids:
        return [HumanMessage(content=retry_notice(problem, ASK))]
    return [ToolMessage(content=f"error: {retry_notice(problem, ASK)}", tool_call_id=i, status="error") for i in ids]


def triage_ticket(
    model: Any,
    ticket_title: str,
    ticket_body: str,
    repo_map: str,
    *,
    recorder: CallRecorder | None = None,
    guard: SpendingGuard | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> TriageResult:
    """Triage one ticket; raises ``TriageError`` (or ``BudgetExhausted``, ``ProviderUnavailable``) with the reason."""
    bound = model.bind_tools([TriageAnswer], tool_choice=TriageAnswer.__name__)
    messages: list[BaseMessage] = [
        SystemMessage(content=prompts.TRIAGE_SYSTEM),
        HumanMessage(content=prompts.triage_prompt(ticket_title, ticket_body, repo_map)),
    ]
    problem = ""
    for step in range(1, FORMAT_TRIES + 1):
        try:
            reply, _ = metered_invoke(
                bound, model, messages, role="triage", step=step, recorder=recorder, guard=guard, retry=retry
            )
        except ReplayStopped as exc:
            raise TriageError(f"triage: {exc}") from None
        try:
            result = _parse(reply)
        except (ValueError, ValidationError) as exc:
            problem = _first_line(exc)
            if recorder is not None:
                recorder.event("triage", f"unusable triage answer: {problem}")
            messages = [*messages, reply, *_answers(reply, problem)]
            continue
        if recorder is not None:
            verdict = "eligible" if result.eligible else "not eligible"
            recorder.event("triage", f"{verdict}: {result.complexity} {result.kind}: {result.reason}")
        return result
    raise TriageError(f"triage: the model gave no usable answer after {FORMAT_TRIES} tries: {problem}")
