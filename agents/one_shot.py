"""One-shot steps (triage, plan): one answer asked of a model, asked again while it cannot be used.

An unusable reply (malformed, incomplete, empty, cut, refused) is answered with the problem and the
question is asked again, up to ``FORMAT_TRIES`` replies; then the step's ``UnusableAnswer`` says why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agents import prompts
from agents.metered import UNMETERED, Metering, metered_invoke
from agents.resilience import ModelStopped

T = TypeVar("T")

FORMAT_TRIES = 3
"""Model replies a one-shot step may get wrong in a row before it stops with the cause."""


class UnusableAnswer(RuntimeError):
    """A one-shot step got no usable answer; the message names the step and the last problem."""


@dataclass(frozen=True)
class OneShot(Generic[T]):
    """What a one-shot step asks for and how it reads the answer."""

    role: str
    """The step (``triage``, ``plan``): the role of its model calls, the kind of its events, and
    the template (``<role>_ask``) that asks again for the answer after an unusable reply."""
    read: Callable[[AIMessage], T]
    """The answer in a reply; raises ``ValueError`` saying what is wrong with it."""
    error: type[UnusableAnswer]
    """Raised when no reply could be used."""
    label: str
    """What an unusable answer is called on the timeline (``unusable <label>: …``)."""
    noun: str
    """What the step's error says it got none of (``no usable <noun> after … tries``)."""
    resend_reply: bool
    """Send an unusable reply back with the answers to its tool calls (an answer given as a tool
    call needs them: providers require one answer per call). Otherwise only the problem is sent:
    a cut or refused text would only anchor the next reply."""


def _answers(reply: AIMessage, notice: str) -> list[BaseMessage]:
    """Every tool call of an unusable reply gets the notice as its error answer."""
    ids = [c.get("id") or "" for c in [*reply.tool_calls, *(reply.invalid_tool_calls or [])]]
    if not ids:
        return [HumanMessage(content=notice)]
    return [ToolMessage(content=f"error: {notice}", tool_call_id=i, status="error") for i in ids]


def ask_until_usable(
    step: OneShot[T],
    runnable: Any,
    model: Any,
    prompt: Sequence[BaseMessage],
    metering: Metering = UNMETERED,
) -> T:
    """The step's answer from ``runnable`` (``model``, maybe with tools bound), asked again after each
    unusable reply. Raises ``step.error`` when no reply could be used or the model stopped answering
    (``ModelStopped``); ``BudgetExhausted`` and ``ProviderUnavailable`` propagate."""
    messages = list(prompt)
    problem = ""
    for call in range(1, FORMAT_TRIES + 1):
        try:
            reply, _ = metered_invoke(runnable, model, messages, role=step.role, step=call, metering=metering)
        except ModelStopped as exc:
            raise step.error(f"{step.role}: {exc}") from None
        try:
            return step.read(reply)
        except ValueError as exc:
            problem = str(exc)
        if metering.recorder is not None:
            metering.recorder.event(step.role, f"unusable {step.label}: {problem}")
        notice = prompts.render(
            "ask_again", role=step.role, problem=problem, cut="cut at the output-token limit" in problem
        )
        messages += [reply, *_answers(reply, notice)] if step.resend_reply else [HumanMessage(content=notice)]
    raise step.error(f"{step.role}: the model gave no usable {step.noun} after {FORMAT_TRIES} tries: {problem}")
