"""Cassette loading and scripted replay: errors are located, replays are labelled."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from agents.cassette import CassetteError, load_cassette, parse_cassette
from agents.scripted import CassetteExhausted, ScriptedChatModel
from agents.tools import ToolSettings, make_tools
from tests.agents.conftest import DEMO_ASSETS


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(CassetteError, match=r"nope\.yml: \(file\): cannot read"):
        load_cassette(tmp_path / "nope.yml")


@pytest.mark.parametrize(
    "text, message",
    [
        ("code: [[{tool: edt, args: {}}]]", "bad.yml: code[0][0]: unknown tool 'edt'"),
        (
            "triage: {eligible: yes, complexity: huge, kind: bug, reason: x}",
            "bad.yml: triage.complexity: Input should be",
        ),
        ("plan: ok\nsurprise: true", "bad.yml: surprise: unknown key"),
        ("code: [[{say: hi, args: {a: 1}}]]", "bad.yml: code[0][0]: 'args'/'expect' given without 'tool'"),
        ("- just a list", "bad.yml: (top level): must be a mapping"),
        ("code: [[{tool: view\n", "bad.yml: line"),
    ],
)
def test_invalid_cassettes_say_file_key_and_reason(text, message):
    with pytest.raises(CassetteError) as err:
        parse_cassette(text, "bad.yml")
    assert str(err.value).startswith(message), str(err.value)


def test_replay_is_labelled_and_free():
    cassette = load_cassette(DEMO_ASSETS / "cassettes" / "slugify-dashes.yml")
    model = ScriptedChatModel(cassette=cassette, role="plan")
    assert model.scripted and model.model_name == "scripted:slugify-dashes"
    reply = model.invoke([HumanMessage(content="plan please")])
    assert "textkit/slug.py" in reply.content
    assert reply.response_metadata["scripted"] is True


def test_bind_tools_accepts_real_tools_and_the_cassette_decides(sample_sandbox):
    cassette = parse_cassette("code: [[{tool: view, args: {path: README.md}}]]", "c.yml")
    bound = ScriptedChatModel(cassette=cassette).bind_tools(
        make_tools(sample_sandbox, ToolSettings(test_command="true"))
    )
    reply = bound.invoke([HumanMessage(content="go")])
    assert reply.tool_calls[0]["name"] == "view" and reply.tool_calls[0]["args"] == {"path": "README.md"}


def test_attempt_beyond_the_recording_is_exhausted_not_a_crash():
    cassette = parse_cassette("code: [[{tool: finish, args: {summary: done}}]]", "one.yml")
    with pytest.raises(CassetteExhausted, match="code attempt 2: not recorded"):
        ScriptedChatModel(cassette=cassette, attempt=2).invoke([HumanMessage(content="go")])
