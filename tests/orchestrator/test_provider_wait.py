"""Jobs paused for a provider, in the store: the probe resumes them once their model answers (over
real HTTP to the OpenAI wire emulator), at most once per interval; a human may resume or stop them;
the one-active-job rule (migration 0006) counts the paused job."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from orchestrator.domain.backlog import add_ticket, register_repository
from orchestrator.domain.jobs import JobError, create_job, pending_decision, record_decision
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.tables import Event, Job, JobState
from orchestrator.worker import provider_waits as provider_wait
from tests.agents.emulators import OpenAIEmulator, Reply
from tests.conftest import free_port
from tests.orchestrator.gitrepo import make_repo


@pytest.fixture
def paused(tmp_path, scrub_env, monkeypatch):
    """A store with one job paused for the catalogue model ``live-small`` at a port nothing serves yet."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-probe")
    port = free_port()
    models = tmp_path / "models.yml"
    models.write_text(
        yaml.safe_dump(
            {
                "models": [
                    {
                        "name": "live-small",
                        "provider": "openai",
                        "model_id": "small-1",
                        "base_url": f"http://127.0.0.1:{port}/v1",
                        "tier": 1,
                        "api_key_env": "OPENAI_API_KEY",
                    }
                ]
            }
        )
    )
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    register_repository(store, make_repo(tmp_path / "lib", {"README.md": "lib\n"}), name="lib")
    ticket = add_ticket(store, repo="lib", title="Add a greeting", labels=["shipyard"])
    job_id, _ = create_job(store, ticket.id)
    with store.session() as s:
        s.get(Job, job_id).state = JobState.AWAITING_PROVIDER.value
        s.add(
            Event(
                job_id=job_id,
                kind="awaiting_provider",
                message="triage: provider openai … did not answer",
                data={"spec": "live-small"},
            )
        )
    settings = Settings(data_dir=tmp_path / "data", models_file=models, provider_probe_interval_s=30)
    provider_wait._last_probe.clear()
    return store, settings, job_id, ticket.id, port


def test_the_probe_resumes_the_job_once_its_model_answers_and_not_more_often_than_the_interval(paused):
    store, settings, job_id, _, port = paused
    clock = iter([100.0, 110.0, 131.0])
    assert provider_wait.resume_answering(settings, store, clock=lambda: next(clock)) == []  # down: nothing
    with OpenAIEmulator(lambda body: Reply(text="OK"), port=port) as emu:
        assert provider_wait.resume_answering(settings, store, clock=lambda: next(clock)) == []  # 10 s later: no probe
        assert emu.requests == []
        assert provider_wait.resume_answering(settings, store, clock=lambda: next(clock)) == [job_id]
    assert len(emu.requests) == 1 and emu.requests[0].body["model"] == "small-1"
    decision = pending_decision(store, job_id)
    assert (
        decision is not None and decision["decision"] == "approve" and "live-small answers again" in decision["comment"]
    )
    with store.session() as s:
        assert s.get(Job, job_id).human_touches == 0
        assert (
            s.scalar(select(Event.message).where(Event.kind == "provider"))
            == "live-small answers again; resuming the paused step"
        )


def test_a_human_may_resume_or_stop_a_job_waiting_for_its_provider_but_not_request_changes(paused):
    store, _, job_id, _, _ = paused
    with pytest.raises(JobError, match="waits for its model's provider: approve resumes it now, reject stops it"):
        record_decision(store, job_id, "request_changes", comment="try harder")
    assert record_decision(store, job_id, "reject") == "provider"
    with store.session() as s:
        assert s.get(Job, job_id).human_touches == 1


def test_a_job_waiting_for_its_provider_is_the_tickets_active_job(paused):
    store, _, job_id, ticket_id, _ = paused
    assert create_job(store, ticket_id) == (job_id, False)
