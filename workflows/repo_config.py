"""Per-repository configuration: ``.shipyard.yml`` at the repository root.

It lives beside the workflow (not in ``orchestrator``) because the workflow reads it from
the checked-out workspace at the base commit; the agent's edits to it never apply to the
job that made them (and the file is protected by the gate).

Every error names the file, the key and the reason::

    ConfigError(".shipyard.yml: gates.coverage.target: must be between 0 and 100, got 120")
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

CONFIG_FILE = ".shipyard.yml"


class ConfigError(ValueError):
    """Invalid configuration; the message is ``file: key: reason``."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoverageFile(_Section):
    format: Literal["cobertura", "lcov"] = "cobertura"
    """Report format the test command writes."""
    path: str = ".shipyard/coverage.xml"
    """Where the test command writes it, relative to the repository root."""


class TestConfig(_Section):
    command: str = (
        "python -m pytest -q -p no:cacheprovider --junitxml=.shipyard/junit.xml "
        "--cov=. --cov-report=xml:.shipyard/coverage.xml --cov-context=test"
    )
    """Runs the whole suite, writing JUnit XML and a coverage report (Python default: pytest + coverage.py;
    ``--cov-context=test`` records which test ran each line, shown beside the diff's lines)."""
    select_command: str = "python -m pytest -q -p no:cacheprovider --junitxml=.shipyard/junit.xml {tests}"
    """Runs only the named tests (``{tests}`` becomes space-separated test ids); used by fail-to-pass."""
    junit: str = ".shipyard/junit.xml"
    """JUnit XML file the test commands write."""
    coverage: CoverageFile = Field(default_factory=CoverageFile)
    timeout_s: float = Field(default=900, gt=0)
    """Wall-clock limit for one run of the suite; a hang is reported as "timed out"."""
    test_globs: list[str] = Field(
        default_factory=lambda: [
            "tests/**",
            "test/**",
            "**/test_*.py",
            "**/*_test.py",
            "**/*.test.js",
            "**/*.spec.js",
            "**/*.test.ts",
        ]
    )
    """Paths that count as test files (everything else is source for diff coverage)."""
    select_granularity: Literal["test", "file"] = "test"
    """What ``{tests}`` in ``select_command`` receives: ``test``: pytest-style ids
    (``tests/test_x.py::TestCls::test_name``, derived from JUnit); ``file``: the test files
    themselves, for runners that select by file (``node --test``, ``go test``)."""


class CoverageGate(_Section):
    target: float = Field(default=90.0, ge=0, le=100)
    """Minimum share (%) of changed executable source lines that the suite covers."""
    total_drop_tolerance: float = Field(default=0.5, ge=0, le=100)
    """Total coverage may drop by at most this many percentage points."""
    enabled: bool = True
    """False for a repository whose test command writes no coverage report: both coverage
    checks are then skipped and the gate report says so."""


class ExtraGate(_Section):
    name: str
    """Shown in the gate report, e.g. ``lint``."""
    command: str
    """Must exit 0 on the candidate."""


class GateTimeout(_Section):
    factor: float = Field(default=3.0, ge=1)
    """A candidate's test run may take this many times the baseline's duration…"""
    margin_s: float = Field(default=60.0, ge=0)
    """…plus this many seconds."""
    floor_s: float = Field(default=60.0, gt=0)
    """Never less than this; never more than ``test.timeout_s``, the ceiling."""


class GatesConfig(_Section):
    coverage: CoverageGate = Field(default_factory=CoverageGate)
    require_tests: bool = True
    """The change must add or change tests that fail on the base code and pass on the candidate."""
    waive_tests_for_kinds: list[Literal["bug", "feature", "docs", "chore"]] = Field(
        default_factory=lambda: ["docs", "chore"]
    )
    """Ticket kinds for which the tests-added and fail-to-pass gates are waived when the change touches
    no executable source (a change to code needs tests whatever the ticket's kind)."""
    timeout: GateTimeout = Field(default_factory=GateTimeout)
    """How long a test run on the candidate may take, derived from the baseline run."""
    reruns: int = Field(default=2, ge=0, le=10)
    """A test failing on the candidate is rerun this often; passing on a rerun marks it flaky."""
    protected_paths: list[str] = Field(default_factory=list)
    """Extra glob patterns the change must not touch (added to the built-in list)."""
    allow_paths: list[str] = Field(default_factory=list)
    """Glob patterns of paths a change may touch although protected by default (e.g. ``tests/__init__.py``).

    Only the rules that refuse a path for its name or contents (protected paths, plugins, hooks) are
    waived for these paths; ``.shipyard.yml`` itself can never be allowed. Review such changes by hand."""
    allow_coverage_pragmas: bool = False
    """Newly added coverage-exclusion pragmas (``pragma: no cover``, ``istanbul ignore``…) fail the gate unless set."""
    pytest_plugins: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")]] = Field(
        default_factory=lambda: ["pytest_cov"]
    )
    """Installed pytest plugins the gate's test runs load (each passed as ``-p name``); no other
    installed plugin loads (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), so a package's entry point cannot
    change results. The default loads pytest-cov for the default test command's ``--cov``."""
    extra: list[ExtraGate] = Field(default_factory=list)
    """Named commands (lint, type check) that must exit 0."""
    max_diff_lines: int = Field(default=2000, ge=1)
    """Largest change (added + deleted lines) the gate accepts; a bigger one is unreviewable."""
    max_file_mb: float = Field(default=50, gt=0)
    """Largest file (MB) the candidate's tree may hold; a bigger one is refused before any test runs."""
    allow_binary_files: bool = False
    """Binary files in the change fail the gate unless this is set (their content cannot be reviewed)."""


