"""``shipyard demo`` as a newcomer runs it on a machine without a Docker engine: bubblewrap
sandboxes, the designed outcome for every sample ticket, and a loud failure otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.demo.walkthrough import _verdict
from orchestrator.deployment import Shipyard
from orchestrator.reporting import job_views as views
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


@pytest.mark.slow
@pytest.mark.workers
def test_the_demo_refuses_to_replace_a_directory_a_web_server_uses_and_says_which(demo_run, tmp_path):
    # Deleting it would leave the server on the deleted database: the page would show the old jobs
    # and take decisions nobody else sees, while the CLI showed the new run.
    proc, data_dir = demo_run
    assert "shipyard review reject" in proc.stdout  # the demo's suggested paths end with a closed PR
    assert "Outcomes (commands take the job number)" in " ".join(proc.stdout.split())  # one number to type
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")} | {"SHIPYARD_DATA_DIR": str(data_dir)}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = subprocess.Popen([sys.executable, "-m", "orchestrator", "web", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert web.poll() is None and time.monotonic() < deadline, "shipyard web did not start"
                time.sleep(0.2)
        again = subprocess.run([sys.executable, "-m", "orchestrator", "demo", "--data-dir", str(data_dir)],
                               env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        web.terminate()
        web.wait(timeout=30)
    assert again.returncode != 0
    said = " ".join((again.stdout + again.stderr).split())
    assert f"{data_dir} is in use by a running shipyard process (pid {web.pid}: shipyard web)" in said, said
    assert "stop it before running the demo again" in said
    assert (data_dir / "shipyard.db").exists()
    ship = Shipyard.load(Settings(data_dir=data_dir))
    assert len(views.list_jobs(ship.store)) == 4  # the first run's jobs, untouched
