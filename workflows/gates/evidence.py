"""Gathering the gate's evidence in sandboxes: baseline, candidate suite, fail-to-pass, reruns.

Each stage takes a fresh sandbox (closed by ``SandboxPool.close_all``) and returns data;
expected failures (a sandbox that cannot start, a git error, setup that fails) come back
as reasons in that data, never as exceptions.
"""

from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from sandboxes.base import ExecResult, Sandbox, SandboxError, SandboxProvider, SandboxSpec
from workflows.gates import baseline as baseline_cache
from workflows.gates.baseline import Baseline
from workflows.gates.change_set import ChangeSet
from workflows.gates.junit import TestCase, locate, node_id
from workflows.gates.suite import SuiteRun, prepare_workspace, run_tests
from workflows.gates.timeouts import TestTimeout
from workflows.gitops import GitError, GitRepo
from workflows.repo_config import RepoConfig

EXPECTED_ERRORS = (SandboxError, GitError, OSError)
"""Failures of the environment that become a gate reason; anything else is a bug and propagates."""


class SandboxPool:
    """Every sandbox the gate acquires, so all are closed however the gate ends."""

    def __init__(self, provider: SandboxProvider, spec: SandboxSpec) -> None:
        self.provider, self.spec = provider, spec
        self._open: list[Sandbox] = []
        self._lock = threading.Lock()

    def acquire(self) -> Sandbox:
        box = self.provider.acquire(self.spec)
        with self._lock:
            self._open.append(box)
        return box

    def close_all(self) -> None:
        with self._lock:
            boxes, self._open = self._open, []
        for box in boxes:
            try:
                box.close()
            except Exception:  # noqa: BLE001 — closing the others matters more than this error
                pass


@dataclass
class GateInputs:
    repo: GitRepo
    changes: ChangeSet
    config: RepoConfig
    pool: SandboxPool
    cache_dir: Path
    statements: dict[str, set[int]] = field(default_factory=dict)
    """Changed Python source file → the executable statements the change touches (diff coverage)."""
    timeout: TestTimeout | None = None
    """Limit of each test run on the candidate (``timeouts.derived``); None: the ceiling."""
    changed_hooks: dict[str, set[str]] = field(default_factory=dict)
    """Python file the change adds or modifies → the pytest hooks its base version defines."""

    @property
    def coverage_on(self) -> bool:
        return self.config.gates.coverage.enabled

    def select_command(self, args: list[str]) -> str:
        quoted = " ".join(shlex.quote(a) for a in args)
        template = self.config.test.select_command
        return template.replace("{tests}", quoted) if "{tests}" in template else f"{template} {quoted}"


def baseline_path(inp: GateInputs) -> Path:
    return baseline_cache.cache_path(inp.cache_dir, inp.changes.base_sha, inp.config, inp.pool.spec.image)


def establish_baseline(inp: GateInputs) -> Baseline:
    """Run the suite on the base commit in its own sandbox and cache the usable result.

    Single-flight: a concurrent gate on the same base waits and takes the cached result."""
    with baseline_cache.single_flight(baseline_path(inp)):
        cached = baseline_cache.load(baseline_path(inp))
        return cached if cached is not None else _run_baseline(inp)


def _whole_suite(
    inp: GateInputs,
    box: Sandbox,
    *,
    label: str,
    tracked: set[str],
    timeout: TestTimeout | None = None,
    changed_hooks: dict[str, set[str]] | None = None,
) -> SuiteRun:
    """The repository's test command in ``box``, with coverage when the gate measures it."""
    return run_tests(
        box,
        inp.config.test.command,
        inp.config,
        label=label,
        tracked=tracked,
        with_coverage=inp.coverage_on,
        timeout=timeout,
        changed_hooks=changed_hooks,
    )


def _run_baseline(inp: GateInputs) -> Baseline:
    label = f"baseline on {inp.changes.base_sha[:12]}"
    try:
        box = inp.pool.acquire()
        try:
            failure = prepare_workspace(box, inp.repo, inp.changes.base_sha, inp.config)
            if failure:
                return Baseline(error=f"{label}: {failure}")
            run = _whole_suite(inp, box, label=label, tracked=inp.changes.tracked_base)
        finally:
            box.close()
    except EXPECTED_ERRORS as exc:
        return Baseline(error=f"{label}: {exc}")
    result = Baseline.from_run(run)
    baseline_cache.save(baseline_path(inp), result)
    return result


