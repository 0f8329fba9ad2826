"""LangGraph checkpointer: SQLite beside the embedded store, Postgres when the store is Postgres.

The checkpointer's tables are set up once per process (``ensure_checkpoint_tables``), never per
job: concurrent ``setup()`` calls on a fresh PostgreSQL race each other. Connections are opened
per job in the process that uses them, so none crosses a fork.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterator

from langgraph.checkpoint.base import BaseCheckpointSaver

from orchestrator.settings import Settings

_READY: set[str] = set()
_LOCK = threading.Lock()
PG_SETUP_LOCK = 0x5319_0001
"""Advisory lock id serialising checkpointer set-up across processes and hosts."""


def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def ensure_checkpoint_tables(settings: Settings) -> None:
    """Create or upgrade the checkpointer's tables once per process (idempotent, safe across processes)."""
    url = settings.db_url
    with _LOCK:
        if url in _READY:
            return
        if url.startswith("postgresql"):
            _setup_postgres(_pg_conninfo(url))
        else:
            with _sqlite_saver(settings) as saver:
                saver.setup()
        _READY.add(url)


def _setup_postgres(conninfo: str) -> None:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

    with psycopg.connect(conninfo, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (PG_SETUP_LOCK,))
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


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    ensure_checkpoint_tables(settings)
    if settings.db_url.startswith("postgresql"):
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(_pg_conninfo(settings.db_url)) as saver:
            yield saver
        return
    with _sqlite_saver(settings) as saver:
        saver.is_setup = True  # tables exist (above); SqliteSaver would otherwise re-run its DDL per job
        yield saver
