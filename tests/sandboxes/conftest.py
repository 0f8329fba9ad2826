"""Sandbox backends under test: every behaviour test runs against docker, bwrap and plain local."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandbox_test_support import SMALL_SPEC, backends

from sandboxes.docker import DockerSandboxProvider
from sandboxes.images import ensure_images
from sandboxes.local import LocalSandboxProvider

BACKENDS = backends("docker", "bwrap", "local")


@pytest.fixture(scope="session")
def sandbox_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandboxes")


@pytest.fixture(scope="session")
def docker_provider(sandbox_root: Path) -> Iterator[DockerSandboxProvider]:
    # Builds the image on a fresh machine; a no-op (recipe label matches) otherwise.
    ensure_images(report=lambda _msg: None)
    provider = DockerSandboxProvider(sandbox_root / "docker")
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def bwrap_provider(sandbox_root: Path) -> LocalSandboxProvider:
    return LocalSandboxProvider(sandbox_root / "bwrap", isolation="bwrap")


@pytest.fixture(scope="session")
def plain_provider(sandbox_root: Path) -> LocalSandboxProvider:
    return LocalSandboxProvider(sandbox_root / "local", isolation="none")


@pytest.fixture
def provider_for(request: pytest.FixtureRequest) -> Callable[[str], object]:
    names = {"docker": "docker_provider", "bwrap": "bwrap_provider", "local": "plain_provider"}
    return lambda backend: request.getfixturevalue(names[backend])


@pytest.fixture(params=BACKENDS)
def sandbox(request: pytest.FixtureRequest, provider_for: Callable[[str], object]):
    box = provider_for(request.param).acquire(SMALL_SPEC)
    yield box
    box.close()
