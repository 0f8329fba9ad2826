"""``shipyard record``: a live run through the router becomes a cassette that replays the same change."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agents.cassette import load_cassette
from agents.credentials import ProviderSecrets
from agents.loop import AgentLimits, CodingTask, run_coding_agent
from agents.metered import Metering
from agents.plan_writer import write_plan
from agents.record import CassetteRecording
from agents.router import ModelRouter
from agents.ticket_triage import triage_ticket
from sandboxes.base import SandboxSpec
from tests.agents.conftest import DEMO_ASSETS, SAMPLE_REPO, fill_workspace
from tests.agents.emulators import OpenAIEmulator, Reply, replies_from_cassette

TEST_COMMAND = "python -m pytest -q -p no:cacheprovider"
TRIAGE = {"eligible": True, "complexity": "low", "kind": "bug", "reason": "local fix"}


@pytest.mark.slow
def test_recorded_run_replays_to_the_same_change(tmp_path, sample_sandbox, sandbox_provider, recorder):
    source = load_cassette(DEMO_ASSETS / "cassettes" / "word-count-dashes.yml")
    usage = {"input_tokens": 1500, "output_tokens": 60, "cached_tokens": 1000}
    live = [
        Reply(tool_calls=[("TriageAnswer", TRIAGE)], input_tokens=500, output_tokens=40),
        Reply(text="1. strip dashes\n2. add tests", input_tokens=600, output_tokens=30),
        *replies_from_cassette(source, attempt=1, **usage)[:-1],  # the fix, without its finish
        *replies_from_cassette(source, attempt=2, **usage),
    ]  # then the tests
    recording = CassetteRecording(tmp_path / "recorded.yml")
    task = CodingTask(ticket_title="word_count counts dashes", ticket_body="b", test_command=TEST_COMMAND)
    with OpenAIEmulator(live) as emu:
        spec = emu.spec("live-mini", "mini", price_input=0.4, price_output=1.6, price_cached_input=0.1)
        router = ModelRouter(
            [spec],
            cassette=None,
            recorder=recorder,
            wrap=recording.wrap,
            secrets=ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-rec")}),
        )
        triage_ticket(router.for_role("triage").model, task.ticket_title, "b", "", metering=Metering(recorder))
        write_plan(router.for_role("plan").model, task.ticket_title, "b", "", metering=Metering(recorder))
        live_result = run_coding_agent(
            router.for_role("code").model, sample_sandbox, task, recorder=recorder, limits=AgentLimits()
        )
    assert live_result.finished and all(u.cost_basis == "live" for u in recorder.usages)
    live_stats = sample_sandbox.read_file("textkit/stats.py")

    cassette = load_cassette(recording.path)
    assert cassette.triage.reason == "local fix" and cassette.plan.startswith("1. strip dashes")
    assert cassette.recorded_with.name == "live-mini" and cassette.code[0][0].usage.cached_input_tokens == 1000
    run_tests = [t for t in cassette.code[0] if t.tool == "run_tests"]
    assert run_tests[0].expect.exit_code == 0  # exit codes seen live become replay expectations

    replay_sandbox = sandbox_provider.acquire(SandboxSpec())
    try:
        fill_workspace(replay_sandbox, SAMPLE_REPO)
        replay = ModelRouter([], cassette=cassette).for_role("code").model
        result = run_coding_agent(replay, replay_sandbox, task, recorder=recorder, limits=AgentLimits())
        assert result.finished and replay_sandbox.read_file("textkit/stats.py") == live_stats
        assert result.usage[0].cost_basis == "recorded" and result.usage[0].cost_usd > 0
    finally:
        replay_sandbox.close()
