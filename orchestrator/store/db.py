"""Engine, sessions and schema migrations (Alembic, run programmatically)."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the web app read while a worker writes; busy_timeout rides out short locks.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives any process crash (kill -9); only an OS crash or power loss
    # may roll back the last commits, never corrupt the file. It saves an fsync per commit.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def insert_or_skip(session: Session, model):
    """``INSERT … ON CONFLICT`` for the session's dialect (SQLite or PostgreSQL): uniqueness lives in the database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise ValueError(f"database dialect {dialect!r} is not supported (SQLite or PostgreSQL)")


_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


def forget_inherited_connections() -> None:
    """In a freshly forked process: drop pooled connections inherited from the parent without closing them.

    Closing would talk on the parent's sockets; the child opens its own on first use.
    """
    for store in list(_STORES):
        if store.pid != os.getpid():
            store.engine.dispose(close=False)
            store.pid = os.getpid()


class Store:
    """The database: one per deployment. ``migrate()`` brings the schema to the latest version."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.pid = os.getpid()
        _STORES.add(self)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        with self._sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
