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
    assert msg.content.startswith("textkit/wrap.py: showing lines 4-5 of 20; use start_line=6 to see more")
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


def test_view_shows_a_window_of_whole_lines_and_says_where_to_go_next(tools, sample_sandbox):
    sample_sandbox.write_file("big.py", "".join(f"line_{n} = {'x' * 60!r}\n" for n in range(1, 501)).encode())
    first = call(tools["view"], path="big.py")
    header, *body = first.content.splitlines()
    shown_last = int(body[-1].split()[0])
    assert header == f"big.py: showing lines 1-{shown_last} of 500; use start_line={shown_last + 1} to see more"
    assert shown_last < 100 and len(first.content) <= 2100  # cut at the character budget, on a line boundary
    assert [int(b.split()[0]) for b in body] == list(range(1, shown_last + 1))  # nothing lost in the middle
    assert "elided" not in first.content
    nxt = call(tools["view"], path="big.py", start_line=shown_last + 1)
    assert nxt.content.splitlines()[1].split()[0] == str(shown_last + 1)
    last = call(tools["view"], path="big.py", start_line=495)
    assert last.content.splitlines()[0] == "big.py: showing lines 495-500 of 500"


def test_search_says_how_many_matches_were_left_out(tools, sample_sandbox):
    sample_sandbox.write_file("many.txt", "".join(f"needle {n}\n" for n in range(250)).encode())
    msg = call(tools["search"], pattern="needle", path="many.txt")
    first = msg.content.splitlines()[0]
    shown = len(msg.content.splitlines()) - 1
    assert first == f"250 matches; showing the first {shown}, {250 - shown} left out: narrow the pattern or path"
    assert msg.artifact["matches"] == 250
    assert call(tools["search"], pattern="def wrap").content.startswith("1 matches\n")


def test_edit_echoes_numbered_lines_around_the_change(tools):
    msg = call(tools["edit"], path="textkit/wrap.py", old="width must be at least 1", new="width must be >= 1")
    assert msg.content.startswith("edited textkit/wrap.py; lines ")
    numbered = [ln for ln in msg.content.splitlines()[1:]]
    assert any("width must be >= 1" in ln and ln.split()[0].isdigit() for ln in numbered)
    assert len(numbered) >= 4


def test_an_edit_that_breaks_python_syntax_is_not_applied(tools, sample_sandbox):
    before = sample_sandbox.read_file("textkit/wrap.py")
    msg = call(
        tools["edit"],
        path="textkit/wrap.py",
        old="def wrap(text: str, width: int) -> list[str]:",
        new="def wrap(text: str, width: int) -> list[str]",
    )
    assert msg.status == "error" and "edit NOT applied" in msg.content and "invalid Python (line 4" in msg.content
    assert sample_sandbox.read_file("textkit/wrap.py") == before


def test_a_non_utf8_file_is_refused_for_editing_and_never_rewritten(tools, sample_sandbox):
    latin1 = "caf\u00e9 = 1\n# r\u00e9sum\u00e9\n".encode("latin-1")
    sample_sandbox.write_file("legacy.py", latin1)
    shown = call(tools["view"], path="legacy.py")
    assert "not valid UTF-8" in shown.content and "editing it is refused" in shown.content
    refused = call(tools["edit"], path="legacy.py", old="1", new="2")
    assert refused.status == "error" and "not valid UTF-8" in refused.content
    assert sample_sandbox.read_file("legacy.py") == latin1


def test_the_diff_tool_shows_changes_from_its_source(sample_sandbox):
    changes = {"text": ""}
    tools = {
        t.name: t
        for t in make_tools(
            sample_sandbox, ToolSettings(test_command=TEST_COMMAND), diff_source=lambda: changes["text"]
        )
    }
    assert "diff" in tools
    assert call(tools["diff"]).content == "no changes against the base commit"
    changes["text"] = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    assert call(tools["diff"]).content == changes["text"]
