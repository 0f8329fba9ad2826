"""Which sandbox backend this process uses, built once per process from the settings."""

from __future__ import annotations

import logging
import threading

from orchestrator.settings import Settings
from sandboxes.base import SandboxProvider
from sandboxes.factory import docker_available, make_provider

log = logging.getLogger("shipyard.sandboxing")
_providers: dict[tuple, SandboxProvider] = {}
_lock = threading.Lock()


def resolve_backend(kind: str) -> str:
    """``auto`` → ``docker`` when an engine answers, else ``local``."""
    if kind != "auto":
        return kind
    return "docker" if docker_available() else "local"


def describe_backend(kind: str) -> str:
    if kind == "docker":
        return "docker (a container per job: no network, non-root, read-only root, memory/CPU/pids limits)"
    return ("bwrap (no Docker engine answers): bubblewrap on the host — private mount, pid and network "
            "namespaces, read-only system directories, non-root, no network")  # fmt: skip


def sandbox_provider(settings: Settings) -> SandboxProvider:
    kind = resolve_backend(settings.sandbox_backend)
    key = (kind, str(settings.data_dir), settings.sandbox_pool_size, settings.allow_unisolated)
    with _lock:
        if key not in _providers:
            hidden = (settings.secrets_file,) if settings.secrets_file else ()
            _providers[key] = make_provider(
                kind,
                root=settings.data_dir / "sandboxes",
                pool_size=settings.sandbox_pool_size,
                allow_unisolated=settings.allow_unisolated,
                hidden_paths=hidden,
            )
        return _providers[key]


def reap_leaked(settings: Settings) -> None:
    """Remove sandboxes left by crashed workers: local sandbox directories (with their disks), and
    containers (Docker backend)."""
    from sandboxes.reaper import reap_leaked as reap
    from sandboxes.reaper import reap_leaked_dirs, reap_orphaned_processes

    orphans = reap_orphaned_processes(settings.data_dir / "sandboxes")
    if orphans:
        log.info("killed %d orphaned sandbox process(es) of a dead worker: %s", len(orphans), orphans)
    gone = reap_leaked_dirs(settings.data_dir / "sandboxes", older_than_s=settings.lease_seconds * 2)
    if gone:
        log.info("reaped %d leaked local sandbox director%s: %s", len(gone), "y" if len(gone) == 1 else "ies",
                 [p.name for p in gone])  # fmt: skip
    if resolve_backend(settings.sandbox_backend) != "docker":
        return

    from sandboxes.docker import docker_client

    removed = reap(docker_client(), older_than_s=settings.lease_seconds * 2)
    if removed:
        log.info("reaped %s leaked sandbox container(s)", removed)
