"""``shipyard doctor``: the repository's configuration proven in a real sandbox, with the fix for each problem.

It does what every job's gate will do on the base commit — setup, the whole suite with JUnit
and coverage — and once more to find flaky tests, then stores that baseline where the gate
looks for it, so the first job starts warm.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from orchestrator.onboarding.inspect import InspectError, fetch_branch, tracked_paths
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.paths import resolved_path
from orchestrator.store.tables import Repository
from orchestrator.worker.sandboxing import sandbox_provider
from sandboxes.base import Sandbox, SandboxError, SandboxSpec
from sandboxes.environments.gate_tools import describe as gate_tooling
from workflows.gates import baseline as baseline_cache
from workflows.gates.baseline import Baseline
from workflows.gates.suite import SuiteRun, prepare_workspace, run_tests
from workflows.gitops import GitRepo
from workflows.nodes.prepare import config_source
from workflows.repo_config import CONFIG_FILE, ConfigError, RepoConfig, parse_repo_config

MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
MISSING_COMMAND = re.compile(r"(?:bash: (?:line \d+: )?)?([\w.+-]+): command not found")
NO_NETWORK = (
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Failed to establish a new connection",
    "Could not resolve host",
    "getaddrinfo ENOTFOUND",
    "EAI_AGAIN",
)


PROXY_REFUSED = (
    "Tunnel connection failed: 403",
    "shipyard setup proxy: refused",
    "CONNECT tunnel failed, response 403",
)


class DoctorError(ValueError):
    """The repository cannot be checked at all; the message says why."""


@dataclass
class Finding:
    """One thing checked: ``ok`` or a problem, and for a problem the exact fix."""

    ok: bool
    what: str
    fix: str = ""
    warning: bool = False
    """A problem that does not stop jobs (failing or flaky tests on the base) but needs a look."""


@dataclass
class DoctorReport:
    repo: str
    base_sha: str = ""
    backend: str = ""
    config_source: str = ""
    findings: list[Finding] = field(default_factory=list)
    setup_s: float | None = None
    suite_s: float | None = None
    tests: int = 0
    baseline_path: Path | None = None
    env_key: str = ""
    """The repository environment's key (empty: no setup)."""
    env_cached: bool | None = None
    """True when the environment came from the cache, False when setup built it."""
    env_s: float | None = None
    """Time to build it (or to start from the cache)."""

    @property
    def ok(self) -> bool:
        return all(f.ok or f.warning for f in self.findings)

    def add(self, ok: bool, what: str, fix: str = "", *, warning: bool = False) -> None:
        self.findings.append(Finding(ok, what, fix, warning))

    def to_dict(self) -> dict:
        return {"repo": self.repo, "ok": self.ok, "base_sha": self.base_sha, "backend": self.backend,
                "config_source": self.config_source, "setup_s": self.setup_s, "suite_s": self.suite_s,
                "tests": self.tests, "baseline": str(self.baseline_path) if self.baseline_path else None,
                "environment": {"key": self.env_key, "cached": self.env_cached, "seconds": self.env_s},
                "findings": [f.__dict__ for f in self.findings]}  # fmt: skip


def _pip_for(config: RepoConfig) -> str:
    venv = next((cmd.split()[-1] for cmd in config.setup if " -m venv " in cmd), None)
    # The repository's own environment is ``python`` in every sandbox.
    return f"{venv}/bin/python -m pip install" if venv else "python -m pip install"


def diagnose(output: str, config: RepoConfig, image: str) -> list[str]:
    """The fixes an output points at: missing modules, missing commands, no network."""
    fixes = []
    for module in sorted(set(MISSING_MODULE.findall(output))):
        top = module.split(".")[0]
        fixes.append(f"tests import `{top}`, which is not installed in the sandbox: add it to setup "
                     f"(`{_pip_for(config)} {top}`, or list it in the project's test dependencies)")  # fmt: skip
    for command in sorted(set(MISSING_COMMAND.findall(output))):
        fixes.append(f"`{command}` is not available in the sandbox image {image}: name an image that has it "
                     f"(sandbox.image or sandbox.dockerfile) or install it in setup")  # fmt: skip
    if any(marker in output for marker in PROXY_REFUSED):
        fixes.append(
            "setup asked for a host the bwrap setup proxy refuses (an address of this host or of a private "
            "network): commit the packages as wheels and install them with `--find-links`, name an image that "
            "has them, or use the Docker backend"
        )
    elif any(marker in output for marker in NO_NETWORK):
        fixes.append(
            "setup could not reach the network: set `sandbox.network: setup` (network only while setup runs)"
            if config.sandbox.network == "none"
            else "setup could not reach the package registry from the sandbox: check the host's own access to it"
        )
    return fixes


