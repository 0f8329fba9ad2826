"""The sandbox image for a repository: its own Dockerfile (built, cached by hash) or a named image.

``.shipyard.yml``::

    sandbox:
      dockerfile: ci/sandbox.Dockerfile   # built with its directory as context
      # or: image: python:3.12-slim

A repository's Dockerfile is untrusted: it is built without network unless the repository's
network policy is ``setup``. The tag is ``shipyard-repo-<hash>:latest`` where the hash
covers the Dockerfile and every file of its context (``.git`` excluded), so an unchanged
recipe is never rebuilt and a changed one never reuses a stale image.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import docker
from docker.errors import BuildError, DockerException

from sandboxes.base import SandboxError
from sandboxes.images import RECIPE_LABEL, SANDBOX_IMAGE, Report, image_recipe


class SandboxImageConfig(Protocol):
    """The ``sandbox`` section of ``.shipyard.yml`` (``workflows.repo_config.SandboxConfig``)."""

    image: str | None
    dockerfile: str | None
    network: str


def context_hash(dockerfile: Path, context: Path) -> str:
    """sha256 over the Dockerfile and every context file's relative path, mode and bytes."""
    digest = hashlib.sha256(b"dockerfile\0" + dockerfile.read_bytes())
    for dirpath, dirnames, filenames in os.walk(context):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(context).as_posix()
            if path.is_symlink():
                payload = b"link:" + os.readlink(path).encode()
            else:
                payload = path.read_bytes()
            digest.update(f"{rel}\0{path.lstat().st_mode & 0o777}\0{len(payload)}\0".encode() + payload)
    return digest.hexdigest()[:32]


def _repo_dockerfile(repo_root: Path, relative: str) -> Path:
    root = repo_root.resolve()
    path = (root / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(root):
        raise SandboxError(f".shipyard.yml: sandbox.dockerfile: {relative!r} is outside the repository")
    if not path.is_file():
        raise SandboxError(f".shipyard.yml: sandbox.dockerfile: {relative!r} not found in the repository")
    return path


def image_for(
    repo_root: Path,
    sandbox_config: SandboxImageConfig | None,
    *,
    client: docker.DockerClient | None = None,
    report: Report = lambda _msg: None,
) -> str:
    """The image a job for this repository runs in, building the repository's Dockerfile if needed."""
    if sandbox_config is None or not (sandbox_config.dockerfile or sandbox_config.image):
        return SANDBOX_IMAGE
    if not sandbox_config.dockerfile:
        return str(sandbox_config.image)
    dockerfile = _repo_dockerfile(Path(repo_root), sandbox_config.dockerfile)
    context = dockerfile.parent
    recipe = context_hash(dockerfile, context)
    tag = f"shipyard-repo-{recipe[:16]}:latest"
    try:
        client = client or docker.from_env(timeout=600)
        if image_recipe(client, tag) == recipe:
            report(f"image {tag} for {sandbox_config.dockerfile} is cached")
            return tag
        report(f"building {sandbox_config.dockerfile} as {tag}")
        client.images.build(
            path=str(context),
            dockerfile=dockerfile.name,
            tag=tag,
            rm=True,
            forcerm=True,
            labels={RECIPE_LABEL: recipe, "shipyard.repo-image": "1"},
            network_mode="default" if sandbox_config.network == "setup" else "none",
        )
    except BuildError as exc:
        tail = "".join(str(step.get("stream", step.get("error", ""))) for step in list(exc.build_log)[-8:]).strip()
        raise SandboxError(
            f".shipyard.yml: sandbox.dockerfile: building {sandbox_config.dockerfile} failed: {exc.msg}\n{tail}"
        ) from None
    except DockerException as exc:
        raise SandboxError(
            f".shipyard.yml: sandbox.dockerfile: building {sandbox_config.dockerfile} failed: {exc}"
        ) from None
    return tag
