"""LangGraph checkpointer: SQLite beside the embedded store, Postgres when the store is Postgres.

The checkpointer's tables are set up once per process (``ensure_checkpoint_tables``), never per
job: concurrent ``setup()`` calls on a fresh PostgreSQL race each other (and an advisory lock
serialises processes). Each process opens its own checkpoint connections on first use
(``process_checkpointer``), so none crosses a fork.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from orchestrator.redaction import Redactor, egress_redactor
from orchestrator.settings import Settings

_READY: set[str] = set()
_LOCK = threading.RLock()
PG_SETUP_LOCK = 0x5319_0001
"""Advisory lock id serialising checkpointer set-up across processes and hosts."""


def checkpoint_conninfo(url: str) -> str:
    """The psycopg connection string of the store's PostgreSQL URL (the checkpoints live in the same database)."""
    return url.replace("postgresql+psycopg://", "postgresql://")


class RedactingSerializer:
    """The checkpointer's serializer behind the egress redactor: a checkpoint (state, pending
    writes, interrupts) never stores a secret, whatever the workflow put in its state."""

    def __init__(self, redactor: Redactor, inner: SerializerProtocol | None = None):
        self.redactor = redactor
        self.inner = inner or JsonPlusSerializer()

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return self.inner.dumps_typed(self.redactor.data(obj))

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.inner.loads_typed(data)


def ensure_checkpoint_tables(settings: Settings) -> None:
    """Create or upgrade the checkpointer's tables once per process (idempotent, safe across processes)."""
    url = settings.db_url
    with _LOCK:
        if url in _READY:
            return
        if url.startswith("postgresql"):
            _setup_postgres(checkpoint_conninfo(url))
        else:
            with _sqlite_saver(settings) as saver:
                saver.setup()
        _READY.add(url)


def _setup_postgres(conninfo: str, wait_s: float = 120.0) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    # Wait for the lock with short, separate statements: a session blocked inside
    # pg_advisory_lock() holds a snapshot, which a concurrent CREATE INDEX CONCURRENTLY in the
    # holder's set-up waits for — a deadlock PostgreSQL cannot see (it spans two sessions).
    with psycopg.connect(conninfo, autocommit=True) as lock_conn:
        deadline = time.monotonic() + wait_s
        while not lock_conn.execute("SELECT pg_try_advisory_lock(%s)", (PG_SETUP_LOCK,)).fetchone()[0]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"checkpointer set-up: another process held the set-up lock for over {wait_s:.0f} s")
            time.sleep(0.2)
        try:
            with PostgresSaver.from_conn_string(conninfo) as saver:
                saver.setup()
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (PG_SETUP_LOCK,))


@contextmanager
def _sqlite_saver(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    settings.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(settings.checkpoint_path), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


def process_checkpointer(settings: Settings) -> BaseCheckpointSaver:
    """A checkpointer on new connections of this process; its tables must exist (``ensure_checkpoint_tables``)."""
    if settings.db_url.startswith("postgresql"):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(
            checkpoint_conninfo(settings.db_url),
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            check=ConnectionPool.check_connection,  # a restarted server costs a reconnect, not a failed job
            open=True,
        )
        return PostgresSaver(pool, serde=RedactingSerializer(egress_redactor(settings)))
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(settings.checkpoint_path), check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    saver = SqliteSaver(conn, serde=RedactingSerializer(egress_redactor(settings)))
    saver.is_setup = True  # tables exist (ensure_checkpoint_tables); skip SqliteSaver's DDL
    return saver
