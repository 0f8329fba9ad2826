"""``shipyard models-check``: call each catalogue model once and say which answer.

One tiny prompt per model through the same client and retry policy the agent uses, so a wrong
key, a server that is down or a model id the provider does not know shows up before a job hits it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage

from agents import prompts
from agents.catalogue import ModelSpec
from agents.credentials import ProviderSecrets
from agents.providers import ProviderError, make_chat_model
from agents.resilience import DEFAULT_URLS, ProviderUnavailable, RetryPolicy, call_with_retries, describe

PING = prompts.render("ping")


@dataclass(frozen=True)
class ModelCheck:
    name: str
    provider: str
    model_id: str
    url: str
    ok: bool
    detail: str
    """The reply's first words, or why there was none."""
    latency_s: float


def check_models(
    specs: Iterable[ModelSpec],
    secrets: ProviderSecrets,
    *,
    retry: RetryPolicy = RetryPolicy(tries=2, base_delay_s=0.5, max_delay_s=5.0),
    make: Callable[..., Any] = make_chat_model,
) -> list[ModelCheck]:
    """One call per non-scripted model; never raises for a model that does not answer."""
    out = []
    for spec in specs:
        if spec.provider == "scripted":
            continue
        url = spec.base_url or DEFAULT_URLS.get(spec.provider, "(default endpoint)")
        started = time.monotonic()
        try:
            model = make(spec, secrets, timeout_s=30.0, max_retries=0)
            reply = call_with_retries(lambda model=model: model.invoke([HumanMessage(content=PING)]), model, retry)
            ok, detail = True, str(reply.content).strip()[:60] or "(empty reply)"
        except ProviderUnavailable as exc:
            ok, detail = False, f"no answer after {exc.attempts} tries: {exc.cause}"
        except ProviderError as exc:
            ok, detail = False, str(exc)
        except Exception as exc:  # noqa: BLE001 — auth, unknown model, bad request: the provider's own words
            ok, detail = False, describe(exc)
        out.append(
            ModelCheck(spec.name, spec.provider, spec.model_id, url, ok, detail, round(time.monotonic() - started, 2))
        )
    return out
