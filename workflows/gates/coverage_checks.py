"""Coverage rules: changed executable source lines are covered; total coverage holds up."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.gates.baseline import Baseline
from workflows.gates.change_set import ChangeSet
from workflows.gates.checks import line_ranges, waived_check
from workflows.gates.report import GateCheck
from workflows.gates.suite import SuiteRun
from workflows.repo_config import CoverageGate

DISABLED = "coverage checks are off for this repository (gates.coverage.enabled: false)"


@dataclass
class DiffCoverage:
    percent: float | None
    covered: int
    executable: int
    uncovered: dict[str, list[str]]
    """path → line ranges not covered, those missing from the report included."""
    not_in_report: list[str]
    """Changed source files the report does not mention at all."""
    lines_not_in_report: dict[str, list[str]]
    """path → executable changed line ranges the report does not list (excluded or never imported)."""


def measure_diff_coverage(changes: ChangeSet, candidate: SuiteRun, statements: dict[str, set[int]]) -> DiffCoverage:
    """Covered share of the changed executable source lines (not tests).

    ``statements``: for each Python file, the changed executable statements from its own source
    (``executable_lines``); those the report does not list count as uncovered. For other files
    the executable lines are those the report lists."""
    assert candidate.coverage is not None
    covered = executable = 0
    uncovered: dict[str, list[str]] = {}
    not_in_report: list[str] = []
    absent_lines: dict[str, list[str]] = {}
    for path in changes.changed_source_files:
        added = changes.added_lines.get(path, set())
        if not added:
            continue
        per_file = candidate.coverage.lines.get(path)
        if per_file is None:
            not_in_report.append(path)
        lines = statements[path] if path in statements else {n for n in added if n in (per_file or {})}
        absent = {n for n in lines if n not in (per_file or {})}
        missed = absent | {n for n in lines - absent if not (per_file or {})[n]}
        executable += len(lines)
        covered += len(lines) - len(missed)
        if missed:
            uncovered[path] = line_ranges(missed)
        if absent:
            absent_lines[path] = line_ranges(absent)
    percent = round(100.0 * covered / executable, 2) if executable else None
    return DiffCoverage(percent, covered, executable, uncovered, not_in_report, absent_lines)


def _unmeasured(name: str, candidate: SuiteRun) -> GateCheck | None:
    if not candidate.ok:
        return GateCheck(name=name, passed=False, reason=f"not measured: {candidate.error}")
    if candidate.coverage is None:
        return GateCheck(
            name=name, passed=False, reason=f"not measured: {candidate.coverage_error or 'no coverage report'}"
        )
    return None


def check_diff_coverage(
    changes: ChangeSet, candidate: SuiteRun, gate: CoverageGate, statements: dict[str, set[int]]
) -> tuple[GateCheck, float | None]:
    if not gate.enabled:
        return waived_check("diff_coverage", DISABLED), None
    failure = _unmeasured("diff_coverage", candidate)
    if failure:
        return failure, None
    m = measure_diff_coverage(changes, candidate, statements)
    details = {
        "covered_lines": m.covered,
        "executable_lines": m.executable,
        "target": gate.target,
        "uncovered": m.uncovered,
        "not_in_report": m.not_in_report,
        "lines_not_in_report": m.lines_not_in_report,
    }
    if m.percent is None:
        return GateCheck(
            name="diff_coverage", passed=True, reason="no executable source line changed", details=details
        ), None
    summary = f"{m.percent:.1f}% of {m.executable} changed executable lines covered"
    if m.percent + 1e-9 < gate.target:
        where = "; ".join(f"{p} lines {', '.join(r[:8])}" for p, r in list(m.uncovered.items())[:3])
        reason = f"{summary}, below the target {gate.target:g}%: uncovered {where}"
        if m.lines_not_in_report:
            absent = "; ".join(f"{p} lines {', '.join(r[:8])}" for p, r in list(m.lines_not_in_report.items())[:3])
            reason += (
                f" (missing from the coverage report, so counted as uncovered: {absent}; "
                "excluded by configuration or a pragma, or never imported by the tests)"
            )
        return GateCheck(name="diff_coverage", passed=False, reason=reason, details=details), m.percent
    return GateCheck(
        name="diff_coverage", passed=True, reason=f"{summary} (target {gate.target:g}%)", details=details
    ), m.percent


def check_total_coverage(baseline: Baseline, candidate: SuiteRun, gate: CoverageGate) -> GateCheck:
    if not gate.enabled:
        return waived_check("total_coverage", DISABLED)
    failure = _unmeasured("total_coverage", candidate)
    if failure:
        return failure
    after = candidate.coverage.total_percent() if candidate.coverage else None
    if after is None:
        reason = "not measured: the candidate's coverage report lists no executable line"
        return GateCheck(name="total_coverage", passed=False, reason=reason)
    if not baseline.ok or baseline.total_coverage is None:
        why = baseline.error or baseline.coverage_error or "the base commit's coverage report lists no executable line"
        return GateCheck(name="total_coverage", passed=False, reason=f"no baseline to compare with: {why}")
    before = baseline.total_coverage
    drop = round(before - after, 2)
    details = {"base": before, "candidate": after, "tolerance": gate.total_drop_tolerance}
    if drop > gate.total_drop_tolerance:
        return GateCheck(
            name="total_coverage",
            passed=False,
            details=details,
            reason=f"total coverage dropped {drop:.2f} points ({before:.1f}% → {after:.1f}%), "
            f"more than the tolerance {gate.total_drop_tolerance:g}",
        )
    return GateCheck(name="total_coverage", passed=True, details=details, reason=f"{before:.1f}% → {after:.1f}%")
