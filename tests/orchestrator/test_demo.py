"""``shipyard demo`` as a newcomer runs it on a machine without a Docker engine: bubblewrap
sandboxes, the designed outcome for every sample ticket, and a loud failure otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.demo.walkthrough import _verdict
from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings

# Both tests read the one `shipyard demo` run of the module's fixture: on one xdist worker, so
# that the demo runs once.
pytestmark = pytest.mark.xdist_group("demo-run")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["DOCKER_HOST"] = f"unix://{data_dir.parent}/no-engine.sock"  # as on a machine with no engine running
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc, data_dir


@pytest.mark.slow
@pytest.mark.workers
def test_without_docker_the_demo_runs_on_bubblewrap_and_every_ticket_ends_as_designed(demo_run):
    proc, _ = demo_run
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Sandbox: bwrap (no Docker engine answers)" in out
    assert "Model: SCRIPTED." in out
    assert "Every ticket ended as the sample backlog is designed to." in out
    assert "sandbox local (NOT ISOLATED" not in out and "UNISOLATED" not in out


@pytest.mark.slow
@pytest.mark.workers
def test_an_outcome_other_than_the_designed_one_fails_the_demo_with_the_reason(demo_run):
    _, data_dir = demo_run
    ship = Shipyard.load(Settings(data_dir=data_dir))
    console = Console(record=True, width=300)
    wrong = {1: {"state": "merged", "gates": ["passed"]}}
    assert _verdict(ship, console, wrong, True, data_dir) == 1
    text = console.export_text()
    assert "DEMO FAILED" in text
    assert (
        "expected state merged with gates ['passed'], got awaiting_review with gates ['passed'] in sandbox bwrap"
        in text
    )
