"""Per-repository images: the repository's Dockerfile, built once per recipe, or a named image."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from sandbox_test_support import SMALL_SPEC

from sandboxes.base import SandboxError
from sandboxes.images import SANDBOX_IMAGE
from sandboxes.repo_image import image_for


@dataclass
class SandboxSection:
    image: str | None = None
    dockerfile: str | None = None
    network: str = "none"


def test_named_or_default_image_needs_no_build(tmp_path):
    assert image_for(tmp_path, None) == SANDBOX_IMAGE
    assert image_for(tmp_path, SandboxSection()) == SANDBOX_IMAGE
    assert image_for(tmp_path, SandboxSection(image="python:3.12-slim")) == "python:3.12-slim"


@pytest.mark.docker
def test_repo_dockerfile_is_built_once_per_recipe(tmp_path, docker_provider):
    client = docker_provider.client
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "tool.txt").write_text("repo tool v1\n")
    (tmp_path / "ci" / "sandbox.Dockerfile").write_text(f"FROM {SANDBOX_IMAGE}\nCOPY tool.txt /opt/repo-tool.txt\n")
    messages: list[str] = []
    config = SandboxSection(dockerfile="ci/sandbox.Dockerfile")
    tags = []
    try:
        tag = image_for(tmp_path, config, client=client, report=messages.append)
        tags.append(tag)
        assert tag.startswith("shipyard-repo-") and any("building" in m for m in messages)
        messages.clear()
        assert image_for(tmp_path, config, client=client, report=messages.append) == tag
        assert any("cached" in m for m in messages)
        box = docker_provider.acquire(replace(SMALL_SPEC, image=tag))
        try:
            assert box.exec("cat /opt/repo-tool.txt").output == "repo tool v1\n"
        finally:
            box.close()
        (tmp_path / "ci" / "tool.txt").write_text("repo tool v2\n")
        changed = image_for(tmp_path, config, client=client)
        tags.append(changed)
        assert changed != tag
    finally:
        for t in tags:
            client.images.remove(t, force=True)


@pytest.mark.docker
def test_repo_dockerfile_errors_name_the_key_and_reason(tmp_path, docker_provider):
    with pytest.raises(SandboxError, match=r"sandbox.dockerfile: 'missing.Dockerfile' not found"):
        image_for(tmp_path, SandboxSection(dockerfile="missing.Dockerfile"), client=docker_provider.client)
    with pytest.raises(SandboxError, match="outside the repository"):
        image_for(tmp_path, SandboxSection(dockerfile="../../etc/passwd"), client=docker_provider.client)
    (tmp_path / "Dockerfile").write_text(f"FROM {SANDBOX_IMAGE}\nRUN exit 7\n")
    with pytest.raises(SandboxError, match="building Dockerfile failed"):
        image_for(tmp_path, SandboxSection(dockerfile="Dockerfile"), client=docker_provider.client)


@pytest.mark.docker
def test_repo_dockerfile_builds_without_network_by_default(tmp_path, docker_provider):
    (tmp_path / "Dockerfile").write_text(
        f"FROM {SANDBOX_IMAGE}\nRUN python3 -c \"import socket; socket.create_connection(('pypi.org', 443), 5)\"\n"
    )
    with pytest.raises(SandboxError, match="building Dockerfile failed"):
        image_for(tmp_path, SandboxSection(dockerfile="Dockerfile"), client=docker_provider.client)
