"""Choosing a backend by name, as deployment config does."""

from __future__ import annotations

import pytest
from sandbox_test_support import SMALL_SPEC

from sandboxes.base import SandboxError
from sandboxes.factory import docker_available, make_provider


@pytest.mark.docker
def test_auto_picks_docker_when_the_engine_answers(tmp_path):
    assert docker_available()
    provider = make_provider("auto", root=tmp_path)
    assert provider.name == "docker"
    assert make_provider("local", root=tmp_path).name == "local"


def test_auto_falls_back_to_local_when_docker_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert not docker_available()
    assert make_provider("auto", root=tmp_path).name == "local"
    with pytest.raises(SandboxError, match="docker.*does not answer"):
        make_provider("docker", root=tmp_path)


def test_unknown_backend_is_a_clear_error(tmp_path):
    with pytest.raises(SandboxError, match="'kubernetes'.*docker, local or auto"):
        make_provider("kubernetes", root=tmp_path)


def test_without_bubblewrap_the_local_backend_refuses_plain_processes_unless_opted_in(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no bwrap to be found
    with pytest.raises(SandboxError, match="bubblewrap is not usable.*SHIPYARD_ALLOW_UNISOLATED=1"):
        make_provider("local", root=tmp_path / "a")
    opted_in = make_provider("local", root=tmp_path / "b", allow_unisolated=True)
    assert opted_in.warning and "UNISOLATED SANDBOX" in opted_in.warning
    box = opted_in.acquire(SMALL_SPEC)
    try:
        assert not box.isolated and box.backend == "local"
    finally:
        box.close()
