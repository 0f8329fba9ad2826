"""The coding agent's tools, executed inside the job's ``Sandbox``.

Each is a LangChain ``StructuredTool`` with a pydantic argument schema (so real providers get
proper JSON schemas) returning ``(text for the model, artifact)``; the artifact carries
machine-readable facts (``exit_code``) used by cassette expectations and the loop guard.
A tool never raises to the loop: a bad path, an ambiguous edit or a failing command comes
back as a tool error message the model can act on.

``run_tests`` is feedback for the agent only: the orchestrator never trusts it and runs its
own gates in a fresh sandbox.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from agents.context import truncate_middle
from sandboxes.base import Sandbox


class ViewArgs(BaseModel):
    path: str = Field(description="File or directory path relative to the repository root")
    start_line: int | None = Field(default=None, ge=1, description="First line to show (1-based)")
    end_line: int | None = Field(default=None, ge=1, description="Last line to show (inclusive)")


class SearchArgs(BaseModel):
    pattern: str = Field(description="Extended regular expression (grep -E)")
    path: str = Field(default=".", description="Directory or file to search, relative to the repository root")


class EditArgs(BaseModel):
    path: str = Field(description="File to edit, relative to the repository root")
    old: str = Field(description="Exact text to replace; must occur exactly once in the file")
    new: str = Field(description="Replacement text")


class CreateArgs(BaseModel):
    path: str = Field(description="File to create or overwrite, relative to the repository root")
    content: str = Field(description="Full file content")


class BashArgs(BaseModel):
    command: str = Field(description="Shell command run with bash in the repository root (no network)")


class RunTestsArgs(BaseModel):
    selector: str | None = Field(default=None, description="Optional test selector, e.g. tests/test_x.py::test_y")


class FinishArgs(BaseModel):
    summary: str = Field(description="What you changed and which tests you added, for the reviewer")


@dataclass(frozen=True)
class ToolSettings:
    """How the tools talk to the sandbox."""

    test_command: str
    """The repository's whole-suite test command."""
    select_test_command: str = ""
    """Command for selected tests with a ``{tests}`` placeholder; empty → append to ``test_command``."""
    output_chars: int = 8000
    """Characters of one tool output shown to the model (head + tail)."""
    command_timeout_s: float = 300.0
    """Wall-clock limit of one ``bash``/``run_tests`` call."""


def _clean_path(sandbox: Sandbox, path: str) -> str:
    path = path.strip()
    workdir = sandbox.workdir.rstrip("/")
    if path == workdir:
        return "."
    if path.startswith(workdir + "/"):
        path = path[len(workdir) + 1:]
    path = path.removeprefix("./") or "."
    if path.startswith("/"):
        raise ToolException(f"{path}: use a path relative to the repository root")
    return path


def _read_text(sandbox: Sandbox, path: str) -> str:
    try:
        data = sandbox.read_file(path)
    except Exception as exc:  # backends raise OSError/SandboxError/ValueError with the reason
        raise ToolException(f"cannot read {path}: {exc}") from None
    if b"\0" in data[:4096]:
        raise ToolException(f"{path}: binary file ({len(data)} bytes); not shown")
    return data.decode("utf-8", errors="replace")


