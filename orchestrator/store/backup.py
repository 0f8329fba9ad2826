"""``shipyard backup`` / ``shipyard restore``: what a deployment cannot rebuild, copied while it runs.

A backup holds the store and the checkpoints (SQLite's online backup: a consistent copy while workers
write), then the local forge repositories inside the data directory with every ref (branches, pull
requests' heads, the job refs ``refs/shipyard/jobs/<id>`` a job resumes from). Taken in that order, the
repositories hold at least what the store names. Job directories and the queue are not kept: a worker
rebuilds a job from its checkpoint and its job ref, and the sweep re-sends what the queue held. A
restored deployment's running jobs have no live lease: the sweep hands them to a worker, which resumes
them from their checkpoints.

PostgreSQL keeps the store and the checkpoints in the database: ``pg_dump`` backs them up (the backup
says so and ``--check`` verifies the dump); the data directory's repositories are copied the same way.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from orchestrator.settings import Settings
from orchestrator.store.db import Store
from orchestrator.store.paths import stored_path
from orchestrator.store.tables import Repository

MANIFEST = "shipyard-backup.json"
PG_DUMP = "shipyard.pgdump"
PG_DUMP_COMMAND = "pg_dump --format=custom --file={dest}/" + PG_DUMP + " '<SHIPYARD_DATABASE_URL without +psycopg>'"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class BackupReport:
    dest: Path
    files: list[str] = field(default_factory=list)
    repositories: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    """Local repositories outside the data directory: the user's own, not copied."""
    postgres: bool = False


def _sqlite_path(settings: Settings) -> Path | None:
    url = settings.db_url
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _online_copy(source: Path, dest: Path) -> None:
    """SQLite's online backup: a consistent copy while other processes write."""
    src = sqlite3.connect(source, timeout=30)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()


def _copy_repository(source: Path, dest: Path) -> None:
    """Refs before objects: git writes an object before any ref names it, so every ref copied names an
    object copied after it (objects are only added while a worker pushes)."""
    git = source / ".git" if (source / ".git").is_dir() else source  # a work tree's, or a bare repository
    rest = [p for p in source.iterdir() if p != git] if git != source else []
    dest.mkdir(parents=True)
    target = dest / git.relative_to(source) if git != source else dest
    target.mkdir(exist_ok=True)
    for entry in sorted(git.iterdir(), key=lambda p: p.name == "objects"):
        _copy(entry, target / entry.name)
    for entry in rest:
        _copy(entry, dest / entry.name)


def _copy(source: Path, dest: Path) -> None:
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, dest, symlinks=True)
    else:
        shutil.copy2(source, dest, follow_symlinks=False)


def backup(settings: Settings, store: Store, dest: Path) -> BackupReport:
    dest = dest.expanduser().resolve()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest}: not empty; back up into a new directory")
    data_dir = settings.data_dir.resolve()
    if dest == data_dir or data_dir in dest.parents:
        raise BackupError(f"{dest}: inside the data directory {data_dir}; back up somewhere else")
    dest.mkdir(parents=True, exist_ok=True)
    report = BackupReport(dest)
    sqlite_db = _sqlite_path(settings)
    if sqlite_db is None:
        report.postgres = True
    else:
        _online_copy(sqlite_db, dest / "shipyard.db")
        report.files.append("shipyard.db")
        if settings.checkpoint_path.exists():
            _online_copy(settings.checkpoint_path, dest / "checkpoints.db")
            report.files.append("checkpoints.db")
    with store.session() as s:
        locations = [(r.name, r.url) for r in s.scalars(select(Repository).where(Repository.forge == "local"))]
    for name, url in locations:
        remote = "://" in url or ("@" in url.split("/")[0] and ":" in url)
        where = url if remote or not Path(url).is_absolute() else stored_path(data_dir, url)
        if remote or Path(where).is_absolute():
            report.left_out.append(f"{name} ({url})")
            continue
        _copy_repository(data_dir / where, dest / where)
        report.repositories.append(where)
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "data_dir": str(data_dir),
        "database": "postgresql" if report.postgres else "sqlite",
        "files": report.files,
        "repositories": report.repositories,
        "left_out": report.left_out,
    }
    if report.postgres:
        manifest["pg_dump"] = PG_DUMP_COMMAND.format(dest=dest)
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return report


