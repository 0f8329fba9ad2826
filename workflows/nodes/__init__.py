"""One module per workflow node; each takes the state and the run config and returns an update."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.runnables import RunnableConfig

from agents.resilience import ProviderUnavailable
from workflows.ports import JobServices
from workflows.state import TicketState

if TYPE_CHECKING:
    from agents.router import RoutedModel

T = TypeVar("T")


def services_of(config: RunnableConfig) -> JobServices:
    return config["configurable"]["services"]


def route(services: JobServices, state: TicketState, role: str, *, attempt: int = 1, failures: int = 0) -> RoutedModel:
    """The model for ``role``: the repository's overrides applied, cheapest-first with escalation."""
    overrides = (state.get("config") or {}).get("agent", {}).get("models") or {}
    if overrides:
        services.models.use_overrides(overrides)
    return services.models.for_role(
        role, complexity=state.get("complexity", "medium"), attempt=attempt, failures=failures
    )


def with_fallback(services: JobServices, routed: Any, role: str, call: Callable[[Any], T]) -> T:
    """``call(model)`` with the routed model; when its provider does not answer, again with the
    catalogue's fallback (each model at most once). Raises the last ``ProviderUnavailable``."""
    tried = {routed.spec_name}
    while True:
        try:
            return call(routed.model)
        except ProviderUnavailable as exc:
            fallback = services.models.fallback_for(routed, role, why=exc.cause)
            if fallback is None or fallback.spec_name in tried:
                raise
            tried.add(fallback.spec_name)
            routed = fallback
