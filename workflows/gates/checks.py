"""The gate rules: each turns evidence (the change, test runs, coverage) into one ``GateCheck``.

Policy lives here and only here; ``runner`` gathers the evidence. A check that cannot be
evaluated (a suite that timed out, a missing report) fails with the reason: the gate never
passes what it could not verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandboxes.base import ExecResult
from workflows.gates.baseline import Baseline
from workflows.gates.change_set import ChangeSet
from workflows.gates.junit import TestCase, display_id
from workflows.gates.protected import Violation
from workflows.gates.report import GateCheck
from workflows.gates.suite import SuiteRun, output_tail
from workflows.repo_config import GatesConfig

MAX_LISTED = 5


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def _failing_tests(cases: list[TestCase], tracked: set[str]) -> list[dict[str, str]]:
    return [{"id": display_id(c, tracked), "message": c.message, "detail": c.detail} for c in cases]


def line_ranges(lines: set[int] | list[int]) -> list[str]:
    """``{3, 4, 5, 9}`` → ``["3-5", "9"]``."""
    out: list[str] = []
    for n in sorted(lines):
        if out and n == int(out[-1].split("-")[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return out


def check_change(changes: ChangeSet, gates: GatesConfig) -> GateCheck:
    details = {"files": len(changes.files), "lines_added": changes.lines_added, "lines_deleted": changes.lines_deleted}
    if not changes.files:
        return GateCheck(name="change", passed=False, reason="the candidate changes nothing relative to the base", details=details)
    if changes.binary_files and not gates.allow_binary_files:
        return GateCheck(
            name="change", passed=False, details={**details, "binary_files": changes.binary_files},
            reason=f"binary files in the change cannot be reviewed: {_listing(changes.binary_files)} (gates.allow_binary_files is off)",
        )
    if changes.lines_changed > gates.max_diff_lines:
        return GateCheck(
            name="change", passed=False, details=details,
            reason=f"the change is too large to review: {changes.lines_changed} changed lines, limit {gates.max_diff_lines} (gates.max_diff_lines)",
        )
    return GateCheck(
        name="change", passed=True, details=details,
        reason=f"{len(changes.files)} files changed, +{changes.lines_added} −{changes.lines_deleted} lines",
    )


def check_protected(violations: list[Violation]) -> GateCheck:
    if not violations:
        return GateCheck(name="protected_paths", passed=True, reason="no protected path, test file or test marker touched")
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return GateCheck(
        name="protected_paths", passed=False, reason=f"{first.path}: {first.reason}{more}",
        details={"violations": [{"path": v.path, "reason": v.reason} for v in violations]},
    )


def _suite_failure(name: str, run: SuiteRun | Baseline, prefix: str = "") -> GateCheck:
    return GateCheck(name=name, passed=False, reason=prefix + run.error, details={"output_tail": run.output_tail})


def check_regressions(baseline: Baseline, candidate: SuiteRun, flaky: set[str], tracked: set[str]) -> GateCheck:
    """Tests passing on base still pass; no new test fails; failures that passed on a rerun are flaky."""
    if not baseline.ok:
        return _suite_failure("no_regressions", baseline, "baseline could not be established: ")
    if not candidate.ok:
        return _suite_failure("no_regressions", candidate)
    cand = candidate.cases
    broken, vanished, skipped, new_failing = [], [], [], []
    for key, before in baseline.cases.items():
        if before.outcome != "passed":
            continue
        after = cand.get(key)
        if after is None:
            vanished.append(before)
        elif after.outcome == "skipped":
            skipped.append(after)
        elif after.failing and key not in flaky:
            broken.append(after)
    new_failing = [c for k, c in cand.items() if c.failing and k not in baseline.cases and k not in flaky]
    flaky_ids = sorted(display_id(cand[k], tracked) for k in flaky if k in cand)
    details = {
        "failing_tests": _failing_tests(broken + new_failing, tracked),
        "no_longer_run": [display_id(c, tracked) for c in vanished],
        "now_skipped": [display_id(c, tracked) for c in skipped],
        "flaky": flaky_ids,
        "pre_existing_failures": [display_id(c, tracked) for k, c in cand.items() if c.failing and k in baseline.cases and baseline.cases[k].failing],
    }
    problems = []
    if broken:
        problems.append(f"{len(broken)} test(s) that pass on base fail: {_listing([display_id(c, tracked) for c in broken])}")
    if new_failing:
        problems.append(f"{len(new_failing)} new test(s) fail: {_listing([display_id(c, tracked) for c in new_failing])}")
    if vanished:
        problems.append(f"{len(vanished)} test(s) that pass on base no longer run: {_listing(details['no_longer_run'])}")
    if skipped:
        problems.append(f"{len(skipped)} test(s) that pass on base are now skipped: {_listing(details['now_skipped'])}")
    if problems:
        return GateCheck(name="no_regressions", passed=False, reason="; ".join(problems), details=details)
    if candidate.exit_code != 0 and not candidate.failing:
        return GateCheck(
            name="no_regressions", passed=False, details={**details, "output_tail": candidate.output_tail},
            reason=f"the test command exited with status {candidate.exit_code} although its JUnit XML lists no failing test",
        )
    passed = sum(1 for c in cand.values() if c.outcome == "passed")
    note = f" ({len(flaky_ids)} flaky: {_listing(flaky_ids)})" if flaky_ids else ""
    return GateCheck(name="no_regressions", passed=True, reason=f"{passed} tests pass; every test passing on base still passes{note}", details=details)


def waived_check(name: str, reason: str) -> GateCheck:
    return GateCheck(name=name, passed=True, waived=True, reason=reason)


def check_tests_added(changes: ChangeSet, test_globs: list[str]) -> GateCheck:
    files = changes.changed_test_files
    if not files:
        return GateCheck(
            name="tests_added", passed=False,
            reason=f"the change adds or changes no test file (test files match test.test_globs: {', '.join(test_globs)})",
        )
    return GateCheck(name="tests_added", passed=True, reason=f"{len(files)} test file(s) added or changed: {_listing(files)}", details={"files": files})


@dataclass
class FailToPassEvidence:
    """The new/changed tests as run on the candidate, and the same tests run on the base code."""

    on_candidate: list[TestCase] = field(default_factory=list)
    on_base: SuiteRun | None = None
    error: str = ""
    """Why the evidence could not be gathered."""
    output_tail: str = ""


def check_fail_to_pass(evidence: FailToPassEvidence, tracked: set[str]) -> GateCheck:
    name = "fail_to_pass"
    if evidence.error:
        return GateCheck(name=name, passed=False, reason=evidence.error, details={"output_tail": evidence.output_tail})
    selected = evidence.on_candidate
    if not selected:
        return GateCheck(name=name, passed=False, reason="the added or changed test files contain no test that ran on the candidate")
    ids = [display_id(c, tracked) for c in selected]
    broken = [c for c in selected if c.outcome != "passed"]
    if broken:
        return GateCheck(
            name=name, passed=False, details={"failing_tests": _failing_tests(broken, tracked)},
            reason=f"{len(broken)} of {len(selected)} new/changed tests do not pass on the candidate: {_listing([display_id(c, tracked) for c in broken])}",
        )
    base = evidence.on_base
    assert base is not None
    if not base.ok:
        return GateCheck(name=name, passed=False, reason=f"could not run the new tests on the base code: {base.error}", details={"output_tail": base.output_tail})
    failing_on_base = [display_id(c, tracked) for c in base.failing]
    if not failing_on_base:
        return GateCheck(
            name=name, passed=False, details={"passing_on_base": ids},
            reason=f"all {len(selected)} new/changed tests already pass on the base code, so none of them tests the change: {_listing(ids)}",
        )
    return GateCheck(
        name=name, passed=True, details={"fail_on_base": failing_on_base, "tests": ids},
        reason=f"{len(failing_on_base)} new/changed test(s) fail on the base code and all {len(selected)} pass on the candidate",
    )


def check_extra(name: str, command: str, result: ExecResult | None, error: str = "") -> GateCheck:
    if result is None or error:
        return GateCheck(name=f"extra:{name}", passed=False, reason=error or f"`{command}` did not run")
    if result.ok:
        return GateCheck(name=f"extra:{name}", passed=True, reason=f"`{command}` exited 0")
    return GateCheck(
        name=f"extra:{name}", passed=False, details={"output_tail": output_tail(result.output)},
        reason=f"`{command}` {result.describe_failure()}",
    )
