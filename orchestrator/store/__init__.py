"""The store: tickets, jobs and their ledgers (SQLAlchemy 2; SQLite by default, Postgres by URL).

The rows are declared in ``orchestrator.store.tables`` and ``orchestrator.store.account_tables``.
"""

# The account tables join ``Base.metadata`` whichever module of the store is imported first:
# migrations compare the database against it.
from orchestrator.store import account_tables  # noqa: F401
from orchestrator.store.db import Store

__all__ = ["Store"]
