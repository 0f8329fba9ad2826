"""A local model server answers one request at a time. With ``max_concurrent_requests: 1`` Shipyard
sends it one request at a time from every worker process on the host, so a request waits for a
slot here and its timeout (``request_timeout_s``) counts only the server's own work on it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from agents.catalogue import ModelSpec
from agents.credentials import ProviderSecrets
from agents.providers import make_chat_model
from agents.resilience import ProviderUnavailable, RetryPolicy, call_with_retries
from tests.agents.emulators import OpenAIEmulator, Reply

WORK_S = 0.6
"""How long the emulated server works on each request, one at a time."""

ROOT = Path(__file__).resolve().parents[2]


def one_at_a_time_server(in_flight: list[int], peak: list[int]):
    """An OpenAI-compatible server that works on one request at a time (the emulator handles each
    request on its own thread and answers them in turn), recording how many were in flight."""

    def answer(body: dict) -> Reply:
        time.sleep(WORK_S)
        return Reply(text="ok", input_tokens=7, output_tokens=1)

    server = OpenAIEmulator(answer)
    real = server.next_reply

    def counted(body: dict) -> Reply:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        try:
            return real(body)
        finally:
            in_flight[0] -= 1

    server.next_reply = counted  # type: ignore[method-assign]
    return server


def spec_for(server: OpenAIEmulator, **fields) -> ModelSpec:
    return ModelSpec(name="local", provider="openai_compatible", model_id="smol", base_url=server.base_url, **fields)


def ask(spec: ModelSpec, results: list, errors: list) -> None:
    model = make_chat_model(spec, ProviderSecrets(keys={}), max_retries=0)
    try:
        results.append(call_with_retries(lambda: model.invoke([HumanMessage("hi")]), model, RetryPolicy(tries=1)))
    except ProviderUnavailable as exc:
        errors.append(exc)


def run_three(spec: ModelSpec) -> tuple[list, list]:
    results: list = []
    errors: list = []
    threads = [threading.Thread(target=ask, args=(spec, results, errors)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def test_without_a_limit_requests_queue_at_the_server_and_time_out():
    in_flight, peak = [0], [0]
    with one_at_a_time_server(in_flight, peak) as server:
        _, errors = run_three(spec_for(server, request_timeout_s=WORK_S * 1.8))
    assert peak[0] >= 2 and errors, "all three were in the server's queue; the last ran out of time"
    assert "Timeout" in errors[0].cause


def test_one_slot_sends_one_request_at_a_time_and_none_times_out(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPYARD_REQUEST_SLOTS_DIR", str(tmp_path / "slots"))
    in_flight, peak = [0], [0]
    with one_at_a_time_server(in_flight, peak) as server:
        spec = spec_for(server, request_timeout_s=WORK_S * 1.8, max_concurrent_requests=1)
        # Another worker process on the host asks the same server at the same time.
        other = subprocess.Popen(
            [sys.executable, "-c", OTHER_PROCESS, spec.model_dump_json()],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "SHIPYARD_REQUEST_SLOTS_DIR": str(tmp_path / "slots"), "PATH": "/usr/bin"},
            stdout=subprocess.PIPE,
            text=True,
        )
        results, errors = run_three(spec)
        out, _ = other.communicate(timeout=60)
    assert not errors and len(results) == 3
    assert out.strip() == "ok" and other.returncode == 0
    assert peak[0] == 1, f"{peak[0]} requests were in flight at once"


OTHER_PROCESS = """
import sys
from langchain_core.messages import HumanMessage
from agents.catalogue import ModelSpec
from agents.credentials import ProviderSecrets
from agents.providers import make_chat_model
from agents.resilience import RetryPolicy, call_with_retries
spec = ModelSpec.model_validate_json(sys.argv[1])
model = make_chat_model(spec, ProviderSecrets(keys={}), max_retries=0)
for _ in range(2):
    reply = call_with_retries(lambda: model.invoke([HumanMessage("hi")]), model, RetryPolicy(tries=1))
print(reply.content)
"""


def test_the_catalogue_entry_sets_the_client_timeout():
    none = ProviderSecrets(keys={})
    spec = ModelSpec(name="l", provider="openai_compatible", model_id="m", base_url="http://x", request_timeout_s=900)
    assert make_chat_model(spec, none).request_timeout == 900
    assert make_chat_model(spec.model_copy(update={"request_timeout_s": None}), none).request_timeout == 180
    ollama = ModelSpec(name="o", provider="ollama", model_id="m", request_timeout_s=600)
    assert make_chat_model(ollama, none).client_kwargs == {"timeout": 600}


pytestmark = pytest.mark.timeout(120)


def test_a_prompt_the_server_refuses_as_too_long_is_compacted_and_sent_again(sample_sandbox, recorder):
    """A local server's window is smaller than Shipyard's estimate of the prompt (llama.cpp counts
    code at fewer characters a token): its 400 "maximum context length" ends no attempt."""
    from agents.loop import AgentLimits, CodingTask, run_coding_agent
    from tests.agents.test_providers import TEST_COMMAND

    files = ["textkit/slug.py", "textkit/wrap.py", "textkit/stats.py", "tests/test_slug.py", "tests/test_wrap.py"]
    refused = []

    def server(body: dict) -> Reply:
        messages = body["messages"]
        seen = sum(m["role"] == "tool" for m in messages)
        summarised = any("Summary of earlier work" in str(m.get("content")) for m in messages)
        if seen == len(files) and not summarised:
            refused.append(len(messages))
            return Reply(
                status=400,
                text="This model's maximum context length is 8192 tokens. However, you requested 8509 tokens "
                "(8509 in the messages, None in the completion). Please reduce the length of the messages.",
            )
        if seen < len(files) and not summarised:
            return Reply(tool_calls=[("view", {"path": files[seen]})])
        return Reply(tool_calls=[("finish", {"summary": "read the code"})])

    with OpenAIEmulator(server) as server_emu:
        model = make_chat_model(spec_for(server_emu), ProviderSecrets(keys={}), max_retries=0)
        task = CodingTask(ticket_title="read", ticket_body="read the code", test_command=TEST_COMMAND)
        result = run_coding_agent(
            model, sample_sandbox, task, recorder=recorder, limits=AgentLimits(keep_recent_observations=2)
        )
    assert result.stop_reason == "finished", result.detail
    assert len(refused) == 1
    retried = server_emu.requests[-1].body["messages"]
    assert len(retried) < refused[0]
    assert any("refused a prompt longer than its window" in m for m in recorder.messages("compaction"))
