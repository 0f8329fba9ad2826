"""One module per workflow node; each takes the state and the run config and returns an update."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.runnables import RunnableConfig

from agents.budget import BudgetExhausted
from agents.metered import Metering
from agents.one_shot import UnusableAnswer
from agents.resilience import ProviderUnavailable
from workflows.ports import JobServices
from workflows.state import PausingStep, TicketState

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


def metering_of(services: JobServices) -> Metering:
    """How the job's model calls are guarded, retried and accounted."""
    return Metering(services.recorder, services.budget, services.retry)


def fallback_after(
    services: JobServices, routed: Any, role: str, cause: ProviderUnavailable, tried: set[str], *, attempt: int = 1
) -> Any:
    """The catalogue's fallback for ``routed``, whose provider did not answer, built and added to
    ``tried``; ``None`` when there is none or it was tried already (each model at most once a step)."""
    fallback = services.models.fallback_for(routed, role, attempt=attempt, why=cause.cause)
    if fallback is None or fallback.spec_name in tried:
        return None
    tried.add(fallback.spec_name)
    return fallback


def with_fallback(services: JobServices, routed: Any, role: str, call: Callable[[Any], T]) -> T:
    """``call(model)`` with the routed model; when its provider does not answer, again with the
    catalogue's fallback (each model at most once). Raises the last ``ProviderUnavailable``."""
    tried = {routed.spec_name}
    while True:
        try:
            return call(routed.model)
        except ProviderUnavailable as exc:
            routed = fallback_after(services, routed, role, exc, tried)
            if routed is None:
                raise


def pause_update(services: JobServices, role: PausingStep, cause: BudgetExhausted | ProviderUnavailable) -> TicketState:
    """The update that pauses the job at ``role``: until a human extends the spending limit, or
    until the provider answers again. Nothing is lost; the step runs again on resume."""
    from workflows.nodes.human import budget_pause, provider_pause  # human's nodes import this package

    if isinstance(cause, BudgetExhausted):
        return budget_pause(role, cause.reason)
    return provider_pause(services, role, cause)


def model_step(
    services: JobServices, routed: Any, role: PausingStep, call: Callable[[Any], T], *, instead: str
) -> T | TicketState:
    """A one-shot step's answer: ``call(model)`` with fallback (``with_fallback``). When there is
    none, the state update that says why: paused at a spending limit or a provider that does not
    answer, or blocked without a usable answer (the reason ends with ``instead``: what a human can do)."""
    try:
        return with_fallback(services, routed, role, call)
    except (BudgetExhausted, ProviderUnavailable) as exc:
        return pause_update(services, role, exc)
    except UnusableAnswer as exc:
        return {"outcome": "blocked", "reason": f"{exc}; {instead}"}
