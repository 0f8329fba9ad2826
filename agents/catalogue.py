"""The model catalogue: which models exist, how to reach them and what they cost.

A ``ModelSpec`` holds no credentials: keys come from ``agents.credentials`` at the edge and
are handed to ``agents.providers.make_chat_model`` only. Prices are USD per million tokens.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Provider = Literal["openai", "anthropic", "ollama", "openai_compatible", "scripted"]

_SPEC_KEY = "shipyard_model_spec"


class CatalogueError(ValueError):
    """Invalid catalogue entry; the message is ``source: key: reason``."""


class ModelSpec(BaseModel):
    """One chat model Shipyard may use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """Catalogue name used in config, routing decisions and the cost ledger (``gpt-4.1-mini``)."""
    provider: Provider
    """Which client library talks to it."""
    model_id: str
    """The provider's own model identifier."""
    base_url: str | None = None
    """Endpoint override (OpenAI-compatible servers, proxies, local emulators)."""
    price_input: float = Field(default=0.0, ge=0)
    """USD per million uncached input tokens."""
    price_output: float = Field(default=0.0, ge=0)
    """USD per million output tokens."""
    price_cached_input: float | None = Field(default=None, ge=0)
    """USD per million cache-read input tokens; ``None`` means priced as uncached input."""
    context_window: int = Field(default=128_000, gt=0)
    """Prompt tokens the model accepts; history is compacted well before this."""
    tier: int = Field(default=1, ge=1, le=9)
    """Capability tier: 1 cheapest; routing escalates one tier per gate failure."""
    max_output_tokens: int = Field(default=4096, gt=0)
    """Output tokens requested per call (also the budget guard's projection)."""
    api_key_env: str | None = None
    """Environment variable (or secrets-file key) holding this model's API key."""
    request_timeout_s: float | None = Field(default=None, gt=0)
    """Longest wait for one reply, in seconds (default 180). A model on a local CPU server writes a
    few dozen tokens a second: give it time for ``max_output_tokens`` plus reading the prompt."""
    max_concurrent_requests: int | None = Field(default=None, ge=1)
    """Requests in flight to this model's server at once from this host, across every worker
    process (None: no limit). A llama.cpp server works one request at a time: set 1, so a request
    waits for a free slot here, not in the server's queue where the timeout would run out."""
    fallback: str | None = None
    """Catalogue name of the model a step switches to when this one's provider does not answer
    (after retries); without one the job pauses as ``awaiting_provider``."""

    def cost_usd(self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
        """Price one call; cached tokens are part of ``input_tokens`` (LangChain's convention)."""
        cached = min(max(cached_input_tokens, 0), max(input_tokens, 0))
        cached_price = self.price_input if self.price_cached_input is None else self.price_cached_input
        return (
            (input_tokens - cached) * self.price_input + cached * cached_price + output_tokens * self.price_output
        ) / 1_000_000


def parse_catalogue(entries: list[dict[str, Any]], source: str = "catalogue") -> tuple[ModelSpec, ...]:
    """Validate catalogue entries; raises ``CatalogueError`` naming the entry, key and reason."""
    specs: list[ModelSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        label = entry.get("name", f"[{i}]") if isinstance(entry, dict) else f"[{i}]"
        try:
            spec = ModelSpec.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "(entry)"
            raise CatalogueError(f"{source}: models.{label}.{key}: {first['msg']}") from None
        if spec.name in seen:
            raise CatalogueError(f"{source}: models.{spec.name}: duplicate model name")
        seen.add(spec.name)
        specs.append(spec)
    names = {s.name for s in specs}
    for spec in specs:
        if spec.fallback is not None and (spec.fallback not in names or spec.fallback == spec.name):
            why = "is the model itself" if spec.fallback == spec.name else "is not in the catalogue"
            raise CatalogueError(
                f"{source}: models.{spec.name}.fallback: {spec.fallback!r} {why} (known: {', '.join(sorted(names))})"
            )
    return tuple(specs)


def attach_spec(model: Any, spec: ModelSpec) -> Any:
    """Tag a chat model with its catalogue entry, so accounting and context limits can find it."""
    model.metadata = {**(model.metadata or {}), _SPEC_KEY: spec.model_dump()}
    return model


def spec_of(model: Any) -> ModelSpec:
    """The catalogue entry a chat model was built from (scripted models carry their own)."""
    own = getattr(model, "model_spec", None)
    if isinstance(own, ModelSpec):
        return own
    data = (getattr(model, "metadata", None) or {}).get(_SPEC_KEY)
    if data:
        return ModelSpec.model_validate(data)
    name = str(getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__)
    # Unknown models are priced at zero and the ledger says so (cost_basis "unpriced").
    return ModelSpec(name=name, provider="openai_compatible", model_id=name)


def has_catalogue_spec(model: Any) -> bool:
    """Whether the model was built from a catalogue entry (so its prices are known)."""
    return isinstance(getattr(model, "model_spec", None), ModelSpec) or bool(
        (getattr(model, "metadata", None) or {}).get(_SPEC_KEY)
    )


def _builtin_catalogue() -> tuple[ModelSpec, ...]:
    text = resources.files("agents").joinpath("default_models.yml").read_text(encoding="utf-8")
    return parse_catalogue(yaml.safe_load(text)["models"], "agents/default_models.yml")


DEFAULT_CATALOGUE: tuple[ModelSpec, ...] = _builtin_catalogue()
"""Shipped defaults (``agents/default_models.yml``); a deployment's models file replaces them."""
