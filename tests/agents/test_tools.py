"""The agent tools against a real sandbox holding the sample repository."""

from __future__ import annotations

import pytest

from agents.tools import ToolSettings, make_tools

TEST_COMMAND = "python -m pytest -q -p no:cacheprovider"


@pytest.fixture
def tools(sample_sandbox):
    return {t.name: t for t in make_tools(sample_sandbox, ToolSettings(test_command=TEST_COMMAND, output_chars=2000))}


def call(tool, **args):
    return tool.invoke({"type": "tool_call", "name": tool.name, "args": args, "id": "c1"})


def test_every_tool_publishes_a_json_schema(tools):
    assert set(tools) == {"view", "search", "edit", "create", "bash", "run_tests", "finish"}
    schema = tools["edit"].tool_call_schema.model_json_schema()
    assert set(schema["required"]) == {"path", "old", "new"}


def test_view_numbers_lines_and_honours_range(tools):
    msg = call(tools["view"], path="textkit/wrap.py", start_line=4, end_line=5)
    assert "textkit/wrap.py (lines 4-5 of" in msg.content
    assert "    4  def wrap(text: str, width: int) -> list[str]:" in msg.content
    assert "import" not in msg.content


def test_view_lists_a_directory(tools):
    msg = call(tools["view"], path="textkit")
    assert "textkit/slug.py" in msg.content


def test_view_refuses_paths_outside_the_workspace(tools):
    msg = call(tools["view"], path="../../etc/passwd")
    assert msg.status == "error" and "cannot read" in msg.content
    assert "root:" not in msg.content


def test_search_reports_path_and_line(tools):
    msg = call(tools["search"], pattern="def (wrap|slugify)")
    assert "textkit/wrap.py:4:def wrap" in msg.content
    assert "textkit/slug.py" in msg.content
    assert "no matches" in call(tools["search"], pattern="nothing_like_this").content


def test_edit_replaces_a_unique_match(tools, sample_sandbox):
    msg = call(tools["edit"], path="textkit/wrap.py", old="width must be at least 1", new="width must be >= 1")
    assert msg.status == "success"
    assert b"width must be >= 1" in sample_sandbox.read_file("textkit/wrap.py")


def test_edit_with_no_match_or_many_matches_is_a_clear_error(tools, sample_sandbox):
    before = sample_sandbox.read_file("textkit/wrap.py")
    missing = call(tools["edit"], path="textkit/wrap.py", old="no such text", new="x")
    assert missing.status == "error" and "not found" in missing.content
    many = call(tools["edit"], path="textkit/wrap.py", old="current", new="x")
    assert many.status == "error" and "occurs" in many.content and "times" in many.content
    assert sample_sandbox.read_file("textkit/wrap.py") == before


def test_create_writes_nested_files(tools, sample_sandbox):
    msg = call(tools["create"], path="textkit/extra/new.py", content="X = 1\n")
    assert msg.content.startswith("created textkit/extra/new.py")
    assert sample_sandbox.read_file("textkit/extra/new.py") == b"X = 1\n"
    assert call(tools["create"], path="textkit/extra/new.py", content="X = 2\n").content.startswith("overwrote")


def test_bash_reports_exit_code_and_truncates_long_output(tools):
    msg = call(tools["bash"], command="seq 1 5000; exit 3")
    assert msg.content.startswith("exit code: 3")
    assert msg.artifact["exit_code"] == 3
    assert "characters elided" in msg.content and "5000" in msg.content
    assert len(msg.content) < 2300


def test_run_tests_runs_the_repository_command(tools):
    whole = call(tools["run_tests"])
    assert whole.artifact["exit_code"] == 0 and "9 passed" in whole.content
    selected = call(tools["run_tests"], selector="tests/test_wrap.py")
    assert "3 passed" in selected.content


def test_invalid_arguments_come_back_as_a_tool_error(tools):
    msg = call(tools["edit"], path="textkit/wrap.py")
    assert msg.status == "error" and "invalid arguments" in msg.content