def run_candidate(inp: GateInputs) -> tuple[Sandbox | None, SuiteRun]:
    """The full suite with coverage on the candidate; the sandbox stays open for reruns and extras."""
    label = "candidate suite"
    try:
        box = inp.pool.acquire()
        failure = prepare_workspace(box, inp.repo, inp.changes.candidate_sha, inp.config)
        if failure:
            return None, SuiteRun(label=label, error=f"{label}: {failure}")
        return box, _whole_suite(
            inp,
            box,
            label=label,
            tracked=inp.changes.tracked_candidate,
            timeout=inp.timeout,
            changed_hooks=inp.changed_hooks,
        )
    except EXPECTED_ERRORS as exc:
        return None, SuiteRun(label=label, error=f"{label}: {exc}")


PYTEST_MODULE_PATTERNS = ("test_*.py", "*_test.py")
"""Test files worth running on their own before the candidate's JUnit says which files hold tests."""


def likely_test_modules(inp: GateInputs) -> list[str]:
    """Changed test files to run on the base code while the candidate suite still runs.

    ``file`` granularity runs every changed test file; ``test`` granularity (pytest) only
    those named like test modules, not conftest.py or fixtures."""
    changed = inp.changes.changed_test_files
    if inp.config.test.select_granularity == "file":
        return changed
    return [p for p in changed if any(fnmatch(p.rsplit("/", 1)[-1], pat) for pat in PYTEST_MODULE_PATTERNS)]


def new_tests_on_base(inp: GateInputs, files: list[str]) -> tuple[Sandbox | None, SuiteRun | None]:
    """A sandbox with the base code and the candidate's test files laid over it; runs ``files`` there.

    Returns the sandbox (for a later, more precise selection) and the run (None when
    ``files`` is empty); a sandbox or setup failure comes back as a failed run."""
    label = "new tests on the base code"
    overlay = {}
    for path in inp.changes.changed_test_files:
        data = inp.repo.show_file(inp.changes.candidate_sha, path)
        if data is not None:
            overlay[path] = data
    try:
        box = inp.pool.acquire()
        failure = prepare_workspace(box, inp.repo, inp.changes.base_sha, inp.config, overlay)
    except EXPECTED_ERRORS as exc:
        return None, SuiteRun(label=label, error=f"{label}: {exc}")
    if failure:
        return None, SuiteRun(label=label, error=f"{label}: {failure}")
    return box, (run_selection(inp, box, files, on_base=True) if files else None)


def new_test_files(inp: GateInputs, located: list[TestCase]) -> list[str]:
    """The changed test files that hold the located tests (all changed test files if none located)."""
    tracked = inp.changes.tracked_candidate
    return sorted({where[0] for c in located if (where := locate(c, tracked))}) or inp.changes.changed_test_files


def precise_selection(inp: GateInputs, located: list[TestCase]) -> list[str]:
    """Test ids of ``located`` for a pytest-style select command, else their files."""
    tracked = inp.changes.tracked_candidate
    if inp.config.test.select_granularity == "test":
        ids = [node_id(c, tracked) for c in located]
        if located and all(ids):
            return list(dict.fromkeys(i for i in ids if i))
    return new_test_files(inp, located)


def run_selection(inp: GateInputs, box: Sandbox, args: list[str], *, on_base: bool) -> SuiteRun:
    """Run only the selected tests/files, on the base code (with the new tests) or on the candidate."""
    where = "base code" if on_base else "candidate"
    tracked = (
        inp.changes.tracked_base | set(inp.changes.changed_test_files) if on_base else inp.changes.tracked_candidate
    )
    try:
        return run_tests(
            box,
            inp.select_command(args),
            inp.config,
            label=f"new tests on the {where}",
            tracked=tracked,
            with_coverage=False,
            timeout=inp.timeout,
            changed_hooks=inp.changed_hooks,
        )
    except EXPECTED_ERRORS as exc:
        return SuiteRun(label=f"new tests on the {where}", error=f"new tests on the {where}: {exc}")


@dataclass
class ExtraRun:
    """One extra gate's command and what it did (``result`` None with ``error`` when it could not run)."""

    name: str
    command: str
    result: ExecResult | None = None
    error: str = ""


def run_extra_gates(inp: GateInputs) -> list[ExtraRun]:
    """Every ``gates.extra`` command, in a fresh sandbox holding a clean checkout of the candidate
    (after the repository's setup), so what they judge is the committed code and nothing else."""
    runs = [ExtraRun(extra.name, extra.command) for extra in inp.config.gates.extra]
    try:
        box = inp.pool.acquire()
        failure = prepare_workspace(box, inp.repo, inp.changes.candidate_sha, inp.config)
    except EXPECTED_ERRORS as exc:
        failure = str(exc)
    if failure:
        for run in runs:
            run.error = f"not run: the clean checkout of the candidate could not be prepared: {failure}"
        return runs
    for run in runs:
        try:
            run.result = box.exec(run.command, timeout_s=inp.config.test.timeout_s)
        except EXPECTED_ERRORS as exc:
            run.error = f"could not run: {exc}"
    return runs
