"""A provider outage pauses the job instead of failing it: the real ``ChatOpenAI`` client in a worker
process talks HTTP to a local server speaking the OpenAI wire format, which is down, then back.

Server down → the job waits as ``awaiting_provider``, its reason naming the provider, the model and
the URL → the server answers again → the worker's probe notices and the job goes on to its pull
request by itself. A pause in the middle of a coding attempt resumes that attempt when a human says
so, with the work so far still in the workspace."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from agents.health import PING
from orchestrator.store.tables import Job
from tests.agents.emulators import OpenAIEmulator, Reply
from tests.conftest import free_port
from tests.pipeline.harness import queue_ticket, running_worker, wait_for_job
from tests.pipeline.test_live_provider import API_KEY, catalogue, live_replies
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE

SETTLED = {"awaiting_provider", "awaiting_review", "awaiting_budget", "blocked", "failed"}


def is_probe(body: dict) -> bool:
    return body["messages"][-1].get("content") == PING


def human_touches(ship, job_id: int) -> int:
    with ship.store.session() as s:
        return s.scalar(select(Job.human_touches).where(Job.id == job_id))


@pytest.mark.slow
@pytest.mark.workers
def test_a_provider_that_is_down_pauses_the_job_and_its_return_resumes_it(make_ship, tmp_path):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    ship = make_ship(
        sandbox_backend="local",
        models_file=catalogue(tmp_path, base_url),
        lease_seconds=10,
        provider_tries=2,
        provider_probe_interval_s=1.0,
    )
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, cassette=None)
    script = live_replies()

    def answer(body: dict) -> Reply:
        return Reply(text="OK") if is_probe(body) else script.pop(0)

    with running_worker(ship.settings, env={"OPENAI_API_KEY": API_KEY}) as worker:
        paused = wait_for_job(ship, job_id, SETTLED, worker=worker)
        assert paused["state"] == "awaiting_provider", paused["reason"]
        assert (
            "triage: provider openai (model small-1 at " + base_url + ") did not answer after 2 tries"
            in paused["reason"]
        )
        assert "resumes by itself once the provider answers" in paused["reason"]
        with OpenAIEmulator(answer, port=port) as emulator:
            done = wait_for_job(ship, job_id, SETTLED - {"awaiting_provider"}, worker=worker)
    assert done["state"] == "awaiting_review", done["reason"]
    assert any(is_probe(r.body) for r in emulator.requests)
    messages = [e["message"] for e in done["events"]]
    assert "small-1" not in " ".join(m for m in messages if "answers again" in m)  # named by its catalogue entry
    assert "live-small answers again; resuming the paused step" in messages
    assert human_touches(ship, job_id) == 0


@pytest.mark.slow
@pytest.mark.workers
def test_an_outage_mid_attempt_pauses_it_and_a_human_resumes_the_same_attempt(make_ship, tmp_path):
    up = {"value": True}
    script = live_replies()
    code_turns = len(script) - 2

    def answer(body: dict) -> Reply:
        if is_probe(body) or not up["value"]:
            return Reply(drop_connection=True)  # the probe never succeeds here: only a human resumes
        reply = script.pop(0)
        if len(script) == code_turns - 1:  # the first code turn is served, then the provider goes away
            up["value"] = False
        return reply

    with OpenAIEmulator(answer) as emulator:
        ship = make_ship(
            sandbox_backend="local",
            models_file=catalogue(tmp_path, emulator.base_url),
            provider_tries=2,
            provider_probe_interval_s=3600,
        )
        job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, cassette=None)
        with running_worker(ship.settings, env={"OPENAI_API_KEY": API_KEY}) as worker:
            paused = wait_for_job(ship, job_id, SETTLED, worker=worker)
            assert paused["state"] == "awaiting_provider", paused["reason"]
            assert paused["reason"].startswith(f"code: provider openai (model small-1 at {emulator.base_url})")
            up["value"] = True
            assert ship.decide(job_id, "approve") == "provider"
            done = wait_for_job(ship, job_id, SETTLED - {"awaiting_provider"}, worker=worker)
    assert done["state"] == "awaiting_review", done["reason"]
    assert done["attempts"] == 1  # the paused attempt went on; no new attempt was counted
    resumed = [r for r in emulator.requests if "resumes after the model's provider stopped answering" in str(r.body)]
    assert resumed, "the resumed attempt was not told why it resumed"
    assert human_touches(ship, job_id) == 1


@pytest.mark.slow
@pytest.mark.workers
def test_a_catalogue_fallback_carries_every_step_while_the_first_choice_is_down(make_ship, tmp_path):
    down = f"http://127.0.0.1:{free_port()}/v1"
    with OpenAIEmulator(live_replies()) as backup:
        models = tmp_path / "models.yml"
        models.write_text(yaml.safe_dump({"models": [
            {"name": "live-small", "provider": "openai", "model_id": "small-1", "base_url": down, "tier": 1,
             "price_input": 2.0, "price_output": 8.0, "api_key_env": "OPENAI_API_KEY", "fallback": "backup-small"},
            {"name": "backup-small", "provider": "openai", "model_id": "backup-1", "base_url": backup.base_url,
             "tier": 1, "price_input": 3.0, "price_output": 12.0, "api_key_env": "OPENAI_API_KEY"},
        ]}))  # fmt: skip
        ship = make_ship(sandbox_backend="local", models_file=str(models), provider_tries=1)
        job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, cassette=None)
        with running_worker(ship.settings, env={"OPENAI_API_KEY": API_KEY}) as worker:
            done = wait_for_job(ship, job_id, SETTLED, worker=worker)
    assert done["state"] == "awaiting_review", done["reason"]
    fallbacks = [
        e["message"] for e in done["events"] if e["kind"] == "routing" and "→ fallback backup-small" in e["message"]
    ]
    assert [m.split(":")[0] for m in fallbacks] == ["triage", "plan", "code"]
    assert all("live-small did not answer" in m for m in fallbacks)
    assert {r.body["model"] for r in backup.requests} == {"backup-1"}
    assert "backup-small" in done["pr_body"]
