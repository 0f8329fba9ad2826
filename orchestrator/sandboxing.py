"""Which sandbox backend this process uses, built once per process from the settings."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

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
            provider = make_provider(kind, root=settings.data_dir / "sandboxes", pool_size=settings.sandbox_pool_size,
                                     allow_unisolated=settings.allow_unisolated)  # fmt: skip
            _providers[key] = SignedLocalSandboxes(provider) if kind == "local" else provider
        return _providers[key]


class SignedLocalSandboxes:
    """The local provider, writing each sandbox directory's owner into it: the sweep of any worker
    removes the directories of a worker that was killed (``reap_leaked``) and spares live ones."""

    def __init__(self, provider: SandboxProvider):
        self._provider = provider
        self.name = provider.name

    def __getattr__(self, name: str):
        return getattr(self._provider, name)

    def acquire(self, spec):
        from sandboxes.reaper import sign_local_sandbox

        box = self._provider.acquire(spec)
        sign_local_sandbox(Path(box.host_workspace).parent)
        return box


def reap_leaked(settings: Settings) -> None:
    """Remove sandboxes left by crashed workers: local sandbox directories, and containers (Docker backend)."""
    from sandboxes.reaper import reap_leaked as reap, reap_local_dirs

    removed_dirs = reap_local_dirs(settings.data_dir / "sandboxes", older_than_s=settings.lease_seconds * 2)
    if removed_dirs:
        log.info("reaped %d leaked local sandbox director%s: %s", len(removed_dirs), "y" if len(removed_dirs) == 1 else "ies",
                 [p.name for p in removed_dirs])  # fmt: skip
    if resolve_backend(settings.sandbox_backend) != "docker":
        return

    from sandboxes.docker import docker_client

    removed = reap(docker_client(), older_than_s=settings.lease_seconds * 2)
    if removed:
        log.info("reaped %s leaked sandbox container(s)", removed)
