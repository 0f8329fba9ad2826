"""Routing: which model does a step (role × complexity), escalating after failures.

Cheapest first: each role and ticket complexity starts at a tier, each gate failure moves
one tier up (to ``max_tier``), and within a tier the cheapest catalogue entry wins. A
per-repository override (``.shipyard.yml`` ``agent.models``) fixes the starting model. With a
cassette, every role gets the scripted replay and the reason says so. Every decision is a
``routing`` event on the job's timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from langchain_core.language_models import BaseChatModel

from agents.cassette import Cassette
from agents.catalogue import ModelSpec
from agents.credentials import ProviderSecrets
from agents.observers import CallRecorder
from agents.providers import ProviderError, make_chat_model
from agents.scripted import ScriptedChatModel

ROLES = ("triage", "plan", "code", "summarize")
"""The steps that call a model; routing, overrides and the cost ledger speak of these."""


def _default_start_tiers() -> dict[str, dict[str, int]]:
    return {
        "triage": {"low": 1, "medium": 1, "high": 1},
        "plan": {"low": 1, "medium": 2, "high": 3},
        "code": {"low": 1, "medium": 2, "high": 3},
        "summarize": {"low": 1, "medium": 1, "high": 1},
    }


@dataclass(frozen=True)
class RoutingPolicy:
    """How roles map to model tiers."""

    start_tier: dict[str, dict[str, int]] = field(default_factory=_default_start_tiers)
    """Role → ticket complexity → starting tier."""
    max_tier: int = 3
    """Escalation never goes above this tier."""
    overrides: dict[str, str] = field(default_factory=dict)
    """Role → catalogue name that replaces the tier choice as the starting model."""


@dataclass
class RoutedModel:
    model: BaseChatModel
    spec_name: str
    reason: str
    """Why this model, for the timeline: complexity, tier, escalation, override or replay."""
    spec: ModelSpec | None = None


class RoutingError(RuntimeError):
    """No model can serve a role (empty catalogue, unknown override, missing key)."""


class ModelRouter:
    def __init__(
        self,
        catalogue: Sequence[ModelSpec],
        policy: RoutingPolicy | None = None,
        cassette: Cassette | None = None,
        recorder: CallRecorder | None = None,
        *,
        secrets: ProviderSecrets | None = None,
        wrap: Callable[[BaseChatModel, str, int], BaseChatModel] | None = None,
    ):
        """``wrap(model, role, attempt)`` post-processes every live model (``shipyard record``)."""
        self.catalogue = [s for s in catalogue if s.provider != "scripted"]
        self.policy = policy or RoutingPolicy()
        self.cassette = cassette
        self.recorder = recorder
        self.secrets = secrets or ProviderSecrets()
        self.wrap = wrap
        for role, name in self.policy.overrides.items():
            if self._by_name(name) is None:
                raise RoutingError(
                    f"model override for {role}: {name!r} is not in the catalogue "
                    f"(known: {', '.join(s.name for s in self.catalogue) or 'none'})"
                )

    def use_overrides(self, overrides: dict[str, str], source: str = ".shipyard.yml: agent.models") -> None:
        """Apply a repository's per-role model overrides (role → catalogue name)."""
        for role, name in overrides.items():
            if self._by_name(name) is None:
                raise RoutingError(
                    f"{source}.{role}: {name!r} is not in the model catalogue "
                    f"(known: {', '.join(s.name for s in self.catalogue) or 'none'})"
                )
        self.policy = replace(self.policy, overrides={**self.policy.overrides, **overrides})

    def _by_name(self, name: str) -> ModelSpec | None:
        return next((s for s in self.catalogue if s.name == name), None)

    def _cheapest_at(self, tier: int) -> ModelSpec | None:
        """Cheapest spec at ``tier``; else the nearest tier above; else the highest below."""
        ordered = sorted(self.catalogue, key=lambda s: (s.price_input + s.price_output, s.name))
        for candidates in (
            [s for s in ordered if s.tier == tier],
            sorted([s for s in ordered if s.tier > tier], key=lambda s: s.tier),
            sorted([s for s in ordered if s.tier < tier], key=lambda s: -s.tier),
        ):
            if candidates:
                return candidates[0]
        return None

    def choose(self, role: str, *, complexity: str = "low", failures: int = 0) -> tuple[ModelSpec, str]:
        """The spec for a role and why, without building a client."""
        override = self.policy.overrides.get(role)
        if override:
            start = self._by_name(override)
            assert start is not None  # validated in __init__
            base_tier, why = start.tier, f"{role}: repository override {override} (tier {start.tier})"
        else:
            base_tier = self.policy.start_tier.get(role, {}).get(complexity, 1)
            start, why = None, f"{role}: complexity {complexity} → tier {base_tier}"
        tier = min(base_tier + max(failures, 0), max(self.policy.max_tier, base_tier))
        if failures > 0:
            capped = " (max tier)" if tier < base_tier + failures else ""
            why += f"; {failures} failure(s) → escalated to tier {tier}{capped}"
        spec = start if start is not None and tier == start.tier else self._cheapest_at(tier)
        if spec is None:
            raise RoutingError(f"{role}: the model catalogue is empty")
        if spec.tier != tier:
            why += f"; no model at tier {tier}, using tier {spec.tier}"
        return spec, f"{why} → {spec.name}" + ("" if start is spec else f" (cheapest at tier {spec.tier})")

    def for_role(self, role: str, *, complexity: str = "low", attempt: int = 1, failures: int = 0) -> RoutedModel:
        """Build the model for ``role``; raises ``RoutingError`` with the reason."""
        if self.cassette is not None:
            model = ScriptedChatModel(cassette=self.cassette, role=role, attempt=attempt)
            reason = f"{role}: scripted replay of cassette {self.cassette.name} (attempt {attempt})"
            self._event(reason, role, model.model_name)
            return RoutedModel(model, model.model_name, reason, model.model_spec)
        spec, reason = self.choose(role, complexity=complexity, failures=failures)
        return self._built(spec, role, attempt, reason)

    def _built(self, spec, role: str, attempt: int, reason: str) -> RoutedModel:
        try:
            model = make_chat_model(spec, self.secrets)
        except ProviderError as exc:
            raise RoutingError(str(exc)) from None
        if self.wrap is not None:
            model = self.wrap(model, role, attempt)
        self._event(reason, role, spec.name)
        return RoutedModel(model, spec.name, reason, spec)

    def fallback_for(self, routed: RoutedModel, role: str, *, attempt: int = 1, why: str = "") -> RoutedModel | None:
        """The catalogue's fallback for a model whose provider does not answer, built; or None."""
        name = routed.spec.fallback if routed.spec is not None and self.cassette is None else None
        spec = self._by_name(name) if name else None
        if spec is None:
            return None
        return self._built(
            spec,
            role,
            attempt,
            f"{role}: {routed.spec_name} did not answer{f' ({why})' if why else ''} → fallback {spec.name}",
        )

    def _event(self, reason: str, role: str, model: str) -> None:
        if self.recorder is not None:
            self.recorder.event("routing", reason, role=role, model=model)
