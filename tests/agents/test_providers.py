"""Real provider clients (ChatOpenAI, ChatAnthropic, ChatOllama) against local wire-format
emulators over real HTTP: the agent loop, triage, plan, usage accounting and errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agents.cassette import load_cassette
from agents.catalogue import ModelSpec
from agents.credentials import ProviderSecrets, SecretsError, load_secrets
from agents.loop import AgentLimits, CodingTask, run_coding_agent
from agents.metered import Metering
from agents.plan_writer import write_plan
from agents.providers import ProviderError, make_chat_model
from agents.ticket_triage import TriageError, triage_ticket
from tests.agents.conftest import DEMO_ASSETS
from tests.agents.emulators import AnthropicEmulator, OllamaEmulator, OpenAIEmulator, Reply, replies_from_cassette

SECRETS = ProviderSecrets(
    keys={"OPENAI_API_KEY": SecretStr("sk-emulated-1"), "ANTHROPIC_API_KEY": SecretStr("ak-emulated-2")}
)
TEST_COMMAND = "python -m pytest -q -p no:cacheprovider"
TOOL_NAMES = {"view", "search", "edit", "create", "bash", "run_tests", "finish"}
"""The tools of a run without a diff source (the workflow adds ``diff``)."""
TRIAGE_ARGS = {"eligible": True, "complexity": "medium", "kind": "feature", "reason": "small feature"}


def spec(emulator, provider="openai", **prices) -> ModelSpec:
    key = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}.get(provider)
    return ModelSpec(
        name=f"{provider}-emulated",
        provider=provider,
        model_id=f"{provider}-model-1",
        base_url=emulator.base_url,
        api_key_env=key,
        **prices,
    )


def task(name: str) -> CodingTask:
    return CodingTask(ticket_title=name, ticket_body="see title", test_command=TEST_COMMAND)


@pytest.mark.slow
def test_openai_agent_resolves_a_demo_ticket(sample_sandbox, recorder):
    cassette = load_cassette(DEMO_ASSETS / "cassettes" / "slugify-dashes.yml")
    replies = replies_from_cassette(cassette, input_tokens=1000, output_tokens=50, cached_tokens=400)
    with OpenAIEmulator(replies) as emu:
        model = make_chat_model(
            spec(emu, price_input=0.4, price_output=1.6, price_cached_input=0.1), SECRETS, max_retries=0
        )
        result = run_coding_agent(model, sample_sandbox, task("slugify"), recorder=recorder, limits=AgentLimits())
    assert result.stop_reason == "finished", result.detail
    assert b'separator.join("".join(chars).split())' in sample_sandbox.read_file("textkit/slug.py")
    assert sample_sandbox.exec(TEST_COMMAND).ok
    first = emu.requests[0]
    assert first.headers["authorization"] == "Bearer sk-emulated-1" and first.body["model"] == "openai-model-1"
    tools = {t["function"]["name"]: t["function"]["parameters"] for t in first.body["tools"]}
    assert set(tools) == TOOL_NAMES and tools["edit"]["required"] == ["path", "old", "new"]
    tool_result = next(m for m in emu.requests[1].body["messages"] if m["role"] == "tool")
    assert "def slugify" in tool_result["content"] and tool_result["tool_call_id"] == "call_1_0"
    assert len(recorder.usages) == len(replies)
    usage = recorder.usages[0]
    assert (usage.input_tokens, usage.cached_input_tokens, usage.estimated, usage.cost_basis) == (
        1000,
        400,
        False,
        "live",
    )
    assert usage.cost_usd == pytest.approx((600 * 0.4 + 400 * 0.1 + 50 * 1.6) / 1e6)
    assert not any("sk-emulated" in str(e) for e in recorder.events)


@pytest.mark.slow
def test_anthropic_agent_marks_the_stable_prefix_for_caching(sample_sandbox, recorder):
    cassette = load_cassette(DEMO_ASSETS / "cassettes" / "add-truncate.yml")
    replies = replies_from_cassette(cassette, input_tokens=2000, output_tokens=80, cached_tokens=1500)
    with AnthropicEmulator(replies) as emu:
        model = make_chat_model(
            spec(emu, "anthropic", price_input=3, price_output=15, price_cached_input=0.3), SECRETS, max_retries=0
        )
        result = run_coding_agent(model, sample_sandbox, task("truncate"), recorder=recorder, limits=AgentLimits())
    assert result.finished, result.detail
    assert "ak-emulated-2" in (
        emu.requests[0].headers.get("x-api-key", "") + emu.requests[0].headers.get("authorization", "")
    )
    system = emu.requests[0].body["system"]
    assert system[-1]["cache_control"] == {"type": "ephemeral"} and "careful software engineer" in system[-1]["text"]
    blocks = [b for m in emu.requests[1].body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    assert any(b["type"] == "tool_result" for b in blocks)
    usage = recorder.usages[0]
    assert (usage.input_tokens, usage.cached_input_tokens) == (2000, 1500)
    assert usage.cost_usd == pytest.approx((500 * 3 + 1500 * 0.3 + 80 * 15) / 1e6)


def test_ollama_triage_uses_the_tool_call_answer(recorder):
    with OllamaEmulator([Reply(tool_calls=[("TriageAnswer", TRIAGE_ARGS)], input_tokens=321, output_tokens=12)]) as emu:
        model = make_chat_model(spec(emu, "ollama"), SECRETS)
        result = triage_ticket(model, "Add truncate", "body", "textkit/wrap.py", metering=Metering(recorder))
    assert (result.eligible, result.complexity, result.kind) == (True, "medium", "feature")
    assert emu.requests[0].body["tools"][0]["function"]["name"] == "TriageAnswer"
    assert (recorder.usages[0].input_tokens, recorder.usages[0].estimated) == (321, False)


def test_triage_retries_once_then_reads_a_json_reply(recorder):
    replies = [
        Reply(text="I think it's fine"),
        Reply(text='Here: {"eligible": false, "complexity": "high", "kind": "chore", "reason": "needs prod access"}'),
    ]
    with OpenAIEmulator(replies) as emu:
        result = triage_ticket(
            make_chat_model(spec(emu), SECRETS, max_retries=0), "t", "b", "", metering=Metering(recorder)
        )
    assert not result.eligible and result.reason == "needs prod access"
    assert emu.requests[0].body["tool_choice"]["function"]["name"] == "TriageAnswer"
    assert "could not be used" in emu.requests[1].body["messages"][-1]["content"]
    assert [u.step for u in recorder.usages] == [1, 2]


def test_triage_gives_up_with_the_reason():
    with OpenAIEmulator([Reply(text="no idea"), Reply(text="still no idea"), Reply(text="none")]) as emu:
        with pytest.raises(TriageError, match="no usable answer after 3 tries: the reply had neither"):
            triage_ticket(make_chat_model(spec(emu), SECRETS, max_retries=0), "t", "b", "")


def test_plan_through_anthropic(recorder):
    with AnthropicEmulator([Reply(text="1. Edit textkit/wrap.py\n2. Add tests")]) as emu:
        plan = write_plan(
            make_chat_model(spec(emu, "anthropic"), SECRETS, max_retries=0),
            "t",
            "b",
            "map",
            feedback="mention tests",
            metering=Metering(recorder),
        )
    assert plan == "1. Edit textkit/wrap.py\n2. Add tests"
    assert "mention tests" in emu.requests[0].body["messages"][0]["content"]


def test_provider_error_ends_the_attempt_with_its_cause(sample_sandbox, recorder):
    with OpenAIEmulator([Reply(status=400, text="maximum context length exceeded")]) as emu:
        model = make_chat_model(spec(emu), SECRETS, max_retries=0)
        result = run_coding_agent(model, sample_sandbox, task("x"), recorder=recorder, limits=AgentLimits())
    assert result.stop_reason == "error" and "maximum context length exceeded" in result.detail


def test_missing_api_key_names_the_variable():
    with pytest.raises(ProviderError, match="model openai-emulated: no API key: set OPENAI_API_KEY"):
        make_chat_model(
            ModelSpec(name="openai-emulated", provider="openai", model_id="m", api_key_env="OPENAI_API_KEY"),
            ProviderSecrets(),
        )


def test_secrets_come_from_env_and_file_and_never_print(tmp_path):
    path = tmp_path / "secrets.env"
    path.write_text("# keys\nexport ANTHROPIC_API_KEY='ak-file'\nLOCAL_TOKEN=tok\n")
    secrets = load_secrets({"OPENAI_API_KEY": "sk-env", "HOME": "/root"}, path)
    assert secrets.get("OPENAI_API_KEY").get_secret_value() == "sk-env"
    assert secrets.get("ANTHROPIC_API_KEY").get_secret_value() == "ak-file"
    assert "HOME" not in secrets.keys
    assert "sk-env" not in repr(secrets) and "ak-file" not in str(secrets)
    path.write_text("OPENAI_API_KEY sk-oops\n")
    with pytest.raises(SecretsError) as err:
        load_secrets({}, path)
    assert "line 1: expected NAME=value" in str(err.value) and "sk-oops" not in str(err.value)
