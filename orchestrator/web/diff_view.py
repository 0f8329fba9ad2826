"""The candidate's diff file by file, with old/new line numbers and the gate's coverage marks.

The gate stores the uncovered changed lines per file (and the files its coverage report did not
list); a changed line of a measured file that is not listed as uncovered was covered or is not
executable (a comment, a blank line): the gate does not store which, so the page says both."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from itertools import zip_longest

from markupsafe import Markup

from orchestrator.web.syntax import PAGE_BUDGET_S, highlight_lines, lexer_for

HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass
class DiffLine:
    kind: str
    """``add``, ``del``, ``ctx`` or ``hunk``."""
    text: str
    old: int | None = None
    new: int | None = None
    mark: str = ""
    """``uncovered``, ``covered-or-not-executable``, ``not-measured`` or empty (not a measured line)."""
    tests: list[str] = field(default_factory=list)
    """The fail-to-pass tests that ran this (added) line, when the gate could tell."""
    html: Markup | None = None
    """The text highlighted and escaped (see ``syntax``), or None to show ``text`` as plain text."""


@dataclass
class DiffFile:
    path: str
    lines: list[DiffLine] = field(default_factory=list)
    added: int = 0
    removed: int = 0

    @property
    def side_by_side(self) -> list[tuple[DiffLine | None, DiffLine | None]]:
        """The split view's rows: (old side, new side). A hunk header is (hunk, hunk); removed
        lines face the lines added in their place; a context line faces itself."""
        rows: list[tuple[DiffLine | None, DiffLine | None]] = []
        removed: list[DiffLine] = []
        added: list[DiffLine] = []

        def flush() -> None:
            rows.extend(zip_longest(removed, added))
            removed.clear()
            added.clear()

        for line in self.lines:
            if line.kind == "del":
                if added:  # a removal after additions starts a new change block
                    flush()
                removed.append(line)
            elif line.kind == "add":
                added.append(line)
            else:
                flush()
                rows.append((line, line))
        flush()
        return rows


def _coverage_details(gate_report) -> dict | None:
    """The diff_coverage check's details, or None; stored reports of any shape are tolerated."""
    checks = gate_report.get("checks") if isinstance(gate_report, dict) else None
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict) and check.get("name") == "diff_coverage" and isinstance(check.get("details"), dict):
            return check["details"]
    return None


def coverage_of(gate_report) -> tuple[dict[str, set[int]], set[str]]:
    """(uncovered line numbers per path, paths not in the coverage report) from a stored gate report."""
    details = _coverage_details(gate_report) or {}
    raw = details.get("uncovered")
    uncovered = {str(p): _expand(r) for p, r in raw.items() if isinstance(r, list)} if isinstance(raw, dict) else {}
    missing = details.get("not_in_report")
    return uncovered, {str(p) for p in missing} if isinstance(missing, list) else set()


def f2p_tests_of(gate_report) -> dict[str, dict[int, list[str]]]:
    """path → line → fail-to-pass test ids that ran it, from a stored gate report (any shape tolerated)."""
    raw = (_coverage_details(gate_report) or {}).get("f2p_line_tests")
    out: dict[str, dict[int, list[str]]] = {}
    for path, lines in raw.items() if isinstance(raw, dict) else ():
        for line, tests in lines.items() if isinstance(lines, dict) else ():
            if str(line).isdigit() and isinstance(tests, list):
                out.setdefault(str(path), {})[int(line)] = [str(t) for t in tests]
    return out


def _expand(ranges: list[str]) -> set[int]:
    lines: set[int] = set()
    for r in ranges:
        low, _, high = str(r).partition("-")
        if low.isdigit():
            lines.update(range(int(low), int(high or low) + 1))
    return lines


def diff_files(diff: str | None, gate_report: dict | None = None) -> list[DiffFile]:
    """Parse a unified git diff (``--stat`` lines before it are ignored) into files."""
    uncovered, unmeasured = coverage_of(gate_report)
    measured = bool(_coverage_details(gate_report))
    tested_by = f2p_tests_of(gate_report)
    files: list[DiffFile] = []
    old = new = 0
    for raw in (diff or "").splitlines():
        if raw.startswith("diff --git "):
            files.append(DiffFile(path=raw.split(" b/", 1)[-1]))
            continue
        if not files or raw.startswith(
            ("--- ", "+++ ", "index ", "new file", "deleted file", "rename ", "similarity ")
        ):
            continue
        f = files[-1]
        m = HUNK.match(raw)
        if m:
            old, new = int(m.group(1)), int(m.group(2))
            f.lines.append(DiffLine("hunk", raw))
        elif raw.startswith("+"):
            mark = _mark(f.path, new, uncovered, unmeasured, measured)
            f.lines.append(DiffLine("add", raw[1:], None, new, mark, tested_by.get(f.path, {}).get(new, [])))
            f.added, new = f.added + 1, new + 1
        elif raw.startswith("-"):
            f.lines.append(DiffLine("del", raw[1:], old, None))
            f.removed, old = f.removed + 1, old + 1
        else:
            f.lines.append(DiffLine("ctx", raw[1:] if raw.startswith(" ") else raw, old, new))
            old, new = old + 1, new + 1
    deadline = time.monotonic() + PAGE_BUDGET_S
    for f in files:
        if time.monotonic() < deadline:
            _highlight(f, deadline)
    return files


VIEWS = ("unified", "split")


def checked_view(value: str | None) -> str:
    """The diff view asked for in ``?view=``; unified when not given."""
    if value in (None, ""):
        return "unified"
    if value not in VIEWS:
        raise ValueError(f"view: must be one of {', '.join(VIEWS)}, got {value!r}")
    return value


def _highlight(f: DiffFile, deadline: float) -> None:
    """Colour each side of the file: context and added lines as the new text, removed lines as the old."""
    lexer = lexer_for(f.path)
    if lexer is None:
        return
    for kinds in (("ctx", "del"), ("ctx", "add")):
        side = [line for line in f.lines if line.kind in kinds]
        html = highlight_lines(lexer, [line.text for line in side], deadline)
        if html is None:
            continue
        for line, h in zip(side, html, strict=True):
            if line.kind != "ctx" or kinds[1] == "add":
                line.html = h


def _mark(path: str, line: int, uncovered: dict[str, set[int]], unmeasured: set[str], measured: bool) -> str:
    if line in uncovered.get(path, ()):
        return "uncovered"
    if path in unmeasured:
        return "not-measured"
    if path in uncovered or (measured and path.endswith(".py") and not _is_test(path)):
        return "covered-or-not-executable"
    return ""


def _is_test(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.startswith("tests/") or "/tests/" in path or name.startswith("test_") or name.endswith("_test.py")
