"""Triage and planning on scripted replays (real-provider paths: test_providers.py)."""

from __future__ import annotations

import pytest

from agents.cassette import load_cassette, parse_cassette
from agents.metered import Metering
from agents.plan_writer import PlanError, write_plan
from agents.repomap import build_repo_map
from agents.scripted import ScriptedChatModel
from agents.ticket_triage import TriageError, triage_ticket
from tests.agents.conftest import DEMO_ASSETS, SAMPLE_REPO

CASSETTES = DEMO_ASSETS / "cassettes"


def test_triage_replay_returns_the_recorded_answer_and_its_recorded_cost(recorder):
    model = ScriptedChatModel(cassette=load_cassette(CASSETTES / "add-truncate.yml"), role="triage")
    result = triage_ticket(model, "Add truncate()", "body", build_repo_map(SAMPLE_REPO), metering=Metering(recorder))
    assert (result.eligible, result.complexity, result.kind) == (True, "low", "feature")
    [usage] = recorder.usages
    assert (usage.role, usage.input_tokens, usage.output_tokens, usage.cost_basis) == ("triage", 612, 58, "recorded")
    assert usage.cost_usd == pytest.approx((612 * 0.40 + 58 * 1.60) / 1e6)
    assert recorder.messages("triage") == ["eligible: low feature: " + result.reason]


def test_ineligible_ticket_carries_a_question_for_its_author(recorder):
    model = ScriptedChatModel(cassette=load_cassette(CASSETTES / "rotate-keys.yml"), role="triage")
    result = triage_ticket(model, "Rotate the production API keys", "please", "", metering=Metering(recorder))
    assert not result.eligible and "credentials" in result.reason and result.question_for_author


def test_triage_without_a_recorded_answer_is_a_triage_error():
    model = ScriptedChatModel(cassette=parse_cassette("plan: x", "p.yml"), role="triage")
    with pytest.raises(TriageError, match="no 'triage' section"):
        triage_ticket(model, "t", "b", "")


def test_plan_replay(recorder):
    model = ScriptedChatModel(cassette=load_cassette(CASSETTES / "word-count-dashes.yml"), role="plan")
    plan = write_plan(model, "word_count counts dashes", "body", "", metering=Metering(recorder))
    assert plan.startswith("1. In `textkit/stats.py`")
    assert recorder.usages[0].role == "plan" and recorder.usages[0].estimated


def test_plan_without_a_recorded_plan_is_a_plan_error():
    model = ScriptedChatModel(cassette=parse_cassette("{}", "e.yml"), role="plan")
    with pytest.raises(PlanError, match="no 'plan' section"):
        write_plan(model, "t", "b", "")


def test_repo_map_outlines_python_and_skips_symlinks(tmp_path, sample_copy):
    (sample_copy / "leak.py").symlink_to("/etc/passwd")
    (sample_copy / "__pycache__").mkdir()
    repo_map = build_repo_map(sample_copy)
    assert "textkit/wrap.py\n  def wrap(text, width)" in repo_map
    assert "leak.py" not in repo_map and "__pycache__" not in repo_map
    assert build_repo_map(sample_copy, max_chars=80).endswith("more lines not shown)")


def test_instructions_come_from_agents_md_and_contributing_md(sample_copy):
    from agents.repomap import load_instructions

    (sample_copy / "CONTRIBUTING.md").write_text("Use British spelling.\n")
    text = load_instructions(sample_copy)
    assert text.startswith("## AGENTS.md") and "Every behaviour change comes with a pytest test" in text
    assert "## CONTRIBUTING.md\n\nUse British spelling." in text
    (sample_copy / "CONTRIBUTING.md").unlink()
    (sample_copy / "CONTRIBUTING.md").symlink_to("/etc/hostname")
    assert "CONTRIBUTING" not in load_instructions(sample_copy)
