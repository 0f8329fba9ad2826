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
from workflows.gates.hygiene import Problem, describe
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
        reason = "the candidate changes nothing relative to the base"
        return GateCheck(name="change", passed=False, reason=reason, details=details)
    if changes.binary_files and not gates.allow_binary_files:
        return GateCheck(
            name="change",
            passed=False,
            details={**details, "binary_files": changes.binary_files},
            reason=f"binary files in the change cannot be reviewed: {_listing(changes.binary_files)} "
            "(gates.allow_binary_files is off)",
        )
    if changes.lines_changed > gates.max_diff_lines:
        return GateCheck(
            name="change",
            passed=False,
            details=details,
            reason=f"the change is too large to review: {changes.lines_changed} changed lines, "
            f"limit {gates.max_diff_lines} (gates.max_diff_lines)",
        )
    return GateCheck(
        name="change",
        passed=True,
        details=details,
        reason=f"{len(changes.files)} file(s) changed, +{changes.lines_added} −{changes.lines_deleted} lines",
    )


def check_protected(violations: list[Violation]) -> GateCheck:
    if not violations:
        return GateCheck(
            name="protected_paths", passed=True, reason="no protected path, test file or test marker touched"
        )
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return GateCheck(
        name="protected_paths",
        passed=False,
        reason=f"{first.path}: {first.reason}{more}",
        details={"violations": [{"path": v.path, "reason": v.reason} for v in violations]},
    )


def check_workspace(problems: list[Problem]) -> GateCheck:
    """Fails with the first problem (path and reason) when the tree is unsafe to run tests in."""
    if not problems:
        return GateCheck(name="workspace", passed=True, reason="no escaping symlink or oversized file")
    return GateCheck(
        name="workspace",
        passed=False,
        reason=f"refused before running tests: {describe(problems)}",
        details={"problems": [{"path": p.path, "reason": p.reason} for p in problems]},
    )


def _suite_failure(name: str, run: SuiteRun | Baseline, prefix: str = "") -> GateCheck:
    return GateCheck(name=name, passed=False, reason=prefix + run.error, details={"output_tail": run.output_tail})


def _compare_runs(baseline: Baseline, candidate: SuiteRun, flaky: set[str]) -> dict[str, list[TestCase]]:
    cand = candidate.cases
    found: dict[str, list[TestCase]] = {
        "broken": [],
        "vanished": [],
        "skipped": [],
        "new_failing": [],
        "pre_existing": [],
    }
    for key, before in baseline.cases.items():
        after = cand.get(key)
        if after is None:
            if before.outcome != "skipped":
                found["vanished"].append(before)
        elif before.outcome == "passed" and after.outcome == "skipped":
            found["skipped"].append(after)
        elif before.outcome == "passed" and after.failing and key not in flaky:
            found["broken"].append(after)
        elif before.failing and after.failing:
            found["pre_existing"].append(after)
    found["new_failing"] = [c for k, c in cand.items() if c.failing and k not in baseline.cases and k not in flaky]
    return found


def check_regressions(baseline: Baseline, candidate: SuiteRun, flaky: set[str], tracked: set[str]) -> GateCheck:
    """Tests passing on base still pass, none is deleted or newly skipped, no new test fails.

    Failures that passed on a rerun are flaky: reported, not counted."""
    if not candidate.ok:
        return _suite_failure("no_regressions", candidate)
    if not baseline.ok:
        return _suite_failure("no_regressions", baseline, "baseline could not be established: ")
    found = _compare_runs(baseline, candidate, flaky)
    ids = {kind: [display_id(c, tracked) for c in cases] for kind, cases in found.items()}
    flaky_ids = sorted(display_id(candidate.cases[k], tracked) for k in flaky if k in candidate.cases)
    details = {
        "failing_tests": _failing_tests(found["broken"] + found["new_failing"], tracked),
        "no_longer_run": ids["vanished"],
        "now_skipped": ids["skipped"],
        "flaky": flaky_ids,
        "pre_existing_failures": ids["pre_existing"],
    }
    problems = [
        f"{len(ids[kind])} {text}: {_listing(ids[kind])}"
        for kind, text in (
            ("broken", "test(s) that pass on base fail"),
            ("new_failing", "new test(s) fail"),
            ("vanished", "existing test(s) no longer run (deleted or renamed)"),
            ("skipped", "test(s) that pass on base are now skipped"),
        )
        if ids[kind]
    ]
    if problems:
        return GateCheck(name="no_regressions", passed=False, reason="; ".join(problems), details=details)
    if candidate.exit_code != 0 and not candidate.failing:
        return GateCheck(
            name="no_regressions",
            passed=False,
            details={**details, "output_tail": candidate.output_tail},
            reason=(
                f"the test command exited with status {candidate.exit_code} "
                "although its JUnit XML lists no failing test"
            ),
        )
    passed = sum(1 for c in candidate.cases.values() if c.outcome == "passed")
    note = f" ({len(flaky_ids)} flaky: {_listing(flaky_ids)})" if flaky_ids else ""
    reason = f"{passed} tests pass; every test passing on base still passes{note}"
    return GateCheck(name="no_regressions", passed=True, reason=reason, details=details)