class SandboxConfig(_Section):
    image: str | None = None
    """Image name to run in; default: the Shipyard Python sandbox image."""
    dockerfile: str | None = None
    """Path (in the repository) of a Dockerfile to build the image from, cached by its hash."""
    network: Literal["none", "setup"] = "none"
    """``none``: never any network. ``setup``: network only while setup commands run."""
    memory_mb: int = Field(default=2048, ge=64)
    cpus: float = Field(default=1.0, gt=0)
    pids: int = Field(default=256, ge=16)
    disk_mb: int = Field(default=4096, ge=32, le=1024 * 1024)
    """Disk quota in MB: the workspace (and a host-process sandbox's home) is a filesystem of this
    size, so filling it fails the attempt ("disk quota exceeded") and never the host's disk."""


class AgentConfig(_Section):
    max_attempts: int = Field(default=3, ge=1, le=10)
    """Code attempts before the job is blocked."""
    max_steps: int = Field(default=40, ge=1)
    """Tool calls per attempt."""
    plan_approval: Literal["never", "always", "medium_and_above", "high"] = "never"
    """Which ticket complexities need a human to approve the plan before coding."""
    models: dict[Literal["triage", "plan", "code", "summarize"], str] = Field(default_factory=dict)
    """Per-role model overrides (role → catalogue name); the roles are the steps that call a model."""


class PullRequestConfig(_Section):
    draft: bool = False
    """On forges with draft pull requests (GitHub): open the PR as a draft after the first attempt,
    whatever its gate says, and mark it ready for review once the gate passes. Off: the PR opens
    only after the gate passes."""


class QueueConfig(_Section):
    max_running_jobs: int | None = Field(default=None, ge=1)
    """Jobs of this repository worked at once (other repositories' jobs take the free workers).
    None: the deployment's ``SHIPYARD_REPO_MAX_RUNNING_JOBS``; ``shipyard jobs cap REPO N`` wins
    over both. Workers learn it when a job reads this file (or ``shipyard init`` stores it)."""


class RepoConfig(_Section):
    base_branch: str = "main"
    setup: list[str] = Field(default_factory=list)
    """Commands run once in the sandbox before the agent starts (dependency installation)."""
    test: TestConfig = Field(default_factory=TestConfig)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    pull_request: PullRequestConfig = Field(default_factory=PullRequestConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)


def _problem(error: dict) -> str:
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    msg = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    got = error.get("input")
    tail = "" if error["type"] in ("extra_forbidden", "missing") or isinstance(got, (dict, list)) else f", got {got!r}"
    return f"{key}: {msg}{tail}"


def _format_error(source: str, err: ValidationError) -> str:
    """Every problem, each with its key: a file with three mistakes is fixed in one go."""
    return f"{source}: " + "; ".join(_problem(e) for e in err.errors())


def parse_repo_config(text: str, source: str = CONFIG_FILE) -> RepoConfig:
    """Parse ``.shipyard.yml`` text; raises ``ConfigError`` naming file, key and reason."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(unparseable)"
        raise ConfigError(f"{source}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): must be a mapping of keys, got {type(data).__name__}")
    try:
        return RepoConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from None


def load_repo_config(repo_root: Path) -> RepoConfig:
    """Load ``.shipyard.yml`` from a checked-out repository (defaults when it is absent)."""
    path = repo_root / CONFIG_FILE
    if not path.is_file():
        return RepoConfig()
    return parse_repo_config(path.read_text(encoding="utf-8", errors="replace"), CONFIG_FILE)
