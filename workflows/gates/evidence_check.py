"""Comparing the gate's own record of test outcomes with the repository's JUnit XML.

``evidence_plugin`` is written to the sandbox's read-only tools directory (outside the
workspace) under a random module name, loaded with ``-p`` ahead of the repository's plugins
(installed plugins do not autoload), and records each test's outcome from the test's exception.
A test the JUnit XML marks passed that the record saw fail is tampering with the evidence.
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from sandboxes.base import Sandbox, SandboxError
from sandboxes.workspace_files import read_workspace_file
from workflows.gates.junit import TestCase

PLUGIN_SOURCE = (Path(__file__).parent / "evidence_plugin.py").read_bytes()
SITE_SOURCE = (Path(__file__).parent / "evidence_site.py").read_bytes()
MODULE_PREFIX = "shipyard_evidence_"
MAX_CHANGED_FILES = 2000
"""Changed files named to the plugin (the environment has a size limit); the static rules see them all."""


def pytest_plugin_env(
    plugins: list[str], *, first: tuple[str, ...] = (), base: dict[str, str] | None = None
) -> dict[str, str]:
    """pytest loads ``first`` then the named ``plugins`` (``gates.pytest_plugins``) with ``-p`` and no
    other installed plugin (no entry-point autoload): the gate's runs and the agent's ``run_tests``
    see the same plugins, and none of what else is installed can change a result (or slow every run)."""
    named = " ".join(f"-p {shlex.quote(p)}" for p in [*first, *plugins])
    addopts = f"{named} " + (base or {}).get("PYTEST_ADDOPTS", "")
    return {"PYTEST_ADDOPTS": " ".join(addopts.split()), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


@dataclass(frozen=True)
class EvidenceRun:
    """One run's plugin module and record, both outside the workspace, named afresh per run.

    The plugin goes into the sandbox's read-only tools directory under a random module name,
    so no file in the repository (which is first on ``sys.path`` under ``python -m pytest``)
    can shadow it; the record goes to the records directory, which no test lists as a result."""

    token: str
    nonce: str = ""
    """Written by the plugin at the start and the end of the record; the test process never sees it in
    its environment (the plugin removes it before any repository code runs)."""

    @property
    def module(self) -> str:
        return f"{MODULE_PREFIX}{self.token}"

    @classmethod
    def install(cls, sandbox: Sandbox) -> EvidenceRun:
        run = cls(token=secrets.token_hex(12), nonce=secrets.token_hex(16))
        for name, source in ((f"{run.module}.py", PLUGIN_SOURCE), ("sitecustomize.py", SITE_SOURCE)):
            path = sandbox.side_dirs.host_tools / name
            path.unlink(missing_ok=True)
            path.write_bytes(source)
            path.chmod(0o444)
        record = sandbox.side_dirs.host_records / f"{run.token}.jsonl"
        record.touch()
        # Written, never read, by the sandbox's user; the directory keeps it from removal.
        record.chmod(0o622)
        return run

    def env(
        self,
        sandbox: Sandbox,
        base: dict[str, str],
        plugins: list[str],
        changed_hooks: dict[str, set[str]] | None = None,
    ) -> dict[str, str]:
        """``base`` plus: the evidence plugin loaded first, then the repository's named ``plugins``
        (``gates.pytest_plugins``) with ``-p``; no other installed plugin autoloads.
        ``changed_hooks``: each Python file the change adds or modifies → the pytest hooks the base
        defines in it; a hook implementation registered from such a file beyond those is tampering."""
        dirs = sandbox.side_dirs
        named = pytest_plugin_env(plugins, first=(self.module,), base=base)
        changed = {path: sorted(hooks) for path, hooks in list((changed_hooks or {}).items())[:MAX_CHANGED_FILES]}
        return {
            **({"SHIPYARD_EVIDENCE_CHANGED": json.dumps(changed)} if changed else {}),
            **base,
            **named,
            "SHIPYARD_EVIDENCE_FILE": f"{dirs.records}/{self.token}.jsonl",
            "SHIPYARD_EVIDENCE_NONCE": self.nonce,
            "PYTHONPATH": dirs.tools,
            # No workspace module shadows the runner, its plugins or the standard library: the
            # plugin appends the workspace to sys.path after them instead of ``python -m``'s first place.
            "PYTHONSAFEPATH": "1",
        }

    def read(self, sandbox: Sandbox) -> Record:
        """What the plugin recorded (empty when it did not run: not pytest, or the record was erased)."""
        try:
            raw = read_workspace_file(sandbox.side_dirs.host_records, f"{self.token}.jsonl")
        except (SandboxError, OSError):
            return Record()
        record = Record()
        for line in raw.decode("utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get("key"), str):
                record.seen.add(entry["key"])
                if entry.get("failed"):
                    record.failed.add(entry["key"])
            elif "start" in entry:
                record.starts += 1
                record.forged_marks += entry["start"] != self.nonce
            elif "end" in entry:
                record.ends += 1
                record.forged_marks += entry["end"] != self.nonce
                record.distributed = record.distributed or entry.get("distributed") is True
            elif isinstance(entry.get("tamper"), str):
                record.tampering.append(entry["tamper"])
        return record

    def remove(self, sandbox: Sandbox) -> None:
        dirs = sandbox.side_dirs
        for path in (dirs.host_tools / f"{self.module}.py", dirs.host_records / f"{self.token}.jsonl"):
            path.unlink(missing_ok=True)


@dataclass
class Record:
    """JUnit keys of the tests the plugin saw run, and of those it saw fail."""

    seen: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    starts: int = 0
    ends: int = 0
    forged_marks: int = 0
    """``start``/``end`` lines whose nonce is not the gate's: written by someone else."""
    distributed: bool = False
    """The run handed its tests to other processes (pytest-xdist): per-test lines are not expected."""
    tampering: list[str] = field(default_factory=list)
    """What the plugin saw repository code do to the test machinery, the record or the path."""

    def cut_short(self) -> str:
        """Why the record cannot be the whole of a pytest run's record, or ''."""
        if self.forged_marks:
            return "the record holds start/end marks the gate did not write (it was rewritten)"
        if not self.starts:
            return (
                "the gate's record of the run is empty: its plugin did not run in the test process "
                "or the record was erased"
            )
        if self.ends < self.starts:
            return "the gate's record of the run stops before the run ended (the record was cut short)"
        return ""


def forged(cases: dict[str, TestCase], record: Record, *, by_pytest: bool) -> tuple[list[str], list[str]]:
    """Tests the JUnit XML reports passed although the gate's record saw them fail, and — for a
    pytest run (``by_pytest``) — passed tests it has no record of (the record was cut short).
    Tests run in other processes (pytest-xdist workers) are not recorded: such a run is judged
    only on what the record holds."""
    passed = [c for c in cases.values() if c.outcome == "passed"]
    failed = sorted(c.key for c in passed if c.key in record.failed)
    judged = by_pytest and not record.distributed
    unrecorded = sorted(c.key for c in passed if judged and c.key.split("#", 1)[0] not in record.seen)
    return failed, unrecorded
