"""Telling a flaky test from an order-dependent regression.

A test that fails in the suite and passes when run alone is no proof of flakiness: it may
pass only because the tests that ran before it, and left state behind, did not run. So a
failing test is rerun with the tests that preceded it, in the suite's order (the JUnit XML
lists tests in the order they ran): first those of its own file, and if it passes there, the
whole run up to it. Only a test that passes both ways counts as flaky.
"""

from __future__ import annotations

from sandboxes.base import Sandbox
from workflows.gates.baseline import Baseline
from workflows.gates.evidence import EXPECTED_ERRORS, GateInputs
from workflows.gates.junit import TestCase, locate, node_id
from workflows.gates.suite import SuiteRun, run_tests


def ordered_rerun_command(inp: GateInputs, order: list[TestCase], targets: list[TestCase], *, whole_run: bool) -> str:
    """The select command running ``targets`` after the tests that ran before them, in the run's order.

    ``whole_run``: every test before the last target; otherwise only those in the targets'
    files. Falls back to the whole suite when the runner cannot name the tests."""
    tracked = inp.changes.tracked_candidate
    keys = {c.key for c in targets}
    last = max(i for i, c in enumerate(order) if c.key in keys)
    where = {c.key: locate(c, tracked) for c in order[: last + 1]}
    prefix = order[: last + 1]
    if not whole_run:
        files = {w[0] for c in targets if (w := where.get(c.key))}
        prefix = [c for c in prefix if (w := where[c.key]) and w[0] in files]
    if inp.config.test.select_granularity == "test":
        ids = [node_id(c, tracked) for c in prefix]
        if prefix and all(ids):
            return inp.select_command(list(dict.fromkeys(i for i in ids if i)))
    files_in_order = [w[0] for c in prefix if (w := where[c.key])]
    if prefix and len(files_in_order) == len(prefix):
        return inp.select_command(list(dict.fromkeys(files_in_order)))
    return inp.config.test.command  # the runner cannot name these tests: rerun the suite


def _passing(inp: GateInputs, box: Sandbox, command: str, targets: dict[str, TestCase], label: str) -> set[str] | None:
    try:
        run: SuiteRun = run_tests(
            box,
            command,
            inp.config,
            label=label,
            tracked=inp.changes.tracked_candidate,
            with_coverage=False,
            timeout=inp.timeout,
            changed_hooks=inp.changed_hooks,
        )
    except EXPECTED_ERRORS:
        return None
    if not run.ok:
        return None
    return {k for k in targets if k in run.cases and run.cases[k].outcome == "passed"}


def rerun_failures(inp: GateInputs, box: Sandbox, baseline: Baseline, candidate: SuiteRun) -> set[str]:
    """Keys of tests that failed on the candidate (and did not fail on base) but pass when rerun
    after the same tests, in the same order, as in the candidate's run."""
    order = list(candidate.cases.values())
    remaining = {
        k: c
        for k, c in candidate.cases.items()
        if c.failing and not (k in baseline.cases and baseline.cases[k].failing)
    }
    flaky: set[str] = set()
    for attempt in range(inp.config.gates.reruns):
        if not remaining:
            break
        label = f"rerun {attempt + 1}"
        own_file = ordered_rerun_command(inp, order, list(remaining.values()), whole_run=False)
        passed = _passing(inp, box, own_file, remaining, f"{label} (with the tests before them in their files)")
        if passed is None:
            break
        if passed:
            subset = {k: remaining[k] for k in passed}
            whole = ordered_rerun_command(inp, order, list(subset.values()), whole_run=True)
            if whole != own_file:
                passed = _passing(inp, box, whole, subset, f"{label} (with every test that ran before them)") or set()
        for key in passed:
            flaky.add(key)
            del remaining[key]
    return flaky
