"""The store: tickets, jobs and their ledgers (SQLAlchemy 2; SQLite by default, Postgres by URL)."""

from orchestrator.store.account_tables import ApiToken, User, WebSession
from orchestrator.store.db import Store
from orchestrator.store.tables import (
    Attempt,
    Event,
    GateResult,
    Job,
    JobState,
    ModelUsage,
    PullRequest,
    Repository,
    Review,
    Ticket,
)

__all__ = [
    "ApiToken",
    "Attempt",
    "Event",
    "GateResult",
    "Job",
    "JobState",
    "ModelUsage",
    "PullRequest",
    "Repository",
    "Review",
    "Store",
    "Ticket",
    "User",
    "WebSession",
]
