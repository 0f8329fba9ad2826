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


@pytest.mark.docker
def test_in_docker_the_evidence_plugin_is_out_of_reach_and_a_record_cut_short_is_tampering(
    docker_engine, calc, tmp_path
):
    from tests.gates.test_evidence_isolation import OUT_OF_REACH_PROBE, record_cut_short

    provider = DockerSandboxProvider(tmp_path / "docker-sandboxes", client=docker_engine)
    spec = SandboxSpec(image="shipyard-sandbox:latest", labels={"test": "gates-evidence"})
    probed = calc.gate({"tests/test_probe.py": OUT_OF_REACH_PROBE}, kind="chore", provider=provider, spec=spec)
    assert probed.check("no_regressions").passed, probed.check("no_regressions").reason

    config = calc.config(gates__allow_paths=["tests/__init__.py"])
    erased = calc.gate(record_cut_short(), config=config, provider=provider, spec=spec)
    reasons = "\n".join(erased.failed_reasons())
    assert "tampering with the test evidence: the test machinery was patched" in reasons, reasons
