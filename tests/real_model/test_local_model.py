"""The real_model tier: Shipyard driven by a real model served on this machine.

llama.cpp's OpenAI-compatible server runs SmolLM2-135M-Instruct (everything from PyPI; the
first run builds the server from source, about ten minutes: ``orchestrator/eval/local_model.py``).
A 135M-parameter model is weak: its replies are real and messy, which is the point. The test
checks what must hold whatever it says: every job settles; usage comes from the server's own
figures; no pull request opens for a change the gate did not pass; the forgiving loop answers
its malformed replies; ``shipyard eval`` reports real tokens and wall time."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.eval.local_model import LABEL, MODEL_NAME, catalogue, serve
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, JobState, ModelUsage

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "orchestrator" / "demo" / "assets" / "eval"
INSTANCES = ("textkit-slugify-dashes", "textkit-rotate-keys")
SETTLED = {s.value for s in JobState if s.is_final or s.is_waiting_for_human}

pytestmark = [pytest.mark.real_model, pytest.mark.slow, pytest.mark.workers, pytest.mark.timeout(5400)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def local_model(tmp_path_factory):
    """The served model's catalogue file (the server is built on first use, then started)."""
    where = tmp_path_factory.mktemp("local-model")
    with serve(free_port(), log=where / "llama-server.log") as base_url:
        models = where / "models.yml"
        models.write_text(catalogue(base_url))
        yield models


def test_a_real_model_runs_every_job_to_a_settled_state_with_real_usage(local_model, tmp_path):
    rows = [json.loads(line) for line in (EVAL / "instances.jsonl").read_text().splitlines()]
    subset = tmp_path / "instances.jsonl"
    subset.write_text(
        "".join(json.dumps({**r, "repo": str(EVAL / r["repo"])}) + "\n" for r in rows if r["instance_id"] in INSTANCES)
    )
    data = tmp_path / "eval"
    out = subprocess.run(
        [sys.executable, "-m", "orchestrator", "eval", str(subset), "--models", str(local_model), "--label", LABEL]
        + ["--sandbox", "local", "--data-dir", str(data), "--json", "--timeout-s", "3600"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=4000,
    )
    # Exit 0: every job settled (eval exits 2 naming the jobs that did not).
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (report,) = json.loads(out.stdout)
    assert report["configuration"] == LABEL and report["instances"] == len(INSTANCES)
    assert report["input_tokens"] > 0 and report["output_tokens"] > 0 and report["run_wall_s"] > 0
    assert all(r["wall_s"] > 0 and r["state"] in SETTLED for r in report["results"])

    ship = Shipyard.load(Settings(data_dir=data / "config-1"))
    with ship.store.session() as s:
        usage = s.scalars(select(ModelUsage)).all()
        events = s.scalars(select(Event.message).where(Event.kind == "agent")).all()
    # Every call was counted by the server (llama.cpp's `usage`), none estimated, all on the local model.
    assert usage and all(not u.estimated and u.model == MODEL_NAME and u.input_tokens > 0 for u in usage)
    assert sum(u.input_tokens for u in usage) == report["input_tokens"]
    for result in report["results"]:
        detail = views.job_detail(ship.store, ship.settings.job_dirs, result["job_id"]) or {}
        # A pull request only for a change whose latest gate passed.
        assert result["pr_opened"] == (detail.get("pr") is not None)
        if result["pr_opened"]:
            assert detail["gate_passed"] is True, detail
    # The model's malformed replies (no tool call, a cut reply, bad arguments) were answered, not fatal.
    answered = [m for m in events if m.startswith(("nudged:", "malformed reply:"))]
    assert answered, "no nudge recorded: " + " | ".join(m[:80] for m in events[-10:])
