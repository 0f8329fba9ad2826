"""One module per workflow node; each takes the state and the run config and returns an update."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig

from workflows.ports import JobServices


def services_of(config: RunnableConfig) -> JobServices:
    return config["configurable"]["services"]
