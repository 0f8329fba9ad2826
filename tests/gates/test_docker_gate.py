"""The gate through the hardened Docker backend: same verdicts, containers instead of processes."""

from __future__ import annotations

import pytest

from sandboxes.base import SandboxSpec
from sandboxes.docker import DockerSandboxProvider
from tests.gates.samples import change_breaking_unrelated_test, change_good_feature


@pytest.mark.docker
def test_gate_in_docker_sandboxes_passes_a_good_change_and_blocks_a_regression(docker_engine, calc, tmp_path):
    provider = DockerSandboxProvider(tmp_path / "docker-sandboxes", client=docker_engine)
    spec = SandboxSpec(image="shipyard-sandbox:latest", labels={"test": "gates"})

    good = calc.gate(change_good_feature(), provider=provider, spec=spec)
    assert good.passed, good.failed_reasons()
    assert good.diff_coverage == 100.0

    bad = calc.gate(change_breaking_unrelated_test(), provider=provider, spec=spec)
    assert [c.reason for c in bad.checks if not c.passed] == [
        "1 test(s) that pass on base fail: tests/test_core.py::test_mul"
    ]
    leftover = docker_engine.containers.list(all=True, filters={"label": "test=gates"})
    assert leftover == [], "gate sandboxes must be closed"
