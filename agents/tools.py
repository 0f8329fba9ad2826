"""The coding agent's tools, executed inside the job's ``Sandbox``.

Each is a LangChain ``StructuredTool`` with a pydantic argument schema (so real providers get
proper JSON schemas) returning ``(text for the model, artifact)``; the artifact carries
machine-readable facts (``exit_code``) used by cassette expectations and the loop guard.
A bad path, an ambiguous edit or a failing command comes back as a tool error message the
model can act on; only a sandbox that is gone (``SandboxError``) or a bug in a tool raises.

``run_tests`` is feedback for the agent only: the orchestrator never trusts it and runs its
own gates in a fresh sandbox.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from agents.context_window import truncate_middle
from sandboxes.base import Sandbox


class ViewArgs(BaseModel):
    path: str = Field(description="File or directory path relative to the repository root")
    start_line: int | None = Field(default=None, ge=1, description="First line to show (1-based); default 1")
    end_line: int | None = Field(
        default=None, ge=1, description="Last line to show (inclusive); default start_line + 99"
    )


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


class DiffArgs(BaseModel):
    pass


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
    test_env: dict[str, str] = field(default_factory=dict)
    """Environment added to ``run_tests`` calls (which pytest plugins load)."""


def _clean_path(sandbox: Sandbox, path: str) -> str:
    path = path.strip()
    workdir = sandbox.workdir.rstrip("/")
    if path == workdir:
        return "."
    if path.startswith(workdir + "/"):
        path = path[len(workdir) + 1 :]
    path = path.removeprefix("./") or "."
    if path.startswith("/"):
        raise ToolException(f"{path}: use a path relative to the repository root")
    return path


def _read_bytes(sandbox: Sandbox, path: str) -> bytes:
    try:
        return sandbox.read_file(path)
    except Exception as exc:  # noqa: BLE001 — backends raise OSError/SandboxError/ValueError with the reason
        raise ToolException(f"cannot read {path}: {exc}") from None


def _read_text(sandbox: Sandbox, path: str, *, for_edit: bool = False) -> tuple[str, bool]:
    """The file's text and whether it is valid UTF-8. A binary file is refused; a non-UTF-8 file
    is shown with replacement characters but refused for editing (writing it back would corrupt it)."""
    data = _read_bytes(sandbox, path)
    if b"\0" in data[:4096]:
        raise ToolException(f"{path}: binary file ({len(data)} bytes); not shown")
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError as exc:
        if for_edit:
            raise ToolException(
                f"{path}: not valid UTF-8 (byte {exc.start}); refused for editing so its bytes are not rewritten "
                "lossily. Leave it alone, or change it with a bash command that handles its encoding."
            ) from None
        return data.decode("utf-8", errors="replace"), False


def numbered(lines: list[str], first: int, last: int) -> str:
    return "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(first, last + 1))


def python_syntax_error(path: str, text: str) -> str:
    """The syntax error of a Python file's text ('' if it parses). Compiled, never run."""
    if not path.endswith(".py"):
        return ""
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # null bytes
        return str(exc)
    return ""


VIEW_WINDOW = 100
"""Lines shown by ``view`` when no range is given (SWE-agent's window)."""
SEARCH_MAX_MATCHES = 100