def waived_check(name: str, reason: str) -> GateCheck:
    return GateCheck(name=name, passed=True, waived=True, reason=reason)


def check_tests_added(changes: ChangeSet, test_globs: list[str]) -> GateCheck:
    files = changes.changed_test_files
    if not files:
        return GateCheck(
            name="tests_added",
            passed=False,
            reason=(
                f"the change adds or changes no test file (test files match test.test_globs: {', '.join(test_globs)})"
            ),
        )
    reason = f"{len(files)} test file(s) added or changed: {_listing(files)}"
    return GateCheck(name="tests_added", passed=True, reason=reason, details={"files": files})


@dataclass
class FailToPassEvidence:
    """The new/changed tests as run on the candidate, and the same tests run on the base code."""

    on_candidate: list[TestCase] = field(default_factory=list)
    on_base: SuiteRun | None = None
    error: str = ""
    """Why the evidence could not be gathered."""
    output_tail: str = ""


def check_fail_to_pass(
    evidence: FailToPassEvidence, tracked: set[str], *, flaky: set[str], baseline_keys: set[str]
) -> GateCheck:
    """At least one new/changed test fails on the base code and passes on the candidate; none fails there.

    Tests that failed on the candidate and then passed on a rerun count as passing (they are
    reported as flaky by ``no_regressions``). A test skipped on the candidate (a platform or an
    optional dependency) proves nothing either way: it is left out, and when any is, a test that
    fails on the base code must be one that ran (a test that passed on the base code and is now
    skipped is a regression, for ``no_regressions``)."""
    name = "fail_to_pass"
    if evidence.error:
        return GateCheck(name=name, passed=False, reason=evidence.error, details={"output_tail": evidence.output_tail})
    ran = [c for c in evidence.on_candidate if c.outcome != "skipped"]
    skipped = len(evidence.on_candidate) - len(ran)
    skipped_note = f" ({skipped} skipped on the candidate, which prove nothing)" if skipped else ""
    if not ran:
        reason = f"the added or changed test files contain no test that ran on the candidate{skipped_note}"
        return GateCheck(name=name, passed=False, reason=reason)
    broken = [c for c in ran if c.outcome != "passed" and c.key not in flaky]
    if broken:
        return GateCheck(
            name=name,
            passed=False,
            details={"failing_tests": _failing_tests(broken, tracked)},
            reason=f"{len(broken)} of {len(ran)} new/changed tests do not pass on the candidate: "
            f"{_listing([display_id(c, tracked) for c in broken])}",
        )
    base = evidence.on_base
    if base is None or not base.ok:
        why = base.error if base is not None else "no run"
        return GateCheck(
            name=name,
            passed=False,
            reason=f"could not run the new tests on the base code: {why}",
            details={"output_tail": base.output_tail if base else ""},
        )
    failing_on_base = [display_id(c, tracked) for c in base.failing]
    if not failing_on_base:
        new = [display_id(c, tracked) for c in ran if c.key not in baseline_keys]
        shown = f"new tests: {_listing(new)}" if new else "no test is new"
        return GateCheck(
            name=name,
            passed=False,
            details={"passing_on_base": new or [display_id(c, tracked) for c in ran]},
            reason=(
                "every test in the changed test files already passes on the base code, "
                f"so none tests the change ({shown})"
            ),
        )
    if skipped and not _fails_on_base(ran, set(failing_on_base), tracked):
        return GateCheck(
            name=name,
            passed=False,
            details={"fail_on_base": failing_on_base, "tests": [display_id(c, tracked) for c in ran]},
            reason=(
                f"the tests that fail on the base code ({_listing(failing_on_base)}) are skipped on the candidate, "
                "and every test that ran there already passes on the base code, so none tests the change"
            ),
        )
    return GateCheck(
        name=name,
        passed=True,
        details={"fail_on_base": failing_on_base, "tests": [display_id(c, tracked) for c in ran]},
        reason=f"{len(failing_on_base)} new/changed test(s) fail on the base code ({_listing(failing_on_base)}); "
        f"all {len(ran)} pass on the candidate{skipped_note}",
    )


def _fails_on_base(ran: list[TestCase], failing_on_base: set[str], tracked: set[str]) -> bool:
    """One of ``ran`` failed on the base code, by its own id or its whole file (not importable there)."""
    ids = (display_id(c, tracked) for c in ran)
    return any(i in failing_on_base or i.split("::", 1)[0] in failing_on_base for i in ids)


def check_extra(name: str, command: str, result: ExecResult | None, error: str = "") -> GateCheck:
    if result is None or error:
        return GateCheck(name=f"extra:{name}", passed=False, reason=error or f"`{command}` did not run")
    if result.ok:
        return GateCheck(name=f"extra:{name}", passed=True, reason=f"`{command}` exited 0")
    return GateCheck(
        name=f"extra:{name}",
        passed=False,
        details={"output_tail": output_tail(result.output)},
        reason=f"`{command}` {result.describe_failure()}",
    )
