"""Who uses a data directory: every long-running process (``shipyard web``, ``shipyard worker``) holds a
shared lock on a file in it for its lifetime, so that a command that replaces the directory (a new
``shipyard demo``, ``shipyard restore``) can refuse while one runs instead of pulling the database out
from under it (the server would keep the deleted file open and show, and take decisions on, the old data)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "in-use.lock"


class DataDirInUse(RuntimeError):
    """The directory is used by a running process; the message names them and what to do."""


def hold_shared(data_dir: Path):
    """Mark ``data_dir`` as used by this process until it exits (keep the returned file open)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(data_dir / LOCK_FILE, "a+")  # held open for the process's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise DataDirInUse(
            f"{data_dir} is being replaced (a demo or a restore is running): try again when it ends"
        ) from None
    return lock


@contextmanager
def exclusive(data_dir: Path, doing: str) -> Iterator[None]:
    """Hold ``data_dir`` alone while the block runs; DataDirInUse (naming the processes) when a web server
    or a worker uses it. A directory that does not exist yet is nobody's."""
    if not data_dir.is_dir():
        yield
        return
    path = data_dir / LOCK_FILE
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            users = ", ".join(_holders(path)) or "another process"
            raise DataDirInUse(
                f"{data_dir} is in use by a running shipyard process ({users}): stop it before {doing}"
            ) from None
        yield


def _holders(path: Path) -> list[str]:
    """``pid N (command)`` for each process that has ``path`` open (Linux's /proc; empty elsewhere)."""
    found = []
    target = os.path.realpath(path)
    for pid in filter(str.isdigit, _listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        for fd in _listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    found.append(f"pid {pid}: {_command(pid)}")
                    break
            except OSError:
                continue
    return sorted(found)[:5]


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _command(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in args if a]
    keep = [w for w in words if w in ("web", "worker", "demo", "restore")]
    return "shipyard " + " ".join(keep[:1]) if keep else " ".join(words[:3])
