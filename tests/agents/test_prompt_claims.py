"""What the prompts claim about the sandbox, the gate and the attempt's limits holds: each claim
(``agents/prompts/*.md.j2``) is checked against a real sandbox, the gate's own rule, or what the
loop then does with a real client over the wire (``test_prompt_state.py`` covers the attempt's
state and the default environment)."""

from __future__ import annotations

import time

from pydantic import SecretStr

from agents import prompts
from agents.credentials import ProviderSecrets
from agents.loop import AgentLimits, CodingTask, observed_task, run_coding_agent
from agents.providers import make_chat_model
from agents.resilience import RetryPolicy
from agents.tools import AgentTools, ToolSettings, make_tools
from tests.agents.conftest import CFG
from tests.agents.emulators import OpenAIEmulator, Reply
from workflows.gates.coverage_checks import check_diff_coverage, check_total_coverage
from workflows.nodes.code import coding_sandbox, coding_task
from workflows.repo_config import RepoConfig

SECRETS = ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-claims")})
TASK = CodingTask(ticket_title="claims", ticket_body="b", test_command="true")


def run_over_the_wire(replies, sandbox, recorder, **limits):
    """The loop with ``ChatOpenAI`` against the emulator; returns the result and every request sent."""
    with OpenAIEmulator(replies) as emu:
        model = make_chat_model(emu.spec("c", "c-1"), SECRETS, max_retries=0, timeout_s=10)
        limits = AgentLimits(retry=RetryPolicy(tries=1), **limits)
        result = run_coding_agent(model, sandbox, TASK, recorder=recorder, limits=limits, diff_source=lambda: "")
    return result, [r.body["messages"] for r in emu.requests]


def said(messages: list[dict]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages if m["role"] == "user")


def test_the_tools_the_system_prompt_names_are_the_tools_offered(sample_sandbox):
    system = prompts.code_system_prompt("", "")
    offered = {t.name for t in make_tools(sample_sandbox, ToolSettings(test_command="true"), diff_source=lambda: "")}
    for phrase in ("(view, search)", "(edit, create)", "(diff)", "(run_tests, bash)", "call finish"):
        assert phrase in system
    assert offered == {"view", "search", "edit", "create", "diff", "run_tests", "bash", "finish"}


def test_no_network_and_no_credentials_as_the_system_prompt_says(sample_sandbox, monkeypatch):
    assert "You have no network access and no credentials." in prompts.code_system_prompt("", "")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    env = sample_sandbox.exec("env", timeout_s=30)
    assert env.ok and "sk-must-not-leak" not in env.output
    dial = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"
    assert not sample_sandbox.exec(f'python3 -c "{dial}"', timeout_s=30).ok


def test_a_workspace_with_git_is_said_to_be_a_git_checkout_and_git_works_there(job):
    services, state = job
    sandbox = coding_sandbox(services, state, CFG)
    assert sandbox.exec("git init -q", timeout_s=30).ok
    task = coding_task(services, state, CFG, sandbox, attempt=1, resumed=False)
    text = prompts.code_task_prompt(task)
    assert "The workspace is a git checkout: git diff and git status work." in text and ".git directory" not in text
    tools = AgentTools(sandbox, ToolSettings(test_command="true"))
    for command in ("git status", "git diff"):
        assert tools.bash(command)[1]["exit_code"] == 0, command


def test_coverage_off_is_said_and_the_gate_checks_no_coverage(job):
    services, state = job
    cfg = RepoConfig.model_validate({**CFG.model_dump(mode="json"), "gates": {"coverage": {"enabled": False}}})
    task = coding_task(services, state, cfg, coding_sandbox(services, state, cfg), attempt=1, resumed=False)
    text = prompts.code_task_prompt(task)
    assert "The coverage gate is off for this repository." in text and "Diff coverage target" not in text
    diff, _ = check_diff_coverage(None, None, cfg.gates.coverage, {})  # type: ignore[arg-type]
    total = check_total_coverage(None, None, cfg.gates.coverage)  # type: ignore[arg-type]
    assert diff.waived and diff.passed and total.waived and total.passed


def test_the_time_limit_is_said_in_minutes_and_the_attempt_stops_there(sample_sandbox, recorder):
    limits = AgentLimits(max_steps=9, deadline_epoch=time.time() + 600)
    text = prompts.code_task_prompt(observed_task(TASK, limits, diff_tool=True))
    assert "This attempt has at most 9 model turns and about 10 minutes; you will be told when little is left." in text
    finish = [Reply(tool_calls=[("finish", {"summary": "x"})])]
    result, _ = run_over_the_wire(finish, sample_sandbox, recorder, deadline_epoch=time.time() - 1)
    assert result.stop_reason == "timeout"


def test_the_turns_left_notice_counts_the_turns_that_really_remain(sample_sandbox, recorder):
    replies = [Reply(tool_calls=[("bash", {"command": f"echo {i}"})]) for i in range(5)]
    result, sent = run_over_the_wire(replies, sample_sandbox, recorder, max_steps=5, steps_left_notice=3)
    told = next(i for i, messages in enumerate(sent) if "3 model turn(s) left in this attempt" in said(messages))
    assert result.stop_reason == "max_steps" and len(sent) - told == 3  # this turn and two more


def test_near_the_deadline_the_attempt_is_told_its_time_is_nearly_up(sample_sandbox, recorder):
    finish = [Reply(tool_calls=[("finish", {"summary": "x"})])]
    _, far = run_over_the_wire(finish, sample_sandbox, recorder, deadline_epoch=time.time() + 600, wrap_up_s=60)
    _, near = run_over_the_wire(finish, sample_sandbox, recorder, deadline_epoch=time.time() + 60, wrap_up_s=120)
    assert "Time is nearly up for this attempt" not in said(far[0])
    assert "Time is nearly up for this attempt" in said(near[0])


def test_the_repeat_nudge_says_how_often_the_same_call_got_the_same_result(sample_sandbox, recorder):
    same = Reply(tool_calls=[("bash", {"command": "echo same"})])
    result, sent = run_over_the_wire([same, same, same], sample_sandbox, recorder, repeat_limit=2, max_steps=3)
    nudged = next(i for i, messages in enumerate(sent) if "same tool call 2 times" in said(messages))
    results = [m["content"] for m in sent[nudged] if m["role"] == "tool"]
    assert nudged == 2 and len(results) == 2 and results[0] == results[1]
    assert result.stop_reason == "stuck"
