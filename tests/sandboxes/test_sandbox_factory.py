"""Choosing a backend by name, as deployment config does."""

from __future__ import annotations

import pytest

from sandboxes.base import SandboxError
from sandboxes.factory import docker_available, make_provider


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
