"""One model call with its budget check before and its ledger entry after.

Every role (triage, plan, code, review) calls models through ``metered_invoke`` so no call
escapes the budget guard or the cost ledger."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agents.accounting import UsageRecord, price_call
from agents.observers import CallRecorder, SpendingGuard
from agents.resilience import RetryPolicy, call_with_retries

DEFAULT_RETRY = RetryPolicy()


def metered_invoke(
    runnable: Any,
    model: Any,
    prompt: Sequence[BaseMessage],
    *,
    role: str,
    step: int,
    recorder: CallRecorder | None = None,
    guard: SpendingGuard | None = None,
    attempt: int = 0,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> tuple[AIMessage, UsageRecord]:
    """Invoke ``runnable`` (``model`` or ``model`` with tools bound) on ``prompt``.

    Raises ``BudgetExhausted`` before calling when the guard refuses. Transient provider
    failures are retried per ``retry`` and end in ``ProviderUnavailable``; other provider
    errors propagate unchanged."""
    if guard is not None:
        guard.check(model, prompt)
    started = time.monotonic()

    def on_retry(message: str) -> None:
        if recorder is not None:
            recorder.event("provider", message, role=role)

    reply = call_with_retries(lambda: runnable.invoke(list(prompt)), model, retry, on_retry=on_retry)
    record = price_call(
        model, reply, prompt, role=role, step=step, latency_s=time.monotonic() - started, attempt=attempt
    )
    if recorder is not None:
        recorder.usage(record)
    if guard is not None:
        guard.add(record)
    return reply, record
