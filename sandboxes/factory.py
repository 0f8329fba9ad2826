"""Choosing a sandbox backend by name: ``docker``, ``local`` (bwrap when usable) or ``auto``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import docker
from docker.errors import DockerException

from sandboxes.base import SandboxError, SandboxProvider
from sandboxes.docker import DockerSandboxProvider
from sandboxes.local import LocalSandboxProvider

BackendKind = Literal["docker", "local", "auto"]


def docker_available(timeout_s: float = 2.0) -> bool:
    """True when the engine named by ``DOCKER_HOST`` (default: local socket) answers a ping in time."""
    try:
        client = docker.from_env(timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (DockerException, OSError):
        return False


def make_provider(
    kind: str, *, root: Path, pool_size: int = 0, allow_unisolated: bool = False, hidden_paths: tuple[Path, ...] = ()
) -> SandboxProvider:
    """A provider for ``kind``; ``auto`` is docker when the engine answers, else local.

    ``root``: directory under which each sandbox gets its own workspace directory.
    ``pool_size``: warm containers kept per spec (docker only).
    ``allow_unisolated``: let ``local`` fall back to plain host processes when bubblewrap is
    not usable (otherwise that is refused).
    ``hidden_paths``: host files and directories (the secrets file) kept from local sandboxes.
    Raises ``SandboxError`` naming the kind and the reason when it cannot be used.
    """
    if kind == "auto":
        kind = "docker" if docker_available() else "local"
    if kind == "docker":
        if not docker_available():
            raise SandboxError(
                "sandbox backend docker: the Docker engine does not answer (check DOCKER_HOST and that dockerd runs)"
            )
        return DockerSandboxProvider(Path(root), pool_size=pool_size)
    if kind == "local":
        return LocalSandboxProvider(Path(root), allow_unisolated=allow_unisolated, hidden_paths=hidden_paths)
    raise SandboxError(f"sandbox backend {kind!r}: unknown; choose docker, local or auto")
