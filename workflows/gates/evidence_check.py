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
from dataclasses import dataclass
from pathlib import Path

from sandboxes.base import Sandbox, SandboxError
from sandboxes.workspace_files import read_workspace_file
from workflows.gates.junit import TestCase

PLUGIN_SOURCE = (Path(__file__).parent / "evidence_plugin.py").read_bytes()
MODULE_PREFIX = "shipyard_evidence_"


@dataclass(frozen=True)
class EvidenceRun:
    """One run's plugin module and record, both outside the workspace, named afresh per run.

    The plugin goes into the sandbox's read-only tools directory under a random module name,
    so no file in the repository (which is first on ``sys.path`` under ``python -m pytest``)
    can shadow it; the record goes to the records directory, which no test lists as a result."""

    token: str

    @property
    def module(self) -> str:
        return f"{MODULE_PREFIX}{self.token}"

    @classmethod
    def install(cls, sandbox: Sandbox) -> EvidenceRun:
        run = cls(token=secrets.token_hex(12))
        path = sandbox.side_dirs.host_tools / f"{run.module}.py"
        path.write_bytes(PLUGIN_SOURCE)
        path.chmod(0o444)
        return run

    def env(self, sandbox: Sandbox, base: dict[str, str], plugins: list[str]) -> dict[str, str]:
        """``base`` plus: the evidence plugin loaded first, then the repository's named ``plugins``
        (``gates.pytest_plugins``) with ``-p``; no other installed plugin autoloads."""
        dirs = sandbox.side_dirs
        named = " ".join(f"-p {shlex.quote(p)}" for p in plugins)
        addopts = f"-p {self.module} {named} " + base.get("PYTEST_ADDOPTS", "")
        return {**base, "PYTEST_ADDOPTS": " ".join(addopts.split()), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                "SHIPYARD_EVIDENCE_FILE": f"{dirs.records}/{self.token}.jsonl", "PYTHONPATH": dirs.tools}

    def failed_keys(self, sandbox: Sandbox) -> set[str] | None:
        """JUnit keys of tests the plugin saw fail, or None when no record was written (not pytest)."""
        try:
            raw = read_workspace_file(sandbox.side_dirs.host_records, f"{self.token}.jsonl")
        except (SandboxError, OSError):
            return None
        failed: set[str] = set()
        for line in raw.decode("utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("failed") and isinstance(entry.get("key"), str):
                failed.add(entry["key"])
        return failed

    def remove(self, sandbox: Sandbox) -> None:
        dirs = sandbox.side_dirs
        for path in (dirs.host_tools / f"{self.module}.py", dirs.host_records / f"{self.token}.jsonl"):
            path.unlink(missing_ok=True)


def forged(cases: dict[str, TestCase], failed: set[str]) -> list[str]:
    """Tests the JUnit XML reports passed although the gate's own record saw them fail."""
    return sorted(c.key for c in cases.values() if c.key in failed and c.outcome == "passed")