class AgentTools:
    """Builds the tool set bound to one sandbox."""

    def __init__(self, sandbox: Sandbox, settings: ToolSettings, diff_source: Callable[[], str] | None = None):
        self.sandbox = sandbox
        self.settings = settings
        self.diff_source = diff_source

    def _run(self, command: str, env: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
        result = self.sandbox.exec(command, timeout_s=self.settings.command_timeout_s, env=env or None)
        status = f"exit code: {result.exit_code}"
        if not result.ok:
            status += f" ({result.describe_failure()})"
        body = truncate_middle(result.output, self.settings.output_chars)
        return f"{status}\n{body}", {"exit_code": result.exit_code, "timed_out": result.timed_out}

    def _budget(self) -> int:
        return self.settings.output_chars if self.settings.output_chars > 0 else 10**9

    def view(self, path: str, start_line: int | None = None, end_line: int | None = None) -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        if self.sandbox.exec(f"test -d {shlex.quote(path)}", timeout_s=30).exit_code == 0:
            listing = self.sandbox.exec(
                f"find {shlex.quote(path)} -maxdepth 2 -not -path '*/.*' -not -path '*/__pycache__*'"
                " | sort | head -300",
                timeout_s=30,
            )
            return truncate_middle(listing.output, self.settings.output_chars), {"directory": True}
        text, utf8 = _read_text(self.sandbox, path)
        lines = text.splitlines()
        total = len(lines)
        first = start_line or 1
        if lines and first > total:
            raise ToolException(f"{path} has {total} lines; start_line {first} is past the end")
        last = min(end_line or first + VIEW_WINDOW - 1, total)
        budget, used, shown_last = self._budget(), 0, first - 1
        for n in range(first, last + 1):  # whole lines only, never a silent cut in the middle
            used += len(lines[n - 1]) + 8
            if used > budget and n > first:
                break
            shown_last = n
        header = f"{path}: showing lines {first}-{shown_last} of {total}" if total else f"{path}: empty file"
        if shown_last < total:
            header += f"; use start_line={shown_last + 1} to see more"
        if not utf8:
            header += " (not valid UTF-8: shown with replacement characters; editing it is refused)"
        body = numbered(lines, first, shown_last) if total else ""
        return f"{header}\n{body}".rstrip("\n"), {"lines": total, "shown": [first, shown_last]}

    def search(self, pattern: str, path: str = ".") -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        command = (
            "grep -rnIE --exclude-dir=.git --exclude-dir=node_modules --exclude-dir=__pycache__ "
            f"--exclude-dir=.shipyard -e {shlex.quote(pattern)} -- {shlex.quote(path)} "
            f"| awk 'NR<={SEARCH_MAX_MATCHES}{{print}} END{{print \"__total__ \" NR}}'"
        )
        result = self.sandbox.exec(command, timeout_s=60)
        out = result.output.splitlines()
        total = int(out[-1].split()[1]) if out and out[-1].startswith("__total__ ") else len(out)
        matches = [line for line in out if not line.startswith("__total__ ")]
        if total == 0:
            return f"no matches for {pattern!r} in {path}", {"matches": 0}
        budget, used, shown = self._budget(), 0, []
        for line in matches:
            used += len(line) + 1
            if used > budget and shown:
                break
            shown.append(line if len(line) <= 400 else line[:400] + " …")
        left_out = total - len(shown)
        note = f"{total} matches" + (
            f"; showing the first {len(shown)}, {left_out} left out: narrow the pattern or path" if left_out else ""
        )
        return note + "\n" + "\n".join(shown), {"matches": total}

    def edit(self, path: str, old: str, new: str) -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        text, _ = _read_text(self.sandbox, path, for_edit=True)
        if not old:
            raise ToolException("'old' is empty; use create to write a whole file")
        count = text.count(old)
        if count == 0:
            raise ToolException(
                f"{path}: the old text was not found (it must match exactly, including indentation); "
                "view the file and retry"
            )
        if count > 1:
            raise ToolException(
                f"{path}: the old text occurs {count} times; include more surrounding lines so it is unique"
            )
        start_line = text[: text.index(old)].count("\n") + 1
        updated = text.replace(old, new, 1)
        end_line = start_line + new.count("\n")
        lines = updated.splitlines()
        error = python_syntax_error(path, updated)
        if error and not python_syntax_error(path, text):
            raise ToolException(
                f"{path}: edit NOT applied: it would make the file invalid Python ({error}). The file is unchanged. "
                f"Your edit would have read:\n{numbered(lines, max(start_line - 3, 1), min(end_line + 3, len(lines)))}"
            )
        self.sandbox.write_file(path, updated.encode("utf-8"))
        snippet = numbered(lines, max(start_line - 3, 1), min(end_line + 3, len(lines)))
        return (
            f"edited {path}; lines {max(start_line - 3, 1)}-{min(end_line + 3, len(lines))} of {len(lines)} now read:\n"
            f"{snippet}"
        ), {"start_line": start_line}

    def create(self, path: str, content: str) -> tuple[str, dict]:
        path = _clean_path(self.sandbox, path)
        existed = self.sandbox.exec(f"test -e {shlex.quote(path)}", timeout_s=30).exit_code == 0
        try:
            self.sandbox.write_file(path, content.encode("utf-8"))
        except Exception as exc:  # noqa: BLE001 — backends raise OSError/SandboxError/ValueError with the reason
            raise ToolException(f"cannot write {path}: {exc}") from None
        verb = "overwrote" if existed else "created"
        error = python_syntax_error(path, content)
        warning = f"\nwarning: the file is not valid Python ({error}); fix it" if error else ""
        return f"{verb} {path} ({len(content.splitlines())} lines){warning}", {"overwrote": existed}

    def diff(self) -> tuple[str, dict]:
        if self.diff_source is None:
            raise ToolException("diff is not available in this run")
        text = self.diff_source()
        if not text.strip():
            return "no changes against the base commit", {"changed": False}
        return truncate_middle(text, self.settings.output_chars), {"changed": True}

    def bash(self, command: str) -> tuple[str, dict]:
        return self._run(command)

    def run_tests(self, selector: str | None = None) -> tuple[str, dict]:
        command = self.settings.test_command
        if selector:
            template = self.settings.select_test_command
            quoted = " ".join(shlex.quote(s) for s in selector.split())
            command = template.replace("{tests}", quoted) if template else f"{command} {quoted}"
        return self._run(command, self.settings.test_env)

    def finish(self, summary: str) -> tuple[str, dict]:
        return "finished; the orchestrator will now run its own checks.", {"summary": summary}

    def as_langchain_tools(self) -> list[BaseTool]:
        specs = [
            (
                self.view,
                ViewArgs,
                f"Show a file with line numbers, {VIEW_WINDOW} lines at a time from start_line, or list a directory.",
            ),
            (
                self.search,
                SearchArgs,
                "Search files for a regular expression (grep -rnE); returns path:line:text and the match count.",
            ),
            (
                self.edit,
                EditArgs,
                "Replace one exact, unique occurrence of 'old' with 'new' in a file; Python files are syntax-checked.",
            ),
            (self.create, CreateArgs, "Create a file (or overwrite it) with the given content."),
            (self.bash, BashArgs, "Run a shell command in the repository root. No network access."),
            (self.run_tests, RunTestsArgs, "Run the repository's tests (all, or a selector) and see the result."),
            (self.finish, FinishArgs, "Call once the change and its tests are done; ends your work."),
        ]
        if self.diff_source is not None:
            specs.insert(-1, (self.diff, DiffArgs, "Show your changes against the base commit (a unified diff)."))
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


def make_tools(
    sandbox: Sandbox, settings: ToolSettings, *, diff_source: Callable[[], str] | None = None
) -> list[BaseTool]:
    """The agent tools bound to ``sandbox`` (``diff`` only when ``diff_source`` is given)."""
    return AgentTools(sandbox, settings, diff_source).as_langchain_tools()
