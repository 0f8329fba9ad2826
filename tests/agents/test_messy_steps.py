"""The forgiving loop at the one-shot steps (triage, plan, the compaction summary) over the real
wire: ``ChatOpenAI`` against the local OpenAI emulator. A malformed, incomplete, cut, refused or
empty answer is answered with the problem and asked again; after a bounded number of tries the
step stops with the cause; a summary that cannot be used falls back to the mechanical digest."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import SecretStr

from agents.context_window import HistoryCompactor
from agents.credentials import ProviderSecrets
from agents.plan_writer import PlanError, write_plan
from agents.providers import make_chat_model
from agents.resilience import ProviderUnavailable, RetryPolicy
from agents.ticket_triage import TriageError, triage_ticket
from tests.agents.emulators import OpenAIEmulator, Reply

SECRETS = ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-messy")})
FAST_RETRY = RetryPolicy(tries=2, base_delay_s=0.05, max_delay_s=1.0)
GOOD = {"eligible": True, "complexity": "low", "kind": "bug", "reason": "a one-line fix"}


def model_at(emu: OpenAIEmulator):
    return make_chat_model(emu.model_spec("messy", "messy-1"), SECRETS, max_retries=0, timeout_s=10)


def _ask(step, error: type[Exception], replies, recorder):
    """``step``'s answer (or the ``error`` it raised) to replies served over HTTP, with the emulator."""
    with OpenAIEmulator(replies) as emu:
        try:
            return step(model_at(emu), "t", "b", "", recorder=recorder, retry=FAST_RETRY), emu
        except error as exc:
            return exc, emu


def triage(replies, recorder):
    return _ask(triage_ticket, TriageError, replies, recorder)


def plan(replies, recorder):
    return _ask(write_plan, PlanError, replies, recorder)


def test_triage_with_malformed_arguments_is_told_the_json_problem_and_recovers(recorder):
    result, emu = triage(
        [
            Reply(raw_tool_calls=[("TriageAnswer", '{"eligible": true, "complex')]),
            Reply(tool_calls=[("TriageAnswer", GOOD)]),
        ],
        recorder,
    )
    assert not isinstance(result, Exception) and result.complexity == "low"
    answer = emu.requests[1].body["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_1_0"
    assert "not valid JSON" in answer["content"] and "Call the TriageAnswer tool" in answer["content"]


def test_triage_missing_a_field_is_told_which_and_recovers(recorder):
    result, emu = triage(
        [
            Reply(tool_calls=[("TriageAnswer", {"eligible": True, "kind": "bug"})]),
            Reply(tool_calls=[("TriageAnswer", GOOD)]),
        ],
        recorder,
    )
    assert not isinstance(result, Exception) and result.eligible
    answer = emu.requests[1].body["messages"][-1]
    assert answer["role"] == "tool" and "validation error" in answer["content"]
    assert any("unusable triage answer" in m for m in recorder.messages("triage"))


def test_triage_that_keeps_refusing_stops_with_the_refusal_as_the_cause(recorder):
    result, emu = triage([Reply(refusal="I won't classify tickets.") for _ in range(3)], recorder)
    assert isinstance(result, TriageError) and len(emu.requests) == 3
    assert "no usable answer after 3 tries: the model refused: I won't classify tickets." in str(result)


def test_a_cut_triage_reply_is_asked_to_be_shorter(recorder):
    result, emu = triage(
        [
            Reply(raw_tool_calls=[("TriageAnswer", '{"eligible": tr')], finish_reason="length"),
            Reply(tool_calls=[("TriageAnswer", GOOD)]),
        ],
        recorder,
    )
    assert not isinstance(result, Exception)
    assert "cut at the output-token limit. Be shorter" in emu.requests[1].body["messages"][-1]["content"]


def test_an_empty_plan_is_asked_for_again(recorder):
    result, emu = plan([Reply(text=""), Reply(text="1. Fix slugify.\n2. Test it.")], recorder)
    assert result == "1. Fix slugify.\n2. Test it."
    assert "the reply was empty" in emu.requests[1].body["messages"][-1]["content"]


def test_a_plan_that_is_cut_every_time_stops_with_the_cause(recorder):
    result, emu = plan([Reply(text="1. Rewrite every", finish_reason="length") for _ in range(3)], recorder)
    assert isinstance(result, PlanError) and len(emu.requests) == 3
    assert "no usable plan after 3 tries: the reply was cut at the output-token limit" in str(result)


def test_a_plan_provider_that_stays_down_names_provider_model_and_url(recorder):
    with OpenAIEmulator([Reply(status=503, text="overloaded"), Reply(status=503)]) as emu:
        with pytest.raises(ProviderUnavailable) as caught:
            write_plan(model_at(emu), "t", "b", "", recorder=recorder, retry=FAST_RETRY)
    assert caught.value.spec_name == "messy"
    assert f"provider openai (model messy-1 at {emu.base_url}) did not answer after 2 tries" in str(caught.value)


@pytest.mark.parametrize(
    "bad", [Reply(text=""), Reply(refusal="no summaries"), Reply(text="- half a", finish_reason="length")]
)
def test_an_unusable_summary_falls_back_to_the_mechanical_digest(recorder, bad):
    history = [HumanMessage(content="task")]
    for i in range(4):
        history += [
            AIMessage(content="", tool_calls=[{"name": "bash", "args": {"command": f"echo {i}"}, "id": f"c{i}"}]),
            ToolMessage(content=f"exit code: 0\nline {i}", tool_call_id=f"c{i}"),
        ]
    with OpenAIEmulator([bad]) as emu:
        compacted = HistoryCompactor(summarizer=model_at(emu), recorder=recorder, keep_recent=1).compact(history)
    summary = next(m.content for m in compacted if str(m.content).startswith("Summary of earlier work"))
    assert "bash(command='echo 0')" in summary and "summary unusable" in " ".join(recorder.messages("compaction"))