def _result_fix(run: SuiteRun, config: RepoConfig) -> str:
    junit = config.test.junit
    if "timed out" in run.error:
        return f"the suite needs longer than test.timeout_s ({config.test.timeout_s:.0f}s): raise it"
    if "ran no tests" in run.error:
        return "no tests ran: check that test.command runs the committed tests (and test_globs names them)"
    if "JUnit" in run.error:
        return (f"make test.command write JUnit XML to {junit}: pytest `--junitxml={junit}`; node --test "
                f"`--test-reporter=junit --test-reporter-destination={junit}`; jest: jest-junit")  # fmt: skip
    return "see the output above"


def _load_config(git: GitRepo, sha: str, stored: str | None, report: DoctorReport) -> RepoConfig:
    text, name, report.config_source = config_source(git.show_file(sha, CONFIG_FILE), stored)
    if text is None:
        report.add(
            False,
            f"no configuration: neither a committed {CONFIG_FILE} nor a stored one",
            f"run `shipyard init {report.repo}` to propose one",
        )
        return RepoConfig()
    try:
        config = parse_repo_config(text, name)
    except ConfigError as exc:
        raise DoctorError(f"invalid configuration: {exc}") from None
    report.add(True, f"configuration: {report.config_source}")
    return config


def _spec(settings: Settings, config: RepoConfig, name: str) -> SandboxSpec:
    return SandboxSpec(image=config.sandbox.image or settings.sandbox_image, network=config.sandbox.network,
                       memory_mb=config.sandbox.memory_mb, cpus=config.sandbox.cpus, pids=config.sandbox.pids,
                       disk_mb=config.sandbox.disk_mb,
                       command_timeout_s=config.test.timeout_s, labels={"shipyard.doctor": name})  # fmt: skip


def _fetch(url: str, branch: str, scratch: Path) -> tuple[GitRepo, str]:
    try:
        return fetch_branch(url, branch, scratch / "git")
    except InspectError as exc:
        raise DoctorError(str(exc)) from None


def _fetch_github(full: str, branch: str, scratch: Path, report: DoctorReport) -> tuple[GitRepo, str]:
    """Fetch over HTTPS with the configured credentials, then check their permissions on ``full``."""
    from orchestrator.forges import ForgeConfigError, github_forge
    from orchestrator.forges.local_git import ForgeError
    from orchestrator.onboarding.github_access import app_findings, token_findings

    try:
        forge = github_forge()
        sha = forge.fetch_branch(full, branch, scratch / "git")
    except (ForgeConfigError, ForgeError) as exc:
        raise DoctorError(f"{full}: cannot fetch branch {branch!r} from GitHub: {exc}") from None
    git = GitRepo(scratch / "git")
    findings = (
        app_findings(forge.settings, full)
        if forge.settings.app_id is not None
        else token_findings(forge, full, git.git_dir, sha)
    )
    for f in findings:
        report.add(f.ok, f.what, f.fix, warning=f.warning)
    return git, sha


def _suite_findings(report: DoctorReport, first: SuiteRun, second: SuiteRun, config: RepoConfig, image: str) -> None:
    report.tests = len(first.cases)
    failing = sorted(c.key for c in first.failing)
    report.add(
        True, f"test suite: {report.tests} tests in {report.suite_s:.1f}s, JUnit XML read from {config.test.junit}"
    )
    if failing:
        fixes = diagnose(first.output_tail + "".join(c.detail for c in first.failing), config, image)
        report.add(
            False,
            f"{len(failing)} test(s) fail on the base commit: {', '.join(failing[:10])}",
            "; ".join(fixes) or "fix them or mark them: the gate only holds the agent to tests that pass on the base",
            warning=not fixes,
        )
    if config.gates.coverage.enabled:
        if first.coverage is None:
            cov = config.test.coverage
            report.add(
                False,
                f"coverage: {first.coverage_error}",
                f"make test.command write a {cov.format} report to {cov.path} "
                f"(pytest: `--cov=. --cov-report=xml:{cov.path}`; node --test: `--experimental-test-coverage "
                f"--test-reporter=lcov --test-reporter-destination={cov.path}`), or set gates.coverage.enabled: false",
            )
        else:
            report.add(True, f"coverage: {first.coverage.total_percent():.1f}% total ({config.test.coverage.format})")
    flaky = sorted(k for k, c in first.cases.items() if k in second.cases and second.cases[k].outcome != c.outcome)
    if flaky:
        report.add(
            False,
            f"flaky: {len(flaky)} test(s) changed outcome on a rerun: {', '.join(flaky[:10])}",
            "make them deterministic; until then the gate reruns failures and reports them as flaky",
            warning=True,
        )
    else:
        report.add(True, "no flaky tests found on a rerun")


