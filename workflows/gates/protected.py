"""The paths and edits a change may not make: the ways to weaken a gate instead of passing it.

CI and test/coverage configuration, the repository's ``.shipyard.yml``, deleting or renaming
a test file, and newly skipping, expecting-to-fail or focusing an existing test.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass

from workflows.gates.change_set import ChangeSet
from workflows.gates.collection_guard import COLLECTION_PATHS, collection_violations
from workflows.gates.path_patterns import first_match
from workflows.gitops import GitRepo

BUILTIN_PROTECTED = [
    ".github/**",
    ".ci/**",
    ".gitlab-ci.yml",
    ".coveragerc",
    "setup.cfg",
    "tox.ini",
    "pytest.ini",
    # pytest 9 reads these first of all its configuration files.
    "pytest.toml",
    ".pytest.toml",
    ".shipyard.yml",
    # pytest hooks in a conftest.py can rewrite test outcomes (failed → passed), so a change
    # to one needs a human, not the agent.
    "conftest.py",
    "**/conftest.py",
    # The same roles for JavaScript runners: coverage and test-runner configuration.
    ".nycrc*",
    ".c8rc*",
    "jest.config.*",
    "vitest.config.*",
    ".mocharc*",
    # Files that run code or set options before collection: a hook there rewrites outcomes.
    *COLLECTION_PATHS,
]
"""Always protected, in addition to ``gates.protected_paths``."""

PROTECTED_PYPROJECT_TABLES = ("coverage", "pytest")
"""``[tool.<name>*]`` tables of pyproject.toml that configure tests and coverage."""

SKIP_MARKERS: dict[str, re.Pattern[str]] = {
    "pytest skip/xfail marker": re.compile(r"@pytest\.mark\.(?:skip|skipif|xfail)\b"),
    "unittest skip decorator": re.compile(r"@(?:unittest\.)?(?:skip|skipIf|skipUnless|expectedFailure)\b"),
    "pytest.skip()/xfail() call": re.compile(r"\bpytest\.(?:skip|xfail)\s*\("),
    "skipTest() call": re.compile(r"\bself\.skipTest\s*\("),
    "JavaScript skip/only/todo": re.compile(r"\b(?:it|test|describe|suite)\.(?:skip|only|todo)\b"),
    "JavaScript xit/xdescribe": re.compile(r"\b(?:xit|xdescribe|xtest)\s*\("),
    "node:test t.skip()/t.todo()": re.compile(r"\bt\.(?:skip|todo)\s*\("),
}
"""Markers that stop an existing test from running or from counting when it fails."""


@dataclass(frozen=True)
class Violation:
    path: str
    reason: str


NEVER_ALLOWED = (".shipyard.yml",)
"""Paths ``gates.allow_paths`` cannot open: the file that says what is allowed."""


def allowed(path: str, allow_paths: list[str]) -> bool:
    """True when the repository's ``gates.allow_paths`` names ``path`` (never ``.shipyard.yml``)."""
    return not first_match(path, NEVER_ALLOWED) and first_match(path, allow_paths) is not None


def _path_violations(changes: ChangeSet, extra_patterns: list[str], allow_paths: list[str]) -> list[Violation]:
    patterns = BUILTIN_PROTECTED + list(extra_patterns)
    out: list[Violation] = []
    for f in changes.files:
        for path in {f.path, f.old_path or f.path}:
            pattern = first_match(path, patterns)
            if pattern and not allowed(path, allow_paths):
                out.append(Violation(path, f"protected path (matches {pattern!r})"))
        if f.status == "D" and changes.is_test(f.path):
            out.append(Violation(f.path, "existing test file deleted"))
        elif f.status == "R" and f.old_path and changes.is_test(f.old_path):
            out.append(Violation(f.old_path, f"existing test file renamed to {f.path}"))
    return out


def _tool_tables(text: bytes | None) -> dict[str, object] | None:
    if text is None:
        return {}
    try:
        tool = tomllib.loads(text.decode("utf-8", errors="replace")).get("tool", {})
    except tomllib.TOMLDecodeError:
        return None
    return {k: v for k, v in tool.items() if k.startswith(PROTECTED_PYPROJECT_TABLES)}


def _pyproject_violations(repo: GitRepo, changes: ChangeSet) -> list[Violation]:
    out: list[Violation] = []
    for f in changes.files:
        if f.path.rsplit("/", 1)[-1] != "pyproject.toml" and (f.old_path or "").rsplit("/", 1)[-1] != "pyproject.toml":
            continue
        before = _tool_tables(repo.show_file(changes.base_sha, f.old_path or f.path))
        after = _tool_tables(repo.show_file(changes.candidate_sha, f.path) if f.status != "D" else None)
        if after is None and before is not None:
            out.append(
                Violation(f.path, "pyproject.toml no longer parses, so its test/coverage tables cannot be checked")
            )
        elif before != after:
            b, a = before or {}, after or {}
            names = sorted(k for k in {*b, *a} if b.get(k) != a.get(k))
            tables = ", ".join(f"[tool.{n}]" for n in names)
            out.append(Violation(f.path, f"test/coverage configuration changed: {tables}"))
    return out


def _marker_lines(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        for label, pattern in SKIP_MARKERS.items():
            if pattern.search(line):
                found.setdefault(label, []).append(line.strip())
    return found


def _skip_violations(repo: GitRepo, changes: ChangeSet) -> list[Violation]:
    out: list[Violation] = []
    for f in changes.files:
        if f.status != "M" or not changes.is_test(f.path):
            continue
        before = _marker_lines((repo.show_file(changes.base_sha, f.path) or b"").decode("utf-8", errors="replace"))
        after = _marker_lines((repo.show_file(changes.candidate_sha, f.path) or b"").decode("utf-8", errors="replace"))
        for label, lines in after.items():
            added = len(lines) - len(before.get(label, []))
            if added > 0:
                new_lines = Counter(lines) - Counter(before.get(label, []))
                sample = "; ".join(list(new_lines.elements())[:3])[:200]
                out.append(Violation(f.path, f"{label} added to an existing test file ({added} new: {sample})"))
    return out


def find_violations(
    repo: GitRepo, changes: ChangeSet, extra_patterns: list[str], allow_paths: list[str] | None = None
) -> list[Violation]:
    """Every protected-path rule the change breaks, each with the path and a reason.

    Paths named in ``allow_paths`` (``gates.allow_paths``) are exempt from the name and
    content rules (protected paths, test configuration, plugins, hooks), not from the rules
    against deleting tests or newly skipping them."""
    allow = list(allow_paths or [])
    collection = [Violation(path, reason) for path, reason in collection_violations(repo, changes)]
    waivable = [v for v in _pyproject_violations(repo, changes) + collection if not allowed(v.path, allow)]
    return _path_violations(changes, extra_patterns, allow) + waivable + _skip_violations(repo, changes)
