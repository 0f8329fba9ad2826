"""``shipyard demo --forge github-emulator`` end to end, as a newcomer runs it: the sample backlog
as issues on the local GitHub, a worker process, pull requests with `Closes #N` and a passing
``shipyard/gate`` check run, the not-ready ticket asked about on its issue."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.workers
def test_demo_against_the_github_emulator_ends_as_designed(tmp_path):
    data_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")} | {"COLUMNS": "250"}
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-engine.sock"  # bubblewrap sandboxes, as on a laptop without Docker
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "demo", "--forge", "github-emulator", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-3000:]
    assert "Forge: local GitHub emulator at http://127.0.0.1:" in out
    assert "Every ticket ended as the sample backlog is designed to." in out
    prs = re.findall(r"PR #\d+ .+ \(open\) branch shipyard/\S+: Closes #(\d+); shipyard/gate check runs: success", out)
    assert len(prs) == 3, out[-3000:]
    assert re.search(r"issue #(\d+) .+ labelled shipyard:needs-info; asked: Shipyard cannot work on this yet", out)
    assert "ghs_demo" not in out + proc.stderr  # the throw-away token is never printed