def _check_in_sandbox(
    report: DoctorReport, box: Sandbox, git: GitRepo, config: RepoConfig, image: str
) -> Baseline | None:
    started = time.monotonic()
    failure = prepare_workspace(box, git, report.base_sha, config)
    report.setup_s = time.monotonic() - started
    if failure:
        report.add(False, f"setup: {failure}", "; ".join(diagnose(failure, config, image)) or "fix the setup commands")
        return None
    report.add(
        True, f"setup: {len(config.setup)} command(s) in {report.setup_s:.1f}s" if config.setup else "setup: none"
    )
    env = box.environment_report
    if env is not None:
        report.env_key, report.env_cached, report.env_s = env.key, env.cached, env.seconds
        files = ", ".join(env.files[:8]) + (f" (and {len(env.files) - 8} more)" if len(env.files) > 8 else "")
        report.add(True, f"{env.describe()}; keyed on the setup commands and {files or 'no dependency file'}")
    report.add(True, f"the gate's own test tooling, read-only in the sandbox: {gate_tooling()}")
    tracked = tracked_paths(git, report.base_sha)
    coverage = config.gates.coverage.enabled
    first = run_tests(box, config.test.command, config, label="suite", tracked=tracked, with_coverage=coverage)
    report.suite_s = first.duration_s
    if not first.ok:
        fixes = diagnose(first.output_tail, config, image)
        report.add(
            False,
            first.error + (f"\n{first.output_tail}" if first.output_tail else ""),
            "; ".join(fixes) or _result_fix(first, config),
        )
        return None
    second = run_tests(box, config.test.command, config, label="rerun", tracked=tracked, with_coverage=False)
    _suite_findings(report, first, second, config, image)
    return Baseline.from_run(first)


def run_doctor(
    settings: Settings, store: Store, repo_name: str, progress: Callable[[str], None] = lambda _m: None
) -> DoctorReport:
    """Check repository ``repo_name`` end to end; raises ``DoctorError`` when it cannot be checked at all."""
    with store.session() as s:
        repo = s.scalar(select(Repository).where(Repository.name == repo_name))
        if repo is None:
            raise DoctorError(f"repository {repo_name!r} is not registered (see `shipyard init`)")
        url, branch, stored = repo.url, repo.base_branch, repo.config_yaml
        url = url if repo.forge == "github" else resolved_path(settings.data_dir, url)
        forge = repo.forge
    report = DoctorReport(repo=repo_name)
    with tempfile.TemporaryDirectory(prefix="shipyard-doctor-") as scratch:
        progress(f"fetching {url} ({branch})")
        if forge == "github":
            git, report.base_sha = _fetch_github(url, branch, Path(scratch), report)
        else:
            git, report.base_sha = _fetch(url, branch, Path(scratch))
        config = _load_config(git, report.base_sha, stored, report)
        spec = _spec(settings, config, repo_name)
        try:
            provider = sandbox_provider(settings)
            box = provider.acquire(spec)
        except SandboxError as exc:
            report.add(False, f"sandbox: {exc}", "start the Docker engine, or install bubblewrap for the local backend")
            return report
        report.backend = box.backend
        progress(f"running setup and the suite twice in a {box.backend} sandbox ({spec.image})")
        try:
            baseline = _check_in_sandbox(report, box, git, config, spec.image)
        finally:
            box.close()
    if baseline is not None and report.ok:
        path = baseline_cache.cache_path(settings.cache_dir, report.base_sha, config, spec.image)
        with baseline_cache.single_flight(path):
            baseline_cache.save(path, baseline)
        report.baseline_path = path
        report.add(True, f"baseline stored for {report.base_sha[:12]}: the first job on this commit starts warm")
    return report
