"""Token and cost accounting: one ``UsageRecord`` per model call, priced from the catalogue.

Usage comes from LangChain's ``usage_metadata`` on the model's reply. When a provider does
not report it, tokens are estimated (characters / 4) and the record says ``estimated=True``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage

from agents.catalogue import has_catalogue_spec, spec_of

CostBasis = Literal["live", "recorded", "scripted", "unpriced"]
"""``live``: a real call priced from the catalogue. ``recorded``: a scripted replay showing
the cost the recorded run had (not money spent now). ``scripted``: a replay with no recorded
price ($0). ``unpriced``: a model outside the catalogue ($0, flagged)."""

CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class UsageRecord:
    """One priced model call, attributed to a job step."""

    model: str
    """Catalogue name (``scripted:<cassette>`` for replays)."""
    provider: str
    role: str
    """``triage``, ``plan``, ``code``, ``summarize``."""
    step: int
    """Model call number within the role's run (1-based)."""
    input_tokens: int
    """Prompt tokens, cached ones included."""
    output_tokens: int
    cached_input_tokens: int
    cost_usd: float
    latency_s: float
    estimated: bool
    """Token counts were estimated (chars/4) because the provider reported none."""
    cost_basis: CostBasis = "live"
    attempt: int = 0
    """Code attempt number (0 for roles outside the code loop)."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def estimate_tokens(text: str) -> int:
    """Rough token count for text with no provider-reported usage."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def message_text(message: BaseMessage) -> str:
    """All the text a message puts on the wire (content blocks and tool-call arguments)."""
    content = message.content
    if isinstance(content, list):
        parts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        text = "".join(parts)
    else:
        text = str(content)
    for call in getattr(message, "tool_calls", None) or []:
        text += call["name"] + json.dumps(call.get("args", {}), sort_keys=True)
    return text


def estimate_prompt_tokens(messages: Sequence[BaseMessage]) -> int:
    return sum(estimate_tokens(message_text(m)) for m in messages)


def usage_from_message(response: AIMessage, prompt: Sequence[BaseMessage]) -> tuple[int, int, int, bool]:
    """``(input, output, cached_input, estimated)`` from ``usage_metadata`` or an estimate."""
    meta = getattr(response, "usage_metadata", None)
    if meta and (meta.get("input_tokens") or meta.get("output_tokens")):
        details = meta.get("input_token_details") or {}
        cached = int(details.get("cache_read") or 0)
        return int(meta.get("input_tokens") or 0), int(meta.get("output_tokens") or 0), cached, False
    return estimate_prompt_tokens(prompt), estimate_tokens(message_text(response)), 0, True


def _cost_basis(model: Any, response: AIMessage, estimated: bool) -> CostBasis:
    if getattr(model, "scripted", False):
        recorded = bool(response.response_metadata.get("recorded_usage")) and not estimated
        return "recorded" if recorded and getattr(model, "has_recorded_prices", False) else "scripted"
    return "live" if has_catalogue_spec(model) else "unpriced"


def price_call(
    model: Any,
    response: AIMessage,
    prompt: Sequence[BaseMessage],
    *,
    role: str,
    step: int,
    latency_s: float,
    attempt: int = 0,
) -> UsageRecord:
    """Build the priced record of one call of ``model`` that produced ``response``."""
    spec = spec_of(model)
    input_tokens, output_tokens, cached, estimated = usage_from_message(response, prompt)
    basis = _cost_basis(model, response, estimated)
    cost = spec.cost_usd(input_tokens, output_tokens, cached) if basis in ("live", "recorded") else 0.0
    return UsageRecord(
        model=spec.name,
        provider=spec.provider,
        role=role,
        step=step,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached,
        cost_usd=round(cost, 8),
        latency_s=round(latency_s, 4),
        estimated=estimated,
        cost_basis=basis,
        attempt=attempt,
    )


def project_call_cost(model: Any, prompt: Sequence[BaseMessage], *, min_input_tokens: int = 0) -> tuple[float, int]:
    """Worst-case ``(usd, tokens)`` of the next call: the prompt (estimated, but never less than
    ``min_input_tokens``, e.g. the previous call's reported prompt size) plus a full reply."""
    spec = spec_of(model)
    prompt_tokens = max(estimate_prompt_tokens(prompt), min_input_tokens)
    return spec.cost_usd(prompt_tokens, spec.max_output_tokens), prompt_tokens + spec.max_output_tokens
