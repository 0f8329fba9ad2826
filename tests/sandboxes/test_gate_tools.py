"""The gate's tooling directory: every sandbox mounts it read-only, so what it imports must already
be compiled, and compiled for the interpreter that runs it."""

from __future__ import annotations

import importlib.util
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

from sandboxes.environments.gate_tools import ensure_gate_tools

IMPORT_THE_TOOLS = "import sys; sys.path.insert(0, sys.argv[1]); import pytest, coverage, pytest_cov"


def stale_bytecode(tooling: Path) -> list[str]:
    """Modules whose bytecode is missing or does not match their source (timestamp header)."""
    stale = []
    for source in sorted(tooling.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        info = source.stat()
        expected = importlib.util.MAGIC_NUMBER + struct.pack(
            "<LLL", 0, int(info.st_mtime) & 0xFFFFFFFF, info.st_size & 0xFFFFFFFF
        )
        if not cached.is_file() or cached.read_bytes()[:16] != expected:
            stale.append(str(source.relative_to(tooling)))
    return stale


def test_every_module_of_the_tooling_is_compiled_for_this_interpreter_and_imports_without_compiling(tmp_path):
    tooling = ensure_gate_tools(tmp_path / "envs")
    modules = list(tooling.rglob("*.py"))
    assert len(modules) > 100, f"the tooling holds {len(modules)} modules"
    assert stale_bytecode(tooling) == []
    foreign = [p.name for p in tooling.rglob("*.pyc") if not p.name.endswith(f".{sys.implementation.cache_tag}.pyc")]
    assert foreign == []
    # A sandbox sees the directory read-only: a module whose bytecode did not match would be
    # compiled in memory at every import. `-v` names the bytecode each module came from.
    run = subprocess.run(
        [
            sys.executable,
            "-I",
            "-v",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import pytest, coverage, pytest_cov",
            str(tooling / "site"),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = [
        line for line in run.stderr.splitlines() if line.startswith("# code object from") and str(tooling) in line
    ]
    assert any("/site/_pytest/__pycache__/" in line for line in loaded), run.stderr[-2000:]
    compiled_at_import = [line for line in loaded if line.endswith(".py'")]
    assert compiled_at_import == []


def listing(tree: Path) -> dict[str, int]:
    """Each file and its size (compiled modules: -1, they name the path they were compiled at)."""
    return {
        str(p.relative_to(tree)): -1 if p.suffix == ".pyc" else p.stat().st_size for p in tree.rglob("*") if p.is_file()
    }


def test_a_deployment_links_the_installations_copy_and_one_on_another_filesystem_gets_a_whole_copy(tmp_path):
    linked = ensure_gate_tools(tmp_path / "one" / "envs")
    own = Path(sys.prefix) / "share" / "shipyard" / linked.name
    assert listing(linked) == listing(own) and len(listing(own)) > 1000
    module = Path("site", "_pytest", "python.py")
    assert (linked / module).stat().st_ino == (own / module).stat().st_ino  # the same file, not a copy
    previous = os.umask(0o077)  # a strict umask still leaves the tree readable by the sandbox's user
    try:
        second = ensure_gate_tools(tmp_path / "two" / "envs")
    finally:
        os.umask(previous)
    assert second.joinpath(module).stat().st_ino == (own / module).stat().st_ino
    modes = {stat.S_IMODE(p.stat().st_mode) for p in [second, *second.rglob("*")] if p.is_dir()}
    assert modes == {0o755}

    other = tmp_path / "other-filesystem"
    other.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(other)], check=True)
    try:
        copied = ensure_gate_tools(other / "envs")
        assert listing(copied) == listing(own)
        assert (copied / module).stat().st_ino != (own / module).stat().st_ino
        assert stale_bytecode(copied) == []
    finally:
        subprocess.run(["umount", "-l", str(other)], check=True)
