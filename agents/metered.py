"""One model call with its budget check before and its ledger entry after.

Every role (triage, plan, code, review) calls models through ``metered_invoke`` so no call
escapes the budget guard or the cost ledger."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agents.accounting import UsageRecord, price_call
from agents.observers import CallRecorder, SpendingGuard
from agents.resilience import RetryPolicy, call_with_retries

DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Metering:
    """What every model call of a job goes through: the spending guard before it, retries of a
    transient provider failure, the timeline and the cost ledger after it."""

    recorder: CallRecorder | None = None
    """Gets each call's ``UsageRecord`` and the retry events; ``None``: not recorded."""
    guard: SpendingGuard | None = None
    """Checked before each call, fed after it; ``None``: no spending limit."""
    retry: RetryPolicy = DEFAULT_RETRY


UNMETERED = Metering()
"""No guard, no recorder, the default retries (tests and one-off calls)."""


def metered_invoke(
    runnable: Any,
    model: Any,
    prompt: Sequence[BaseMessage],
    *,
    role: str,
    step: int,
    metering: Metering = UNMETERED,
    attempt: int = 0,
) -> tuple[AIMessage, UsageRecord]:
    """Invoke ``runnable`` (``model`` or ``model`` with tools bound) on ``prompt``.

    Raises ``BudgetExhausted`` before calling when the guard refuses. Transient provider
    failures are retried per ``metering.retry`` and end in ``ProviderUnavailable``; other provider
    errors propagate unchanged."""
    recorder, guard = metering.recorder, metering.guard
    if guard is not None:
        guard.check(model, prompt)
    started = time.monotonic()

    def on_retry(message: str) -> None:
        if recorder is not None:
            recorder.event("provider", message, role=role)

    reply = call_with_retries(lambda: runnable.invoke(list(prompt)), model, metering.retry, on_retry=on_retry)
    record = price_call(
        model, reply, prompt, role=role, step=step, latency_s=time.monotonic() - started, attempt=attempt
    )
    if recorder is not None:
        recorder.usage(record)
    if guard is not None:
        guard.add(record)
    return reply, record
