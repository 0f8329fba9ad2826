"""Paths the store keeps: one inside the data directory is stored relative to it, so that a data
directory copied elsewhere (a restore from a backup, a move to a bigger disk) works where it lands."""

from __future__ import annotations

from pathlib import Path


def stored_path(data_dir: Path, path: Path | str) -> str:
    """``path`` as the store keeps it: relative (``repos/textkit``) when inside ``data_dir``, else absolute."""
    absolute = Path(path).expanduser().resolve()
    try:
        return absolute.relative_to(data_dir.expanduser().resolve()).as_posix()
    except ValueError:
        return str(absolute)


def resolved_path(data_dir: Path, stored: str) -> str:
    """Where a local repository's stored location is now: a relative path is inside ``data_dir``; an
    absolute path or a git URL (``https://…``, ``git@host:…``) is as stored."""
    if not stored or "://" in stored or ("@" in stored.split("/")[0] and ":" in stored) or Path(stored).is_absolute():
        return stored
    return str(data_dir / stored)
