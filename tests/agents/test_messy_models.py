"""A messy model over the real wire: ``ChatOpenAI`` against the local OpenAI emulator, in a real
sandbox. Each case ends where a user expects — recovered, or stopped with a cause a human can act
on — never with a crash."""

from __future__ import annotations

import time

from pydantic import SecretStr

from agents.catalogue import ModelSpec
from agents.credentials import ProviderSecrets
from agents.loop import AgentLimits, CodingTask, run_coding_agent
from agents.providers import make_chat_model
from agents.resilience import RetryPolicy
from tests.agents.emulators import AnthropicEmulator, OllamaEmulator, OpenAIEmulator, Reply

SECRETS = ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-messy")})
TASK = CodingTask(ticket_title="messy", ticket_body="b", test_command="true")
FAST_RETRY = RetryPolicy(tries=3, base_delay_s=0.05, max_delay_s=2.0)
FINISH = Reply(tool_calls=[("finish", {"summary": "done"})])


def run(replies, sandbox, recorder, **limits):
    with OpenAIEmulator(replies) as emu:
        model = make_chat_model(emu.spec("messy", "messy-model-1"), SECRETS, max_retries=0, timeout_s=10)
        result = run_coding_agent(
            model, sandbox, TASK, recorder=recorder, limits=AgentLimits(retry=FAST_RETRY, **limits)
        )
    return result, emu


def tool_messages(request) -> list[dict]:
    return [m for m in request.body["messages"] if m["role"] == "tool"]


def test_malformed_json_arguments_get_an_error_naming_the_problem_then_recover(sample_sandbox, recorder):
    result, emu = run([Reply(raw_tool_calls=[("view", '{"path": "README.md"')]), FINISH], sample_sandbox, recorder)
    assert result.stop_reason == "finished", result.detail
    answer = tool_messages(emu.requests[1])[-1]
    assert answer["tool_call_id"] == "call_1_0"
    assert "not valid JSON" in answer["content"] and '{"path": "README.md"' in answer["content"]


def test_an_unknown_tool_is_answered_and_the_model_recovers(sample_sandbox, recorder):
    result, emu = run([Reply(tool_calls=[("open_file", {"path": "x"})]), FINISH], sample_sandbox, recorder)
    assert result.stop_reason == "finished"
    assert "unknown tool 'open_file'" in tool_messages(emu.requests[1])[-1]["content"]


def test_parallel_tool_calls_each_get_their_answer(sample_sandbox, recorder):
    parallel = Reply(
        tool_calls=[
            ("view", {"path": "README.md"}),
            ("search", {"pattern": "def wrap"}),
            ("bash", {"command": "echo hi"}),
        ]
    )
    result, emu = run([parallel, FINISH], sample_sandbox, recorder)
    assert result.stop_reason == "finished"
    answers = tool_messages(emu.requests[1])
    assert [a["tool_call_id"] for a in answers] == ["call_1_0", "call_1_1", "call_1_2"]
    assert "hi" in answers[2]["content"]


def test_an_empty_reply_is_nudged(sample_sandbox, recorder):
    result, emu = run([Reply(text=""), FINISH], sample_sandbox, recorder)
    assert result.stop_reason == "finished"
    assert "Reply with a tool call" in emu.requests[1].body["messages"][-1]["content"]


def test_a_reply_cut_at_the_token_limit_is_told_to_use_smaller_steps(sample_sandbox, recorder):
    cut = Reply(raw_tool_calls=[("create", '{"path": "big.py", "content": "x = [1, 2,')], finish_reason="length")
    result, emu = run([cut, FINISH], sample_sandbox, recorder)
    assert result.stop_reason == "finished"
    last = emu.requests[1].body["messages"][-1]
    assert last["role"] == "user" and "Your reply was cut at the output-token limit" in last["content"]
    assert not (sample_sandbox.host_workspace / "big.py").exists()


def test_repeated_format_errors_end_the_attempt_as_stuck_with_the_cause(sample_sandbox, recorder):
    bad = [Reply(raw_tool_calls=[("edit", "{not json")]) for _ in range(3)]
    result, _ = run(bad, sample_sandbox, recorder)
    assert result.stop_reason == "stuck"
    assert (
        "3 replies in a row without a usable tool call" in result.detail
        and "unparsable arguments for edit" in result.detail
    )


def test_refusals_are_answered_then_stop_as_stuck_naming_the_refusal(sample_sandbox, recorder):
    result, emu = run([Reply(refusal="I can't help with that.") for _ in range(3)], sample_sandbox, recorder)
    assert result.stop_reason == "stuck" and "the model refused: I can't help with that." in result.detail
    assert "Your reply was a refusal" in emu.requests[1].body["messages"][-1]["content"]


