"""One module per workflow node; each takes the state and the run config and returns an update."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from workflows.ports import JobServices


def services_of(config: RunnableConfig) -> JobServices:
    return config["configurable"]["services"]


def route(services: JobServices, state: dict, role: str, *, attempt: int = 1, failures: int = 0):
    """The model for ``role``: the repository's overrides applied, cheapest-first with escalation."""
    overrides = (state.get("config") or {}).get("agent", {}).get("models") or {}
    if overrides:
        services.models.use_overrides(overrides)
    return services.models.for_role(role, complexity=state.get("complexity", "medium"), attempt=attempt, failures=failures)
