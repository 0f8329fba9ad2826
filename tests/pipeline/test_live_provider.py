"""A live provider end to end: the real ``ChatOpenAI`` client in a worker process talks HTTP to a
local server speaking the OpenAI wire format. Every call is priced; a budget pauses the job for a
human; the key never leaks; a recorded run replays through the same pipeline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from sqlalchemy import select

from agents.cassette import load_cassette
from orchestrator.store.tables import ModelUsage
from tests.agents.emulators import OpenAIEmulator, Reply, replies_from_cassette
from tests.pipeline.harness import ASSETS, ROOT, queue_ticket, running_worker, settings_env, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE

API_KEY = "sk-live-test-0123456789abcdefghijklmnop"
TRIAGE = {"eligible": True, "complexity": "low", "kind": "bug", "reason": "a local fix in slug.py"}


def live_replies() -> list[Reply]:
    code = replies_from_cassette(load_cassette(ASSETS / "cassettes" / "slugify-dashes.yml"), attempt=1,
                                 input_tokens=3000, output_tokens=120, cached_tokens=0)  # fmt: skip
    return [
        Reply(tool_calls=[("TriageAnswer", TRIAGE)], input_tokens=800, output_tokens=40),
        Reply(text="1. Build the slug from words.\n2. Test repeated separators.", input_tokens=900, output_tokens=30),
        *code,
    ]


def catalogue(tmp_path, base_url: str) -> str:
    path = tmp_path / "models.yml"
    path.write_text(yaml.safe_dump({"models": [{
        "name": "live-small", "provider": "openai", "model_id": "small-1", "base_url": base_url,
        "price_input": 2.0, "price_output": 8.0, "price_cached_input": 0.5, "context_window": 128000,
        "tier": 1, "api_key_env": "OPENAI_API_KEY",
    }]}))  # fmt: skip
    return str(path)


@pytest.mark.slow
@pytest.mark.workers
def test_live_model_calls_are_priced_a_budget_pauses_the_job_and_approval_resumes_it(make_ship, tmp_path):
    with OpenAIEmulator(live_replies()) as emulator:
        ship = make_ship(
            sandbox_backend="local", models_file=catalogue(tmp_path, emulator.base_url), job_budget_usd=0.01
        )
        job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, cassette=None)
        with running_worker(ship.settings, env={"OPENAI_API_KEY": API_KEY}) as worker:
            paused = wait_for_job(
                ship, job_id, {"awaiting_budget", "awaiting_review", "blocked", "failed"}, worker=worker
            )
            assert paused["state"] == "awaiting_budget", paused["reason"]
            assert "budget for this job exhausted" in paused["reason"]
            ship.decide(job_id, "approve", extra_usd=1.0)
            done = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert done["state"] == "awaiting_review", done["reason"]
        assert all(r.headers.get("authorization") == f"Bearer {API_KEY}" for r in emulator.requests)
    with ship.store.session() as s:
        usage = s.scalars(select(ModelUsage).where(ModelUsage.job_id == job_id)).all()
    assert {u.role for u in usage} >= {"triage", "plan", "code"}
    assert all(u.model == "live-small" and not u.estimated for u in usage)
    triage = next(u for u in usage if u.role == "triage")
    assert (triage.input_tokens, triage.output_tokens) == (800, 40)
    assert triage.cost_usd == pytest.approx((800 * 2.0 + 40 * 8.0) / 1e6)
    assert done["cost_usd"] == pytest.approx(sum(u.cost_usd for u in usage), rel=1e-6)
    assert any(e["kind"] == "routing" and "complexity low → tier 1" in e["message"] for e in done["events"])
    # No compaction was needed, so no summary model was routed or built.
    assert not any(e["kind"] == "routing" and e["message"].startswith("summarize") for e in done["events"])
    everything = json.dumps(done, default=str) + (done["pr_body"] or "")
    assert API_KEY not in everything and "live-small" in done["pr_body"]


@pytest.mark.slow
@pytest.mark.workers
def test_shipyard_record_saves_a_live_run_that_replays_through_the_pipeline(make_ship, tmp_path):
    with OpenAIEmulator(live_replies()) as emulator:
        ship = make_ship(sandbox_backend="local", models_file=catalogue(tmp_path, emulator.base_url))
        from orchestrator.domain.backlog import add_ticket

        ticket = add_ticket(ship.store, repo="textkit", title=SLUG_TITLE, body=SLUG_BODY)
        cassette = tmp_path / "recorded.yml"
        env = settings_env(ship.settings, {"OPENAI_API_KEY": API_KEY})
        run = subprocess.run([sys.executable, "-m", "orchestrator", "record", str(ticket.id), "--out", str(cassette)],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "awaiting_review" in run.stdout
    recorded = load_cassette(cassette)
    assert recorded.triage is not None and recorded.triage.complexity == "low" and len(recorded.code) == 1
    assert API_KEY not in cassette.read_text()

    replay_job = queue_ticket(ship, "textkit", SLUG_TITLE + " (replay)", SLUG_BODY, cassette)
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, replay_job, {"awaiting_review", "blocked", "failed"}, worker=worker)
    assert job["state"] == "awaiting_review", job["reason"]
    assert job["scripted"] and "Scripted model" in job["pr_body"]
