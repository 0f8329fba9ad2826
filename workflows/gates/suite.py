"""Running the repository's own test commands in a sandbox and reading their results back.

Results come only from files the command writes in this run: stale JUnit and coverage files
are removed (inside the sandbox, so a planted symlink cannot point the removal elsewhere)
right before the command starts.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from sandboxes.base import ExecResult, Sandbox, SandboxError
from workflows.gates.coverage_report import CoverageData, parse_coverage
from workflows.gates.evidence_check import EvidenceRun, Record, forged
from workflows.gates.hygiene import describe, workspace_problems
from workflows.gates.junit import TestCase, parse_junit, written_by_pytest
from workflows.gates.timeouts import TestTimeout, ceiling
from workflows.gates.untrusted_xml import ResultsFileError
from workflows.gitops import GitRepo
from workflows.repo_config import RepoConfig

TAIL_LINES = 40
PYTEST_CONFIGS = (
    ("pytest.toml", b""),
    (".pytest.toml", b""),
    ("pytest.ini", b""),
    (".pytest.ini", b""),
    ("pyproject.toml", b"[tool.pytest"),
    ("tox.ini", b"[pytest]"),
    ("setup.cfg", b"[tool:pytest]"),
)
"""Files pytest takes its configuration from, in its own order, with the section that makes them count."""


def output_tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass
class SuiteRun:
    """One run of a test command and what could be read from it."""

    label: str
    cases: dict[str, TestCase] = field(default_factory=dict)
    error: str = ""
    """Why the results cannot be used (timed out, no JUnit, malformed…); empty when usable."""
    output_tail: str = ""
    exit_code: int = 0
    coverage: CoverageData | None = None
    coverage_error: str = ""
    duration_s: float = 0.0
    """Wall-clock time of the test command."""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def failing(self) -> list[TestCase]:
        return [c for c in self.cases.values() if c.failing]


def prepare_workspace(
    sandbox: Sandbox, repo: GitRepo, sha: str, config: RepoConfig, overlay: dict[str, bytes] | None = None
) -> str | None:
    """Check out ``sha``, write ``overlay`` files (path → content) over it, run setup, check hygiene.

    Returns a one-line reason (with the output tail appended) when setup fails or left the
    workspace unsafe to test (``hygiene.workspace_problems``), else None."""
    repo.checkout(sha, sandbox.host_workspace)
    for path, data in (overlay or {}).items():
        sandbox.write_file(path, data)
    if config.setup:
        results = sandbox.run_setup(config.setup)
        if results and not results[-1].ok:
            failed = config.setup[len(results) - 1] if len(results) <= len(config.setup) else "setup"
            last = results[-1]
            return f"setup command `{failed}` {last.describe_failure()}:\n{output_tail(last.output)}"
    problems = workspace_problems(sandbox.host_workspace)
    if problems:
        return f"refused before running tests: {describe(problems)}"
    return None


def _with_fresh_outputs(command: str, outputs: list[str]) -> str:
    dirs = sorted({posixpath.dirname(p) for p in outputs if posixpath.dirname(p)})
    prep = f"rm -f -- {' '.join(shlex.quote(p) for p in outputs)}"
    if dirs:
        prep = f"mkdir -p -- {' '.join(shlex.quote(d) for d in dirs)} && {prep}"
    return f"{prep}; {command}"


def _read(sandbox: Sandbox, path: str, what: str, result: ExecResult) -> bytes:
    try:
        return sandbox.read_file(path)
    except (SandboxError, OSError) as exc:
        outcome = "exited 0" if result.ok else result.describe_failure()
        why = "" if "no such file" in str(exc) else f": {exc}"
        raise ResultsFileError(f"{what} {path} was not written by the test command (it {outcome}){why}") from None


def _has_own_pytest_config(sandbox: Sandbox) -> bool:
    for name, section in PYTEST_CONFIGS:
        try:
            text = sandbox.read_file(name)
        except (SandboxError, OSError):
            continue
        if section in text:
            return True
    return False


def _tampering(cases: dict[str, TestCase], record: Record, by_pytest: bool) -> str:
    if record.tampering:
        more = f" (and {len(record.tampering) - 1} more)" if len(record.tampering) > 1 else ""
        return f"{record.tampering[0]}{more}"
    if by_pytest and cases and record.cut_short():
        return record.cut_short()
    failed, unrecorded = forged(cases, record, by_pytest=by_pytest)

    def listed(keys: list[str]) -> str:
        return ", ".join(keys[:10]) + (f" (and {len(keys) - 10} more)" if len(keys) > 10 else "")

    if failed:
        return f"the JUnit XML reports {len(failed)} test(s) passed that failed when run: {listed(failed)}"
    if unrecorded:
        return (
            f"the JUnit XML reports {len(unrecorded)} test(s) passed that the gate's record of the run "
            f"does not hold (the record was cut short): {listed(unrecorded)}"
        )
    return ""


def pinned_test_env(sandbox: Sandbox) -> dict[str, str]:
    """Environment that makes test ids independent of where the workspace lives.

    pytest names a test after its path from the *rootdir*, which it infers by walking up from
    the workspace; on a host-process backend that walk can reach a configuration file above
    the workspace (a checkout's own ``pyproject.toml``) and every id then carries the
    workspace's path. The root is pinned to the workspace, conftest files above it are cut
    off, and when the repository has no pytest configuration of its own an empty one is named
    so none is borrowed from a parent directory. Harmless for other test runners."""
    opts = [f"--rootdir={sandbox.workdir}", f"--confcutdir={sandbox.workdir}"]
    if not _has_own_pytest_config(sandbox):
        opts += ["-c", "/dev/null"]
    return {"PYTEST_ADDOPTS": " ".join(shlex.quote(o) for o in opts)}


def run_tests(
    sandbox: Sandbox,
    command: str,
    config: RepoConfig,
    *,
    label: str,
    tracked: set[str],
    with_coverage: bool,
    timeout: TestTimeout | None = None,
    changed_hooks: dict[str, set[str]] | None = None,
) -> SuiteRun:
    """Run ``command`` (the suite or a selection) and parse its JUnit (and coverage) output.

    ``timeout``: the run's limit (default: the ceiling, ``test.timeout_s``). ``changed_hooks``: the
    change's Python files and the hooks their base defines (``EvidenceRun.env``)."""
    test = config.test
    limit = timeout or ceiling(config)
    outputs = [test.junit] + ([test.coverage.path] if with_coverage else [])
    evidence = EvidenceRun.install(sandbox)
    try:
        result = sandbox.exec(
            _with_fresh_outputs(command, outputs),
            timeout_s=limit.seconds,
            env=evidence.env(sandbox, pinned_test_env(sandbox), config.gates.pytest_plugins, changed_hooks),
        )
        record = evidence.read(sandbox)
    finally:
        evidence.remove(sandbox)
    run = SuiteRun(
        label=label, exit_code=result.exit_code, output_tail=output_tail(result.output), duration_s=result.duration_s
    )
    if result.timed_out:
        run.error = f"{label}: test command timed out after {limit.describe()} and was killed"
        return run
    if result.oom_killed:
        run.error = f"{label}: test command was killed: out of memory (sandbox memory limit)"
        return run
    try:
        raw_junit = _read(sandbox, test.junit, "JUnit XML", result)
        run.cases = parse_junit(raw_junit, test.junit, workdirs=[sandbox.workdir, str(sandbox.host_workspace)])
    except ResultsFileError as exc:
        run.error = f"{label}: {exc}"
        return run
    tampering = _tampering(run.cases, record, written_by_pytest(raw_junit))
    if tampering:
        run.error = f"{label}: tampering with the test evidence: {tampering}"
        return run
    if not run.cases:
        outcome = "it exited 0" if result.ok else f"it {result.describe_failure()}"
        run.error = f"{label}: the test command ran no tests (JUnit XML {test.junit} lists none; {outcome})"
        return run
    if with_coverage:
        try:
            raw = _read(sandbox, test.coverage.path, f"coverage report ({test.coverage.format})", result)
            run.coverage = parse_coverage(
                raw,
                test.coverage.format,
                test.coverage.path,
                tracked=tracked,
                workdirs=[sandbox.workdir, str(sandbox.host_workspace)],
            )
        except ResultsFileError as exc:
            run.coverage_error = str(exc)
    return run
