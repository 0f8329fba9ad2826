"""Budgets stop spending before the call that would overspend; replays spend nothing."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agents.budget import BudgetExhausted, BudgetGuard, BudgetLimits
from agents.cassette import load_cassette
from agents.credentials import ProviderSecrets
from agents.loop import AgentLimits, CodingTask, run_coding_agent
from agents.providers import make_chat_model
from agents.scripted import ScriptedChatModel
from agents.ticket_triage import triage_ticket
from tests.agents.conftest import DEMO_ASSETS
from tests.agents.emulators import OpenAIEmulator, Reply

SECRETS = ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-budget")})
TASK = CodingTask(ticket_title="t", ticket_body="b", test_command="true")


def look(i: int) -> Reply:
    return Reply(tool_calls=[("bash", {"command": f"echo looking {i}"})], input_tokens=20_000, output_tokens=500)


def pricey_model(emu):
    spec = emu.model_spec("pricey", "pricey-1", price_input=10, price_output=30, max_output_tokens=1000)
    return make_chat_model(spec, SECRETS, max_retries=0)


def test_job_budget_stops_the_agent_before_overspending(sample_sandbox, recorder):
    guard = BudgetGuard(BudgetLimits(job_usd=1.0))
    with OpenAIEmulator([look(i) for i in range(10)]) as emu:
        result = run_coding_agent(
            pricey_model(emu), sample_sandbox, TASK, recorder=recorder, limits=AgentLimits(), guard=guard
        )
    # each call costs 20k*10/1M + 500*30/1M = $0.215, so four fit and the fifth is refused
    assert result.stop_reason == "budget" and result.steps == 4 and len(emu.requests) == 4
    assert result.budget.scope == "job_usd" and result.budget.limit == 1.0
    assert guard.spent_usd == pytest.approx(4 * 0.215) and guard.spent_usd <= 1.0
    assert "budget for this job exhausted: spent $0.8600 of $1.00" in result.detail


def test_daily_repository_budget_refuses_the_first_call(sample_sandbox, recorder):
    guard = BudgetGuard(BudgetLimits(repo_day_usd=5.0), repo_day_spent=lambda: 4.999)
    with OpenAIEmulator([look(0)]) as emu:
        result = run_coding_agent(
            pricey_model(emu), sample_sandbox, TASK, recorder=recorder, limits=AgentLimits(), guard=guard
        )
    assert result.stop_reason == "budget" and emu.requests == [] and result.budget.scope == "repo_day_usd"
    assert "this repository today" in result.detail


def test_token_budget_and_monthly_budget_apply_to_triage():
    with OpenAIEmulator([]) as emu:
        with pytest.raises(BudgetExhausted, match="token budget for this job exhausted"):
            triage_ticket(pricey_model(emu), "t", "b", "", guard=BudgetGuard(BudgetLimits(job_tokens=500)))
        with pytest.raises(BudgetExhausted) as err:
            triage_ticket(
                pricey_model(emu),
                "t",
                "b",
                "",
                guard=BudgetGuard(BudgetLimits(deployment_month_usd=100), deployment_month_spent=lambda: 100.0),
            )
    assert err.value.scope == "deployment_month_usd" and emu.requests == []


def test_a_human_extension_lets_the_job_continue(sample_sandbox, recorder):
    guard = BudgetGuard(BudgetLimits(job_usd=0.3))
    with OpenAIEmulator([look(1), look(2), Reply(tool_calls=[("finish", {"summary": "done"})])]) as emu:
        first = run_coding_agent(
            pricey_model(emu), sample_sandbox, TASK, recorder=recorder, limits=AgentLimits(), guard=guard
        )
        guard.extend(job_usd=2.0)
        second = run_coding_agent(
            pricey_model(emu), sample_sandbox, TASK, recorder=recorder, limits=AgentLimits(), guard=guard
        )
    assert first.stop_reason == "budget" and second.stop_reason == "finished"


def test_replays_spend_nothing_unless_recorded_cost_is_counted(sample_sandbox, recorder):
    cassette = load_cassette(DEMO_ASSETS / "cassettes" / "add-truncate.yml")
    task = CodingTask(ticket_title="t", ticket_body="b", test_command="python -m pytest -q -p no:cacheprovider")
    free = BudgetGuard(BudgetLimits(job_usd=0.000001, job_tokens=1))
    result = run_coding_agent(
        ScriptedChatModel(cassette=cassette), sample_sandbox, task, recorder=recorder, limits=AgentLimits(), guard=free
    )
    assert result.finished and free.spent_usd == 0
    assert sum(u.cost_usd for u in recorder.usages) > 0  # the recorded cost is still shown
    counted = BudgetGuard(BudgetLimits(job_usd=0.002, count_recorded=True))
    result = run_coding_agent(
        ScriptedChatModel(cassette=cassette),
        sample_sandbox,
        task,
        recorder=recorder,
        limits=AgentLimits(),
        guard=counted,
    )
    assert result.stop_reason == "budget"
