"""``run_gates``: the orchestrator's verdict on a candidate commit.

Cost is kept near one plain run of the suite: the baseline is cached per base SHA; one
full candidate run yields regressions and coverage together; fail-to-pass runs only the
new/changed tests on the base code, in a sandbox prepared while the candidate suite runs,
and reuses the candidate run's JUnit for the candidate side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sandboxes.base import Sandbox, SandboxProvider, SandboxSpec
from workflows.gates import baseline as baseline_cache
from workflows.gates import evidence as ev
from workflows.gates import line_tests, timeouts
from workflows.gates.baseline import Baseline
from workflows.gates.change_set import ChangeSet, read_change_set
from workflows.gates.checks import (
    FailToPassEvidence,
    check_change,
    check_extra,
    check_fail_to_pass,
    check_protected,
    check_regressions,
    check_tests_added,
    check_workspace,
    waived_check,
)
from workflows.gates.collection_guard import base_hooks_of_changed_files
from workflows.gates.coverage_checks import check_diff_coverage, check_total_coverage
from workflows.gates.coverage_pragmas import check_coverage_pragmas
from workflows.gates.executable_lines import changed_statements
from workflows.gates.hygiene import tree_problems
from workflows.gates.junit import cases_in_files
from workflows.gates.protected import Violation, allowed, find_violations
from workflows.gates.report import GateCheck, GateReport
from workflows.gates.reruns import rerun_failures
from workflows.gates.source_rules import check_dynamic_code, check_test_identity, shadowing_findings
from workflows.gates.suite import SuiteRun
from workflows.gates.waivers import Waiver, tests_waiver
from workflows.gitops import GitError, GitRepo
from workflows.repo_config import RepoConfig

EventSink = Callable[[str, str], None]


def run_gates(
    *,
    repo: GitRepo,
    base_sha: str,
    candidate_sha: str,
    config: RepoConfig,
    ticket_kind: str,
    sandboxes: SandboxProvider,
    spec: SandboxSpec,
    cache_dir: Path,
    on_event: EventSink | None = None,
) -> GateReport:
    """Verify ``candidate_sha`` against ``base_sha`` in fresh sandboxes; never raises for bad input."""
    started = time.monotonic()
    emit = on_event or (lambda kind, message: None)
    emit("gate", f"checking {candidate_sha[:12]} against base {base_sha[:12]}")
    try:
        changes = read_change_set(repo, base_sha, candidate_sha, config.test.test_globs)
        violations = find_violations(repo, changes, config.gates.protected_paths, config.gates.allow_paths)
        violations += [Violation(f.path, f.reason) for f in shadowing_findings(changes)]
        identity, dynamic = check_test_identity(repo, changes), check_dynamic_code(repo, changes)
        pragmas = check_coverage_pragmas(repo, changes, allow=config.gates.allow_coverage_pragmas)
        statements = changed_statements(repo, changes)
        waiver = tests_waiver(repo, changes, config, ticket_kind)
        problems = tree_problems(repo, candidate_sha, int(config.gates.max_file_mb * 2**20))
    except GitError as exc:
        check = GateCheck(name="change", passed=False, reason=f"could not read the change from git: {exc}")
        return GateReport(
            passed=False,
            checks=[check],
            duration_s=time.monotonic() - started,
            base_sha=base_sha,
            candidate_sha=candidate_sha,
        )
    static = [check_change(changes, config.gates), check_protected(violations), pragmas, identity, dynamic]
    if problems:
        # Nothing runs in a tree that could hang or crawl the sandbox: refuse it before any test.
        check = check_workspace(problems)
        emit("gate", f"failed: {check.reason}"[:500])
        return GateReport(
            passed=False,
            checks=[*static, check],
            duration_s=round(time.monotonic() - started, 2),
            base_sha=base_sha,
            candidate_sha=candidate_sha,
        )
    pool = ev.SandboxPool(sandboxes, spec)
    inputs = ev.GateInputs(
        repo=repo,
        changes=changes,
        config=config,
        pool=pool,
        cache_dir=cache_dir,
        statements=statements,
        changed_hooks=base_hooks_of_changed_files(repo, changes, lambda p: allowed(p, config.gates.allow_paths)),
    )
    try:
        report = _GateRun(inputs, waiver, emit).run()
    finally:
        pool.close_all()
    report.checks[:0] = static
    report.passed = all(c.passed for c in report.checks)
    report.duration_s = round(time.monotonic() - started, 2)
    coverage = f" (diff coverage {report.diff_coverage:.0f}%)" if report.diff_coverage is not None else ""
    emit("gate", f"passed{coverage}" if report.passed else "failed: " + "; ".join(report.failed_reasons())[:500])
    return report


class _GateRun:
    """One gate evaluation: gathers evidence (concurrently where independent) and applies the checks.

    Events are emitted from the calling thread only, so ``on_event`` need not be thread-safe.
    The candidate sandbox is used by this thread only, one command at a time."""

    def __init__(self, inputs: ev.GateInputs, waiver: Waiver, emit: EventSink) -> None:
        self.inp, self.waiver, self.refused, self.emit = inputs, waiver.reason, waiver.refused, emit
        self.changes: ChangeSet = inputs.changes
        self.needs_f2p = (
            waiver.reason is None and bool(self.changes.changed_test_files) and bool(self.changes.changed_source_files)
        )

    def run(self) -> GateReport:
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="gate") as pool:
            baseline_future = self._start_baseline(pool)
            known = baseline_future.duration_s if isinstance(baseline_future, Baseline) else None
            self.inp.timeout = self.candidate_timeout = timeouts.derived(self.inp.config, known)
            early_files = ev.likely_test_modules(self.inp) if self.needs_f2p else []
            on_base = pool.submit(ev.new_tests_on_base, self.inp, early_files) if self.needs_f2p else None
            # On a clean checkout of the candidate in a sandbox of their own: never on a workspace
            # the suite (code under test) has already run in and could have rewritten.
            extras_future = pool.submit(ev.run_extra_gates, self.inp) if self.inp.config.gates.extra else None
            if early_files:
                self.emit("gate", f"fail-to-pass: running {len(early_files)} new/changed test file(s) on the base code")
            self.emit("gate", f"candidate: running the test suite (limit {self.candidate_timeout.describe()})")
            cand_box, candidate = ev.run_candidate(self.inp)
            self.emit("gate", f"candidate: {_describe(candidate)}")
            f2p = self._fail_to_pass(candidate, cand_box, on_base, early_files) if on_base else None
            # Before reruns and extra gates touch the sandbox: the suite's coverage data is still its own.
            self.line_tests = line_tests.gather(cand_box, candidate.ok and f2p is not None, self.changes)
            baseline = baseline_future.result() if isinstance(baseline_future, Future) else baseline_future
            self.emit("gate", f"baseline: {_describe(baseline)}")
            if baseline.ok:
                self.inp.timeout = timeouts.derived(self.inp.config, baseline.duration_s)
            flaky = self._reruns(cand_box, baseline, candidate)
            extras = self._extra_gates(extras_future)
        return self._report(baseline, candidate, flaky, f2p, extras)

    def _start_baseline(self, pool: ThreadPoolExecutor) -> Future[Baseline] | Baseline:
        cached = baseline_cache.load(ev.baseline_path(self.inp))
        if cached is not None:
            self.emit("gate", f"baseline: cached ({len(cached.cases)} tests on {self.changes.base_sha[:12]})")
            return cached
        self.emit("gate", f"baseline: running the suite on {self.changes.base_sha[:12]} (not cached)")
        return pool.submit(ev.establish_baseline, self.inp)

    def _fail_to_pass(
        self, candidate: SuiteRun, cand_box: Sandbox | None, on_base: Future, early_files: list[str]
    ) -> FailToPassEvidence:
        """The new tests' results on the candidate (its full run, when its JUnit names their
        files) and on the base code (the early run, or a precise selection if it missed a file)."""
        if not candidate.ok:
            return FailToPassEvidence(error=f"not checked: {candidate.error}")
        changed = set(self.changes.changed_test_files)
        located = cases_in_files(candidate.cases.values(), changed, self.changes.tracked_candidate)
        files = ev.new_test_files(self.inp, located)
        if located:
            on_candidate = located
        else:
            assert cand_box is not None  # a usable candidate run had a sandbox
            self.emit("gate", "fail-to-pass: running the new/changed test files on the candidate")
            cand_run = ev.run_selection(self.inp, cand_box, files, on_base=False)
            if not cand_run.ok:
                return FailToPassEvidence(error=cand_run.error, output_tail=cand_run.output_tail)
            on_candidate = list(cand_run.cases.values())
        base_box, base_run = on_base.result()
        if base_box is not None and (base_run is None or not set(files) <= set(early_files)):
            args = ev.precise_selection(self.inp, located)
            self.emit("gate", f"fail-to-pass: running {len(args)} selected test(s) on the base code")
            base_run = ev.run_selection(self.inp, base_box, args, on_base=True)
        return FailToPassEvidence(on_candidate=on_candidate, on_base=base_run)

    def _why_no_fail_to_pass(self) -> str:
        if not self.changes.changed_test_files:
            return "no new or changed test to run"
        return (
            "the change touches only test files, so no test can fail on the base code; "
            "a bug or feature change must change the code its tests check"
        )

    def _reruns(self, box: Sandbox | None, baseline: Baseline, candidate: SuiteRun) -> set[str]:
        if (
            box is None
            or not candidate.ok
            or not baseline.ok
            or not candidate.failing
            or not self.inp.config.gates.reruns
        ):
            return set()
        self.emit(
            "gate",
            f"rerunning {len(candidate.failing)} failing test(s) up to {self.inp.config.gates.reruns} time(s), "
            "after the tests that ran before them, in the suite's order",
        )
        return rerun_failures(self.inp, box, baseline, candidate)

    def _extra_gates(self, future: Future[list[ev.ExtraRun]] | None) -> list[GateCheck]:
        checks = []
        for run in future.result() if future is not None else []:
            self.emit("gate", f"extra gate {run.name}: `{run.command}` (on a clean checkout of the candidate)")
            checks.append(check_extra(run.name, run.command, run.result, run.error))
        return checks

    def _report(
        self,
        baseline: Baseline,
        candidate: SuiteRun,
        flaky: set[str],
        f2p: FailToPassEvidence | None,
        extras: list[GateCheck],
    ) -> GateReport:
        tracked = self.changes.tracked_candidate | self.changes.tracked_base  # deleted tests keep their ids
        gates = self.inp.config.gates
        checks = [check_regressions(baseline, candidate, flaky, tracked)]
        if self.waiver:
            checks += [waived_check("tests_added", self.waiver), waived_check("fail_to_pass", self.waiver)]
        else:
            checks.append(check_tests_added(self.changes, self.inp.config.test.test_globs))
            checks.append(
                check_fail_to_pass(f2p, tracked, flaky=flaky, baseline_keys=set(baseline.cases))
                if f2p is not None
                else GateCheck(name="fail_to_pass", passed=False, reason=self._why_no_fail_to_pass())
            )
            for check in checks[-2:]:
                if self.refused and not check.passed:
                    check.reason = f"{check.reason}; {self.refused}"
        diff_check, diff_pct = check_diff_coverage(self.changes, candidate, gates.coverage, self.inp.statements)
        checks += [diff_check, check_total_coverage(baseline, candidate, gates.coverage), *extras]
        line_tests.attach(checks, getattr(self, "line_tests", {}))
        return GateReport(
            passed=False,
            checks=checks,
            diff_coverage=diff_pct,
            total_coverage_base=baseline.total_coverage,
            total_coverage_candidate=candidate.coverage.total_percent() if candidate.coverage else None,
            flaky_tests=list(checks[0].details.get("flaky", [])),
            base_sha=self.changes.base_sha,
            candidate_sha=self.changes.candidate_sha,
            base_error=None if baseline.ok else baseline.error,
            test_timeout_s=self.candidate_timeout.seconds,
            test_timeout_basis=self.candidate_timeout.basis,
        )


def _describe(run: SuiteRun | Baseline) -> str:
    if not run.ok:
        return run.error
    failing = sum(1 for c in run.cases.values() if c.failing)
    return f"{len(run.cases)} tests, {failing} failing"