def test_a_429_is_retried_after_the_providers_retry_after(sample_sandbox, recorder):
    started = time.monotonic()
    result, emu = run(
        [Reply(status=429, text="slow down", headers={"Retry-After": "1"}), FINISH], sample_sandbox, recorder
    )
    assert result.stop_reason == "finished" and len(emu.requests) == 2
    assert time.monotonic() - started >= 1.0
    assert any(
        "HTTP 429" in m and "(Retry-After)" in m and "retry 1/2 in 1.0s" in m for m in recorder.messages("provider")
    )


def test_a_500_and_a_connection_reset_are_retried(sample_sandbox, recorder):
    result, emu = run([Reply(status=500), Reply(drop_connection=True), FINISH], sample_sandbox, recorder)
    assert result.stop_reason == "finished" and len(emu.requests) == 3
    assert len(recorder.messages("provider")) == 2


def test_a_reply_cut_mid_transfer_is_retried(sample_sandbox, recorder):
    result, emu = run(
        [Reply(tool_calls=[("bash", {"command": "echo x"})], cut_body=True), FINISH], sample_sandbox, recorder
    )
    assert result.stop_reason == "finished" and len(emu.requests) == 2
    assert len(recorder.messages("provider")) == 1


def test_a_provider_that_stays_down_stops_the_attempt_naming_provider_model_and_url(sample_sandbox, recorder):
    result, emu = run([Reply(status=503, text="overloaded") for _ in range(3)], sample_sandbox, recorder)
    assert result.stop_reason == "provider"
    assert f"provider openai (model messy-model-1 at {emu.base_url}) did not answer after 3 tries" in result.detail
    assert "HTTP 503" in result.detail


def test_a_bad_request_is_not_retried(sample_sandbox, recorder):
    result, emu = run([Reply(status=400, text="bad tool schema")], sample_sandbox, recorder)
    assert result.stop_reason == "error" and "bad tool schema" in result.detail and len(emu.requests) == 1


def test_cancellation_is_checked_before_every_model_and_tool_call(sample_sandbox, recorder):
    calls = {"n": 0}

    def cancelled() -> str | None:
        calls["n"] += 1
        return "the job was cancelled" if calls["n"] > 2 else None

    replies = [Reply(tool_calls=[("bash", {"command": "echo one"}), ("bash", {"command": "touch never"})]), FINISH]
    with OpenAIEmulator(replies) as emu:
        result = run_coding_agent(
            make_chat_model(emu.spec("m", "m1"), SECRETS, max_retries=0),
            sample_sandbox,
            TASK,
            recorder=recorder,
            limits=AgentLimits(),
            should_cancel=cancelled,
        )
    assert result.stop_reason == "cancelled" and len(emu.requests) == 1
    assert not (sample_sandbox.host_workspace / "never").exists()


def test_anthropic_reply_stopped_at_max_tokens_gets_the_cut_notice(sample_sandbox, recorder):
    replies = [Reply(text="Let me rewrite the whole module in one go: import", finish_reason="max_tokens"), FINISH]
    with AnthropicEmulator(replies) as emu:
        spec = ModelSpec(
            name="a", provider="anthropic", model_id="claude-x", base_url=emu.base_url, api_key_env="ANTHROPIC_API_KEY"
        )
        model = make_chat_model(spec, ProviderSecrets(keys={"ANTHROPIC_API_KEY": SecretStr("ak")}), max_retries=0)
        result = run_coding_agent(model, sample_sandbox, TASK, recorder=recorder, limits=AgentLimits(retry=FAST_RETRY))
    assert result.stop_reason == "finished"
    last = emu.requests[1].body["messages"][-1]
    text = last["content"] if isinstance(last["content"], str) else " ".join(b.get("text", "") for b in last["content"])
    assert "Your reply was cut at the output-token limit" in text


def test_a_stream_cut_mid_reply_is_retried(sample_sandbox, recorder):
    """ChatOllama streams its replies; a connection closed in the middle of the stream is a transient
    failure, retried, and the complete reply that follows is used."""
    cut = Reply(
        text="Let me look at the files first, then", tool_calls=[("bash", {"command": "echo x"})], cut_body=True
    )
    with OllamaEmulator([cut, FINISH]) as emu:
        spec = ModelSpec(name="local", provider="ollama", model_id="qwen-x", base_url=emu.base_url)
        model = make_chat_model(spec, ProviderSecrets())
        result = run_coding_agent(model, sample_sandbox, TASK, recorder=recorder, limits=AgentLimits(retry=FAST_RETRY))
    assert result.stop_reason == "finished", result.detail
    assert len(emu.requests) == 2 and emu.requests[0].body.get("stream", True)
    assert any("retry 1/2" in m for m in recorder.messages("provider"))