def read_manifest(source: Path) -> dict:
    try:
        return json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source}: not a Shipyard backup (no {MANIFEST})") from None
    except ValueError as exc:
        raise BackupError(f"{source / MANIFEST}: unreadable: {exc}") from None


def check(source: Path) -> list[str]:
    """What is wrong with the backup at ``source`` (empty: it restores)."""
    manifest = read_manifest(source)
    problems = []
    for name in manifest.get("files", []):
        try:
            con = sqlite3.connect(f"file:{source / name}?mode=ro", uri=True)
            try:
                verdict = con.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error as exc:
            verdict = str(exc)
        if verdict != "ok":
            problems.append(f"{name}: {verdict}")
    for repo in manifest.get("repositories", []):
        done = subprocess.run(["git", "fsck", "--connectivity-only", "--no-progress"], cwd=source / repo,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            problems.append(f"{repo}: git fsck: {(done.stderr or done.stdout).strip()[:300]}")
    if manifest.get("database") == "postgresql":
        dump = source / PG_DUMP
        if not dump.exists():
            problems.append(f"{PG_DUMP}: missing; dump the database into the backup: {manifest.get('pg_dump')}")
        else:
            listed = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True)
            if listed.returncode != 0 or "TABLE DATA" not in listed.stdout or " jobs " not in listed.stdout:
                problems.append(f"{PG_DUMP}: not a dump of Shipyard's database: {listed.stderr.strip()[:300]}")
    return problems


def restore(settings: Settings, source: Path) -> dict:
    """Put the backup at ``source`` in place as ``settings``' data directory (empty, or not yet made);
    returns the manifest. A repository stored at its old absolute path inside the old data directory
    is stored relative, so it is found where it now is."""
    source = source.expanduser().resolve()
    manifest = read_manifest(source)
    problems = check(source)
    if problems:
        raise BackupError(f"{source}: the backup does not restore: " + "; ".join(problems))
    data_dir = settings.data_dir.expanduser().resolve()
    if manifest.get("database") == "postgresql":
        raise BackupError(
            f"{source}: a PostgreSQL deployment's backup: restore the database with "
            f"`pg_restore --clean --dbname '<url>' {source / PG_DUMP}`, then copy its repositories "
            f"({', '.join(manifest.get('repositories', [])) or 'none'}) into {data_dir}"
        )
    if _sqlite_path(settings) is None:
        raise BackupError("SHIPYARD_DATABASE_URL is set: this backup is of a SQLite deployment; unset it to restore")
    if data_dir.exists() and any(p.name != "in-use.lock" for p in data_dir.iterdir()):
        raise BackupError(f"{data_dir}: not empty; restore into a new data directory (SHIPYARD_DATA_DIR)")
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in manifest.get("files", []):
        shutil.copy2(source / name, data_dir / name)
    for repo in manifest.get("repositories", []):
        shutil.copytree(source / repo, data_dir / repo, symlinks=True)
    _relocate(settings, Path(manifest["data_dir"]))
    return manifest


def _relocate(settings: Settings, old_data_dir: Path) -> None:
    """Repository paths stored absolute inside the old data directory, made relative."""
    store = Store(settings.db_url)
    try:
        with store.session() as s:
            for repo in s.scalars(select(Repository).where(Repository.forge == "local")):
                if Path(repo.url).is_absolute() and old_data_dir in Path(repo.url).parents:
                    repo.url = Path(repo.url).relative_to(old_data_dir).as_posix()
    finally:
        store.engine.dispose()