class AgentTools:
    """Builds the tool set bound to one sandbox."""

    def __init__(self, sandbox: Sandbox, settings: ToolSettings):
        self.sandbox = sandbox
        self.settings = settings

    def _run(self, command: str) -> tuple[str, dict[str, Any]]:
        result = self.sandbox.exec(command, timeout_s=self.settings.command_timeout_s)
        status = f"exit code: {result.exit_code}"
        if not result.ok:
            status += f" ({result.describe_failure()})"
        body = truncate_middle(result.output, self.settings.output_chars)
        return f"{status}\n{body}", {"exit_code": result.exit_code, "timed_out": result.timed_out}

    def view(self, path: str, start_line: int | None = None, end_line: int | None = None) -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        if self.sandbox.exec(f"test -d {shlex.quote(path)}", timeout_s=30).exit_code == 0:
            listing = self.sandbox.exec(
                f"find {shlex.quote(path)} -maxdepth 2 -not -path '*/.*' -not -path '*/__pycache__*' | sort | head -300",
                timeout_s=30,
            )
            return truncate_middle(listing.output, self.settings.output_chars), {"directory": True}
        lines = _read_text(self.sandbox, path).splitlines()
        first = start_line or 1
        last = min(end_line or len(lines), len(lines))
        if lines and first > len(lines):
            raise ToolException(f"{path} has {len(lines)} lines; start_line {first} is past the end")
        shown = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(first, last + 1))
        header = f"{path} (lines {first}-{last} of {len(lines)})"
        return truncate_middle(f"{header}\n{shown}", self.settings.output_chars), {"lines": len(lines)}

    def search(self, pattern: str, path: str = ".") -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        command = (
            "grep -rnIE --exclude-dir=.git --exclude-dir=node_modules --exclude-dir=__pycache__ "
            f"--exclude-dir=.shipyard -e {shlex.quote(pattern)} -- {shlex.quote(path)} | head -n 200"
        )
        result = self.sandbox.exec(command, timeout_s=60)
        if not result.output.strip():
            return f"no matches for {pattern!r} in {path}", {"matches": 0}
        count = len(result.output.splitlines())
        return truncate_middle(result.output, self.settings.output_chars), {"matches": count}

    def edit(self, path: str, old: str, new: str) -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        text = _read_text(self.sandbox, path)
        if not old:
            raise ToolException("'old' is empty; use create to write a whole file")
        count = text.count(old)
        if count == 0:
            raise ToolException(f"{path}: the old text was not found (it must match exactly, including indentation); view the file and retry")
        if count > 1:
            raise ToolException(f"{path}: the old text occurs {count} times; include more surrounding lines so it is unique")
        start_line = text[: text.index(old)].count("\n") + 1
        updated = text.replace(old, new, 1)
        self.sandbox.write_file(path, updated.encode("utf-8"))
        end_line = start_line + new.count("\n")
        return f"edited {path}: lines {start_line}-{end_line} now read:\n{new}", {"start_line": start_line}

    def create(self, path: str, content: str) -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        existed = self.sandbox.exec(f"test -e {shlex.quote(path)}", timeout_s=30).exit_code == 0
        try:
            self.sandbox.write_file(path, content.encode("utf-8"))
        except Exception as exc:
            raise ToolException(f"cannot write {path}: {exc}") from None
        verb = "overwrote" if existed else "created"
        return f"{verb} {path} ({len(content.splitlines())} lines)", {"overwrote": existed}

    def bash(self, command: str) -> tuple[str, dict]:
        return self._run(command)

    def run_tests(self, selector: str | None = None) -> tuple[str, dict]:
        command = self.settings.test_command
        if selector:
            template = self.settings.select_test_command
            quoted = " ".join(shlex.quote(s) for s in selector.split())
            command = template.replace("{tests}", quoted) if template else f"{command} {quoted}"
        return self._run(command)

    def finish(self, summary: str) -> tuple[str, dict]:
        return "finished; the orchestrator will now run its own checks.", {"summary": summary}

    def as_langchain_tools(self) -> list[BaseTool]:
        specs = [
            (self.view, ViewArgs, "Show a file with line numbers (optionally a line range), or list a directory."),
            (self.search, SearchArgs, "Search files for a regular expression (grep -rnE); returns path:line:text."),
            (self.edit, EditArgs, "Replace one exact, unique occurrence of 'old' with 'new' in a file."),
            (self.create, CreateArgs, "Create a file (or overwrite it) with the given content."),
            (self.bash, BashArgs, "Run a shell command in the repository root. No network access."),
            (self.run_tests, RunTestsArgs, "Run the repository's tests (all, or a selector) and see the result."),
            (self.finish, FinishArgs, "Call once the change and its tests are done; ends your work."),
        ]
        return [
            StructuredTool.from_function(
                func=func,
                name=func.__name__,
                description=description,
                args_schema=schema,
                response_format="content_and_artifact",
                handle_tool_error=True,
                handle_validation_error=_validation_message,
            )
            for func, schema, description in specs
        ]


def _validation_message(exc: Exception) -> str:
    return f"invalid arguments: {exc}"


def make_tools(sandbox: Sandbox, settings: ToolSettings) -> list[BaseTool]:
    """The seven agent tools bound to ``sandbox``."""
    return AgentTools(sandbox, settings).as_langchain_tools()
