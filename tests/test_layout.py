"""The folder tree is the architecture: few loose modules, one name per module, imports that point one way."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orchestrator", "agents", "sandboxes", "workflows")
NOT_MODULES = (ROOT / "orchestrator" / "demo" / "assets", ROOT / "orchestrator" / "store" / "migrations")
"""The demo's sample repository and the Alembic migrations are data the code reads, not modules of ours."""
MAX_LOOSE_MODULES = 8


def _modules() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if not any(path.is_relative_to(data) for data in NOT_MODULES)
    ]


def test_the_orchestrator_keeps_a_handful_of_loose_modules():
    loose = sorted(p.name for p in (ROOT / "orchestrator").glob("*.py"))

    assert len(loose) <= MAX_LOOSE_MODULES, (
        f"orchestrator/ holds {len(loose)} modules, a subpackage is missing: {loose}"
    )


def test_no_two_modules_share_a_file_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        if path.name not in ("__init__.py", "__main__.py"):
            by_name[path.name].append(str(path.relative_to(ROOT)))
    shared = {name: sorted(paths) for name, paths in by_name.items() if len(paths) > 1}

    assert len(by_name) > 100, (
        f"found only {len(by_name)} module names under {PACKAGES}: is the tree where the test looks?"
    )
    assert not shared, f"module names used more than once: {shared}"


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.is_file(), f"{lint_imports} is missing: install the dev tools (`make setup`)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )

    assert run.returncode == 0, f"lint-imports exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
