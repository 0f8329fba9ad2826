"""Retention of LangGraph checkpoints: a finished job's checkpoints go with its directory.

Only a job that is not final resumes from its checkpoints (a retry is a new job with a thread of
its own), and the job page and API read the store alone, so a final job's checkpoints are dead
weight once the retention has passed. Driven by the thread ids in the checkpoint tables (SQLite
beside the embedded store, or the PostgreSQL database itself) and idempotent, like the directory
sweep: any number of workers and ``shipyard jobs gc`` may run it at once.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta

from orchestrator.settings import Settings
from orchestrator.store import Store

SQLITE_TABLES = {"checkpoints": "coalesce(length(checkpoint), 0) + coalesce(length(metadata), 0)",
                 "writes": "coalesce(length(value), 0)"}  # fmt: skip
"""Each SQLite checkpoint table and the bytes of data a row holds."""
POSTGRES_TABLES = {"checkpoints": "pg_column_size(checkpoint) + pg_column_size(metadata)",
                   "checkpoint_blobs": "coalesce(pg_column_size(blob), 0)",
                   "checkpoint_writes": "pg_column_size(blob)"}  # fmt: skip


@dataclass(frozen=True)
class FreedCheckpoints:
    job_id: int
    rows: int
    bytes: int


def collect_checkpoints(settings: Settings, store: Store, retain_days: float) -> list[FreedCheckpoints]:
    """Delete the checkpoints of jobs finished more than ``retain_days`` ago; returns what was freed."""
    from orchestrator.housekeeping.retention import expired_job_ids

    postgres = settings.db_url.startswith("postgresql")
    if not postgres and not settings.checkpoint_path.is_file():
        return []
    with closing(_connect(settings, postgres)) as conn:
        tables = POSTGRES_TABLES if postgres else SQLITE_TABLES
        threads = _thread_ids(conn, tables, postgres)
        expired = expired_job_ids(store, sorted(threads), timedelta(days=retain_days)) if threads else []
        return [_delete_thread(conn, tables, postgres, job_id) for job_id in expired]


def _connect(settings: Settings, postgres: bool):
    if postgres:
        import psycopg

        from orchestrator.store.checkpointer import checkpoint_conninfo

        return psycopg.connect(checkpoint_conninfo(settings.db_url))
    return sqlite3.connect(str(settings.checkpoint_path), timeout=30)


def _thread_ids(conn, tables: dict[str, str], postgres: bool) -> set[int]:
    """Job ids (thread ids are job ids) with any checkpoint data; empty before the checkpointer set up."""
    present = [t for t in tables if _table_exists(conn, t, postgres)]
    ids: set[int] = set()
    for table in present:
        ids |= {
            int(t) for (t,) in conn.execute(f"SELECT DISTINCT thread_id FROM {table}").fetchall() if str(t).isdigit()
        }
    conn.commit()
    return ids


def _table_exists(conn, table: str, postgres: bool) -> bool:
    if postgres:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]
    return (
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None
    )


def _delete_thread(conn, tables: dict[str, str], postgres: bool, job_id: int) -> FreedCheckpoints:
    """Count, then delete, the thread's rows in one transaction."""
    mark = "%s" if postgres else "?"
    rows = size = 0
    for table, row_bytes in tables.items():
        if not _table_exists(conn, table, postgres):
            continue
        n, b = conn.execute(f"SELECT count(*), coalesce(sum({row_bytes}), 0) FROM {table} WHERE thread_id = {mark}",
                            (str(job_id),)).fetchone()  # fmt: skip
        conn.execute(f"DELETE FROM {table} WHERE thread_id = {mark}", (str(job_id),))
        rows, size = rows + n, size + int(b)
    conn.commit()
    return FreedCheckpoints(job_id, rows, size)
