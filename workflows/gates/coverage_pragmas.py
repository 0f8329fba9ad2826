"""Newly added coverage-exclusion pragmas: lines a change hides from diff coverage.

A ``# pragma: no cover`` on a new function removes it from the report, so diff coverage never
sees it; such an addition is reported with its line and fails the gate.
"""

from __future__ import annotations

import re

from workflows.gates.change_set import ChangeSet
from workflows.gates.report import GateCheck
from workflows.gitops import GitRepo

PRAGMAS = re.compile(r"pragma:\s*no\s*(?:cover|branch)|istanbul\s+ignore|c8\s+ignore|\bnocov\b|LCOV_EXCL", re.I)
"""Coverage exclusions of coverage.py, istanbul/nyc, c8, SimpleCov and lcov."""


def added_pragmas(repo: GitRepo, changes: ChangeSet) -> list[dict[str, object]]:
    """Each added line carrying an exclusion pragma: path, line number, text."""
    found: list[dict[str, object]] = []
    for path, numbers in sorted(changes.added_lines.items()):
        if not numbers:
            continue
        lines = (repo.show_file(changes.candidate_sha, path) or b"").decode("utf-8", errors="replace").splitlines()
        for n in sorted(numbers):
            if 0 < n <= len(lines) and PRAGMAS.search(lines[n - 1]):
                found.append({"path": path, "line": n, "text": lines[n - 1].strip()[:200]})
    return found


def check_coverage_pragmas(repo: GitRepo, changes: ChangeSet, *, allow: bool = False) -> GateCheck:
    """Fails on any newly added pragma; with ``allow`` (``gates.allow_coverage_pragmas``) lists them and passes."""
    found = added_pragmas(repo, changes)
    if not found:
        return GateCheck(name="coverage_pragmas", passed=True, reason="no coverage-exclusion pragma added")
    if allow:
        return GateCheck(
            name="coverage_pragmas",
            passed=True,
            details={"pragmas": found},
            reason=f"{len(found)} coverage-exclusion pragma(s) added, allowed by gates.allow_coverage_pragmas",
        )
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return GateCheck(
        name="coverage_pragmas",
        passed=False,
        reason=f"{first['path']}:{first['line']}: coverage-exclusion pragma added ({first['text']}){more}; "
        "added code must be covered by tests, not excluded from the report",
        details={"pragmas": found},
    )
