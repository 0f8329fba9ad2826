"""Triage: is a ticket fit for the agent, how complex is it, what kind of change is it.

What the model says may reach the ticket's author (a question posted on the issue), so the answer
is vetted first (``vet``): only a well-formed question is ever posted, and a reason that is too
short or parrots the instructions is replaced by a note for a maintainer.

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


MIN_REASON_WORDS = 3
MIN_QUESTION_WORDS = 4
QUESTION_CHARS = (15, 600)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _echoes_prompt(text: str, n: int = 5) -> bool:
    """Whether ``text`` repeats a run of ``n`` words of Shipyard's own triage instructions (a confused
    model parroting its prompt is not speaking about the ticket)."""
    words = _words(text)
    prompt = " ".join(_words(prompts.render("triage_system")))
    return any(" ".join(words[i : i + n]) in prompt for i in range(len(words) - n + 1)) if len(words) >= n else False


def unusable_reason(reason: str) -> str:
    """Why a triage reason cannot be shown as the ticket's verdict, or empty when it can."""
    if len(_words(reason)) < MIN_REASON_WORDS:
        return f"fewer than {MIN_REASON_WORDS} words"
    if _echoes_prompt(reason):
        return "it repeats the triage instructions rather than speaking of the ticket"
    return ""


def unfit_question(question: str) -> str:
    """Why ``question`` must not be posted to the ticket's author in Shipyard's name, or empty when it
    is a well-formed question: a few plain sentences, at least one of them a question, no links,
    mentions or markup, not a repetition of Shipyard's own instructions."""
    text = question.strip()
    low, high = QUESTION_CHARS
    if not low <= len(text) <= high:
        return f"not between {low} and {high} characters"
    if "?" not in text:
        return "not a question (no question mark)"
    if len(re.findall(r"[.?!](?:\s|$)", text)) > 4:
        return "more than four sentences"
    if len(_words(text)) < MIN_QUESTION_WORDS:
        return f"fewer than {MIN_QUESTION_WORDS} words"
    if re.search(r"https?://|www\.|```|<[a-z/]|@[A-Za-z0-9_-]+", text):
        return "it holds a link, a mention or markup"
    if len(text.splitlines()) > 3:
        return "more than three lines"
    if _echoes_prompt(text):
        return "it repeats the triage instructions rather than asking about the ticket"
    return ""


def vet(result: TriageAnswer) -> tuple[TriageAnswer, list[str]]:
    """The answer as Shipyard acts on it: a question for the author is kept only when it is well formed,
    and a reason too short or parroted is replaced by a note saying so (the model's words are kept
    for the job's timeline). Returns the vetted answer and what was withheld, for the timeline."""
    notes, update = [], {}
    if result.question_for_author.strip():
        why = unfit_question(result.question_for_author)
        if why:
            notes.append(f"question for the author not posted ({why}): {result.question_for_author.strip()[:200]!r}")
            update["question_for_author"] = ""
    why = "" if result.eligible else unusable_reason(result.reason)  # an eligible verdict is never posted
    if why:
        notes.append(f"the triage model's reason is unusable ({why}): {result.reason.strip()[:200]!r}")
        update["question_for_author"] = ""  # nothing is said to the author on a verdict without a reason
        update["reason"] = (
            "the triage model gave no usable reason; a maintainer should look at the ticket "
            "(retry the job, or route triage to a stronger model)"
        )
    return (result.model_copy(update=update) if update else result), notes


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
    result, withheld = vet(ask_until_usable(TRIAGE, bound, model, prompt, metering))
    if metering.recorder is not None:
        for note in withheld:
            metering.recorder.event("triage", note)
        verdict = "eligible" if result.eligible else "not eligible"
        metering.recorder.event("triage", f"{verdict}: {result.complexity} {result.kind}: {result.reason}")
    return result
