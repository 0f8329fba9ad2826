"""Context discipline: truncated observations and compacted history, seen on the wire."""

from __future__ import annotations

import json

from pydantic import SecretStr

from agents.context_window import HistoryCompactor, truncate_middle
from agents.credentials import ProviderSecrets
from agents.loop import AgentLimits, CodingTask, run_coding_agent
from agents.providers import make_chat_model
from tests.agents.emulators import OpenAIEmulator, Reply

SECRETS = ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-ctx")})
TASK = CodingTask(ticket_title="explore", ticket_body="b", test_command="true")


def model_at(emu, name="main"):
    spec = emu.spec(name, f"{name}-1", context_window=100_000, price_input=1, price_output=1)
    return make_chat_model(spec, SECRETS, max_retries=0)


def noisy_session(n: int) -> list[Reply]:
    turns = [Reply(tool_calls=[("bash", {"command": f"seq {i} 1200 | tr '\\n' ' '"})]) for i in range(1, n + 1)]
    return turns + [Reply(tool_calls=[("finish", {"summary": "explored"})])]


def prompt_chars(request) -> int:
    return len(json.dumps(request.body["messages"]))


def test_truncation_keeps_head_and_tail_and_says_how_much_was_cut():
    text = "HEAD" + "x" * 10_000 + "TAIL"
    cut = truncate_middle(text, 1000)
    assert cut.startswith("HEAD") and cut.endswith("TAIL") and "[... 9008 characters elided ...]" in cut
    assert truncate_middle("short", 1000) == "short"


def test_compaction_bounds_the_prompt_and_keeps_recent_observations(sample_sandbox, recorder):
    with OpenAIEmulator(noisy_session(12)) as full:
        run_coding_agent(
            model_at(full), sample_sandbox, TASK, recorder=recorder, limits=AgentLimits(compact_at_share=None)
        )
    with OpenAIEmulator(noisy_session(12)) as lean:
        result = run_coding_agent(
            model_at(lean),
            sample_sandbox,
            TASK,
            recorder=recorder,
            limits=AgentLimits(compact_at_tokens=4000, keep_recent_observations=2),
        )
    assert result.finished
    assert prompt_chars(lean.requests[-1]) * 2 < prompt_chars(full.requests[-1])
    last = lean.requests[-1].body["messages"]
    summary = next(m["content"] for m in last if m["role"] == "user" and "Summary of earlier work" in m["content"])
    assert '- bash(command="seq 1 1200' in summary and "1199 1200" in summary  # the mechanical digest names old calls
    assert sum(m["role"] == "tool" for m in last) <= 4
    # every tool result still follows the assistant message that asked for it
    ids = {c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls") or []}
    assert all(m["tool_call_id"] in ids for m in last if m["role"] == "tool")
    assert any("history compacted" in m for m in recorder.messages("compaction"))


def test_a_cheap_summarizer_writes_the_summary_and_is_accounted(sample_sandbox, recorder):
    with (
        OpenAIEmulator(noisy_session(8)) as main,
        OpenAIEmulator(
            lambda body: Reply(text="- counted numbers with seq; nothing broken", input_tokens=900, output_tokens=15)
        ) as cheap,
    ):
        compactor = HistoryCompactor(summarizer=model_at(cheap, "cheap"), recorder=recorder, keep_recent=2)
        result = run_coding_agent(
            model_at(main),
            sample_sandbox,
            TASK,
            recorder=recorder,
            limits=AgentLimits(compact_at_tokens=3000),
            compactor=compactor,
        )
    assert result.finished and cheap.requests
    assert "seq" in cheap.requests[0].body["messages"][0]["content"]
    assert any("counted numbers with seq" in json.dumps(r.body) for r in main.requests)
    summaries = [u for u in recorder.usages if u.role == "summarize"]
    assert summaries and summaries[0].model == "cheap" and summaries[0].input_tokens == 900
