"""Helpers shared by the sandbox tests (importable; conftest holds the fixtures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandboxes.base import SandboxSpec
from sandboxes.images import SANDBOX_IMAGE


def backends(*names: str) -> list:
    """Backend names as test parameters; ``docker`` carries the ``docker`` marker (it needs the engine)."""
    return [pytest.param(name, marks=pytest.mark.docker) if name == "docker" else name for name in names]


SMALL_SPEC = SandboxSpec(image=SANDBOX_IMAGE, memory_mb=512, pids=128, command_timeout_s=60, output_cap_bytes=64 * 1024)
REPO_ROOT = Path(__file__).resolve().parents[2]


def run_crashing_worker(script: str, root: Path) -> dict:
    """Run ``script`` in a fresh interpreter, as a worker that acquires a sandbox under ``root`` (its first
    argument), prints one JSON line about it and dies without closing it; returns that JSON."""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(root)], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def processes_with_env(entry: str) -> list[int]:
    """Host pids whose environment holds ``entry`` (container processes are host processes too)."""
    needle = entry.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if needle in Path(f"/proc/{name}/environ").read_bytes().split(b"\0"):
                found.append(int(name))
        except OSError:
            continue
    return found


def wait_until(predicate: Callable[[], bool], deadline_s: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or the deadline passes (tests never sleep blindly)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
