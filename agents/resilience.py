"""Provider trouble is the provider's, not ours: transient failures (429, 5xx, timeouts,
dropped connections) are retried with backoff that honours ``Retry-After``; when the provider
still does not answer, ``ProviderUnavailable`` names the provider, the model and the URL, so the
job can say whom to wait for instead of reporting an internal error. A model that has no more
answers to give in this run says so with ``ModelStopped`` and its own stop reason."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.catalogue import spec_of
from agents.request_slots import request_slot

DEFAULT_URLS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://127.0.0.1:11434",
}

_TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}
_TRANSIENT_NAMES = (
    "Timeout",
    "Connection",
    "RemoteProtocolError",
    "ReadError",
    "ServerDisconnected",
    "InternalServerError",
    "RateLimit",
    "Overloaded",
    "ServiceUnavailable",
)


class ProviderUnavailable(RuntimeError):
    """The model's provider did not answer after retries; carries who and where."""

    def __init__(self, provider: str, model: str, url: str, cause: str, attempts: int, spec_name: str = ""):
        self.provider, self.model, self.url, self.cause, self.attempts = provider, model, url, cause, attempts
        self.spec_name = spec_name
        """The catalogue entry's name, so the model can be probed (and the job resumed) later."""
        super().__init__(f"provider {provider} (model {model} at {url}) did not answer after {attempts} tries: {cause}")


class ModelStopped(RuntimeError):
    """The model gives no more answers in this run (a scripted replay past its last turn, or one that
    no longer matches the run); the message says why. Not retried, never a fallback's business."""

    stop_reason: str = "model_stopped"
    """The stop reason of the coding attempt it ends, on the attempt's record."""
    ends_job: str = ""
    """What the job's reason says when the job cannot go on; empty: the work so far goes to the gate."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient provider failure is retried."""

    tries: int = 4
    """Calls in all (1 = no retry)."""
    base_delay_s: float = 1.0
    """First backoff; doubles per retry, with jitter."""
    max_delay_s: float = 60.0
    """Longest single wait, also the cap on a provider's ``Retry-After``."""


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying: rate limits, server errors, timeouts, dropped connections."""
    status = status_of(exc)
    if status is not None:
        return status in _TRANSIENT_STATUS
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name = type(exc).__name__
        if any(part in name for part in _TRANSIENT_NAMES) or isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


_OVERFLOW_PHRASES = (
    "maximum context length",
    "context_length_exceeded",
    "context length",
    "context window",
    "prompt is too long",
    "too many tokens",
    "exceeds the context",
)


def is_context_overflow(exc: BaseException) -> bool:
    """The provider refused the request because the prompt is longer than the model's window
    (OpenAI and compatible servers such as llama.cpp and vLLM, Anthropic, Ollama say it in words)."""
    status = status_of(exc)
    text = str(exc).lower()
    return (status in (None, 400, 413)) and any(phrase in text for phrase in _OVERFLOW_PHRASES)


def retry_after_s(exc: BaseException) -> float | None:
    """The provider's ``Retry-After`` (seconds or ``retry-after-ms``), when it sent one."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff
    return None


def where(model: Any) -> tuple[str, str, str]:
    """(provider, model id, URL) of a chat model, for messages a human reads."""
    spec = spec_of(model)
    url = spec.base_url or DEFAULT_URLS.get(spec.provider, "(default endpoint)")
    return spec.provider, spec.model_id, url


def describe(exc: BaseException) -> str:
    status = status_of(exc)
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}{f' (HTTP {status})' if status else ''}: {text}".rstrip(": ")


def call_with_retries(
    call: Callable[[], Any],
    model: Any,
    policy: RetryPolicy,
    *,
    on_retry: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """``call()``, retried on transient provider failures; raises ``ProviderUnavailable`` when
    they persist. Anything else (bad request, auth) propagates unchanged. Each call first takes
    one of the server's request slots (``ModelSpec.max_concurrent_requests``)."""
    for attempt in range(1, policy.tries + 1):
        try:
            with request_slot(spec_of(model)):
                return call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            provider, model_id, url = where(model)
            if attempt >= policy.tries:
                raise ProviderUnavailable(provider, model_id, url, describe(exc), attempt, spec_of(model).name) from exc
            hinted = retry_after_s(exc)
            delay = (
                hinted if hinted is not None else policy.base_delay_s * 2 ** (attempt - 1) * (1 + random.random() / 4)
            )
            delay = min(max(delay, 0.0), policy.max_delay_s)
            if on_retry is not None:
                on_retry(
                    f"{provider} {model_id}: {describe(exc)}; retry {attempt}/{policy.tries - 1} in {delay:.1f}s"
                    + (" (Retry-After)" if hinted is not None else "")
                )
            sleep(delay)
    raise AssertionError("unreachable")
