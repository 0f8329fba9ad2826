"""Comparing the gate's own record of test outcomes with the repository's JUnit XML.

``evidence_plugin`` is written into the sandbox under a random directory, loaded with ``-p``
ahead of the repository's plugins, and records each test's outcome from the test's exception.
A test the JUnit XML marks passed that the record saw fail is tampering with the evidence.
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from sandboxes.base import Sandbox, SandboxError
from workflows.gates.junit import TestCase

PLUGIN_SOURCE = (Path(__file__).parent / "evidence_plugin.py").read_bytes()
MODULE = "shipyard_evidence"


@dataclass(frozen=True)
class EvidenceRun:
    """Where one run's plugin and record live (relative to the workspace), chosen per run."""

    directory: str

    @classmethod
    def install(cls, sandbox: Sandbox) -> EvidenceRun:
        run = cls(directory=f".shipyard-evidence-{secrets.token_hex(12)}")
        sandbox.write_file(f"{run.directory}/{MODULE}.py", PLUGIN_SOURCE)
        return run

    def env(self, sandbox: Sandbox, base: dict[str, str]) -> dict[str, str]:
        """``base`` plus the plugin on PYTHONPATH, loaded first, and its record's path."""
        where = f"{sandbox.workdir}/{self.directory}"
        addopts = f"-p {MODULE} " + base.get("PYTEST_ADDOPTS", "")
        return {**base, "PYTEST_ADDOPTS": addopts.strip(), "SHIPYARD_EVIDENCE_FILE": f"{where}/record.jsonl",
                "PYTHONPATH": where}

    def failed_keys(self, sandbox: Sandbox) -> set[str] | None:
        """JUnit keys of tests the plugin saw fail, or None when no record was written (not pytest)."""
        try:
            raw = sandbox.read_file(f"{self.directory}/record.jsonl")
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
        sandbox.exec(f"rm -rf -- {shlex.quote(self.directory)}", timeout_s=30)


def forged(cases: dict[str, TestCase], failed: set[str]) -> list[str]:
    """Tests the JUnit XML reports passed although the gate's own record saw them fail."""
    return sorted(c.key for c in cases.values() if c.key in failed and c.outcome == "passed")
