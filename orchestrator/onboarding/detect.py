"""What a repository is built and tested with, read from its files, as a proposed ``.shipyard.yml``.

Only the committed tree of the base branch is read (never the user's uncommitted work), and
nothing in it is executed: this is text inspection. ``shipyard doctor`` then runs the proposal
for real.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from workflows.repo_config import RepoConfig

PYTEST = "python -m pytest -q -p no:cacheprovider --junitxml=.shipyard/junit.xml"
"""``python`` is the repository's own environment in every sandbox; pytest and pytest-cov are the gate's."""
REQUIREMENT_FILES = (
    "requirements.txt",
    "requirements-dev.txt",
    "requirements-test.txt",
    "requirements_dev.txt",
    "requirements_test.txt",
    "dev-requirements.txt",
    "test-requirements.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
)
TEST_EXTRAS = ("test", "tests", "testing", "dev")
GATE_TOOLS = {"pytest", "pytest-cov", "coverage"}
"""Supplied by the gate in every sandbox at its own versions: never installed by setup."""
LOCKFILES = (
    ("pnpm-lock.yaml", "pnpm install --frozen-lockfile"),
    ("yarn.lock", "yarn install --frozen-lockfile"),
    ("package-lock.json", "npm ci"),
    ("npm-shrinkwrap.json", "npm ci"),
)
NODE_JUNIT = "--test-reporter=junit --test-reporter-destination=.shipyard/junit.xml"
NODE_LCOV = "--test-reporter=lcov --test-reporter-destination=.shipyard/lcov.info"


@dataclass
class RepoFiles:
    """The committed files of one tree: their paths and a way to read one."""

    paths: set[str]
    read: Callable[[str], str]

    def text(self, path: str) -> str:
        return self.read(path) if path in self.paths else ""


@dataclass
class Proposal:
    """A proposed configuration and, line by line, why each part was chosen."""

    layout: str
    config: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def validated(self) -> RepoConfig:
        return RepoConfig.model_validate(self.config)

    def to_yaml(self) -> str:
        header = "".join(f"# {line}\n" for line in [f"Proposed by `shipyard init` ({self.layout}).", *self.reasons])
        return header + yaml.safe_dump(self.config, sort_keys=False, width=100)


def _toml(files: RepoFiles, path: str) -> dict:
    try:
        return tomllib.loads(files.text(path))
    except tomllib.TOMLDecodeError:
        return {}


def _ini(files: RepoFiles, path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(files.text(path))
    except configparser.Error:
        pass
    return parser


def _python_extra(pyproject: dict, setup_cfg: configparser.ConfigParser) -> str | None:
    extras = set(pyproject.get("project", {}).get("optional-dependencies", {}))
    if setup_cfg.has_section("options.extras_require"):
        extras |= set(setup_cfg.options("options.extras_require"))
    return next((name for name in TEST_EXTRAS if name in extras), None)


def _tox_extra(tox: configparser.ConfigParser) -> str | None:
    if not tox.has_option("testenv", "extras"):
        return None
    extras = [e.strip() for e in re.split(r"[,\s]+", tox.get("testenv", "extras")) if e.strip()]
    return next((e for e in extras if "{" not in e), None)


def _nox_extra(files: RepoFiles) -> str | None:
    match = re.search(r"""session\.install\((?:["']-e["'],\s*)?["']\.\[([\w,-]+)\]["']""", files.text("noxfile.py"))
    return match.group(1) if match else None


def _dependency_group(pyproject: dict) -> str | None:
    groups = pyproject.get("dependency-groups", {})
    return next((name for name in TEST_EXTRAS if name in groups), None)


def _tox_deps(tox: configparser.ConfigParser) -> list[str]:
    if not tox.has_option("testenv", "deps"):
        return []
    deps = []
    for line in tox.get("testenv", "deps").splitlines():
        line = line.split("#")[0].strip()
        name = re.split(r"[<>=!~\[;\s]", line, maxsplit=1)[0].lower()
        if line and not line.startswith(("-r", "-c", "{", "-e", ".")) and "{" not in line and name not in GATE_TOOLS:
            deps.append(line)
    return deps


def _scm_version_tool(files: RepoFiles, pyproject: dict) -> str | None:
    """``setuptools-scm`` or ``hatch-vcs`` when the version comes from git, else None."""
    requires = " ".join(pyproject.get("build-system", {}).get("requires", [])).lower()
    tool = pyproject.get("tool", {})
    if "hatch-vcs" in requires or tool.get("hatch", {}).get("version", {}).get("source") == "vcs":
        return "hatch-vcs"
    if (
        "setuptools_scm" in requires
        or "setuptools-scm" in requires
        or "setuptools_scm" in tool
        or "use_scm_version" in files.text("setup.py")
    ):
        return "setuptools-scm"
    return None


def _python_setup(files: RepoFiles, reasons: list[str]) -> list[str]:
    pyproject, setup_cfg, tox = _toml(files, "pyproject.toml"), _ini(files, "setup.cfg"), _ini(files, "tox.ini")
    packages: list[str] = []
    reasons.append(
        "Setup installs into the repository's own environment (cached between jobs while the dependency "
        "files do not change); pytest, pytest-cov and coverage.py are the gate's own."
    )
    requirement_files = [p for p in REQUIREMENT_FILES if p in files.paths]
    for path in requirement_files:
        packages += ["-r", path]
    if requirement_files:
        reasons.append(f"Requirements from {', '.join(requirement_files)}.")
    tox_deps = _tox_deps(tox)
    if tox_deps:
        packages += tox_deps
        reasons.append(f"Test dependencies from tox.ini [testenv] deps: {', '.join(tox_deps)}.")
    installable = (
        "setup.py" in files.paths
        or "build-system" in pyproject
        or "project" in pyproject
        or setup_cfg.has_section("metadata")
    )
    group = _dependency_group(pyproject)
    if group:
        packages += ["--group", group]
        reasons.append(f"Test dependencies from the `{group}` dependency group of pyproject.toml.")
    env = ""
    if installable:
        extra = _python_extra(pyproject, setup_cfg) or _tox_extra(tox) or _nox_extra(files)
        packages += ["-e", f".[{extra}]" if extra else "."]
        reasons.append("The project itself is installed editable" + (f" with its `{extra}` extra." if extra else "."))
        if "src" in {p.split("/")[0] for p in files.paths if p.endswith(".py")}:
            reasons.append("src layout: the editable install puts src/ on the path; the tests import the package.")
        scm = _scm_version_tool(files, pyproject)
        if scm:
            env = "SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0 "
            reasons.append(
                f"Its version comes from git ({scm}) and sandboxes hold no git history: a fixed version is pretended."
            )
    if not packages:
        reasons.append("Nothing to install: the tests run with the gate's pytest in a bare environment.")
        return []
    return [f"{env}python -m pip install -q {shlex.join(packages)}"]


def _test_dirs(files: RepoFiles, names: tuple[str, ...]) -> list[str]:
    dirs = sorted({p.split("/")[0] for p in files.paths if "/" in p and p.split("/")[0] in names})
    nested = sorted({"/".join(p.split("/")[:3]) for p in files.paths if re.match(r"src/[^/]+/tests?/", p)})
    return dirs + nested


def propose_python(files: RepoFiles) -> Proposal:
    reasons: list[str] = []
    setup = _python_setup(files, reasons)
    test_dirs = _test_dirs(files, ("tests", "test", "testing"))
    globs = [f"{d}/**" for d in test_dirs] + ["**/test_*.py", "**/*_test.py", "**/conftest.py"]
    reasons.append(
        f"Tests: {', '.join(test_dirs) or 'test_*.py files'} run by pytest, writing JUnit XML and Cobertura coverage."
    )
    config = {
        "setup": setup,
        "sandbox": {"network": "setup"} if setup else {},
        "test": {
            "command": f"{PYTEST} --cov=. --cov-report=xml:.shipyard/coverage.xml --cov-context=test",
            "select_command": f"{PYTEST} {{tests}}",
            "test_globs": globs,
        },
    }
    if setup:
        reasons.append(
            "Network only while setup runs (to reach the package index); none while the agent or the tests run."
        )
    else:
        del config["sandbox"]
    return Proposal(layout="Python, pytest", config=config, reasons=reasons)


def propose_node(files: RepoFiles) -> Proposal:
    package = json.loads(files.text("package.json") or "{}")
    script = (package.get("scripts") or {}).get("test", "")
    install = next((cmd for lock, cmd in LOCKFILES if lock in files.paths), "npm install --no-audit --no-fund")
    deps = bool(package.get("dependencies") or package.get("devDependencies"))
    reasons = [
        f"Node package; dependencies installed with `{install}`."
        if deps
        else "Node package with no dependencies to install."
    ]
    if "node --test" in script or not script:
        command = (
            f"npm test -- {NODE_JUNIT} {NODE_LCOV} --experimental-test-coverage"
            if script
            else f"node --test --experimental-test-coverage {NODE_JUNIT} {NODE_LCOV}"
        )
        reasons.append("Tests run by Node's built-in runner, which writes JUnit XML and LCOV itself.")
    else:
        command = f"npm test -- {NODE_JUNIT} {NODE_LCOV}"
        reasons.append(
            f"`npm test` runs `{script}`: check with `shipyard doctor` that it writes .shipyard/junit.xml "
            "and .shipyard/lcov.info."
        )
    test_dirs = _test_dirs(files, ("test", "tests", "__tests__"))
    config = {
        "setup": [install] if deps else [],
        "sandbox": {"network": "setup"} if deps else {},
        "test": {
            "command": command,
            "select_command": f"node --test {NODE_JUNIT} {{tests}}",
            "select_granularity": "file",
            "coverage": {"format": "lcov", "path": ".shipyard/lcov.info"},
            "test_globs": [f"{d}/**" for d in test_dirs]
            + ["**/*.test.js", "**/*.spec.js", "**/*.test.ts", "**/*.spec.ts"],
        },
    }
    if not config["sandbox"]:
        del config["sandbox"]
    return Proposal(layout="Node.js", config=config, reasons=reasons)


def propose_make(files: RepoFiles) -> Proposal:
    return Proposal(
        layout="Makefile",
        config={"test": {"command": "make test"}},
        reasons=[
            "Only a Makefile `test` target was found: the gate needs JUnit XML at .shipyard/junit.xml and a coverage "
            "report; make the target write them, or set test.command to a command that does."
        ],
    )


def is_python(files: RepoFiles) -> bool:
    markers = {"pyproject.toml", "setup.py", "setup.cfg", "tox.ini", *REQUIREMENT_FILES}
    return bool(markers & files.paths) or any(p.endswith(".py") for p in files.paths)


def propose(files: RepoFiles) -> Proposal:
    """The configuration this repository most likely needs; ``Proposal.reasons`` says why.

    Raises ``ValueError`` naming what was looked for when the layout is not recognised."""
    if "package.json" in files.paths and not {"pyproject.toml", "setup.py", "setup.cfg"} & files.paths:
        return propose_node(files)
    if is_python(files):
        return propose_python(files)
    if re.search(r"^test\s*:", files.text("Makefile"), re.MULTILINE):
        return propose_make(files)
    raise ValueError(
        "no known layout: looked for pyproject.toml, setup.py, setup.cfg, tox.ini, requirements*.txt, "
        "*.py files, package.json and a Makefile `test` target; write .shipyard.yml by hand (see the README)"
    )
