"""What decides a repository's environment, as a key: equal keys mean the same environment.

The key covers the base (the image, or the host's base interpreter), the gate's tooling, the
setup commands, and the files those commands read: the usual dependency files at the
repository's root (requirements, constraints, ``pyproject.toml``, ``setup.py``/``setup.cfg``,
``tox.ini``/``noxfile.py``, lock files of pip-tools, Poetry, PDM, uv, Pipenv, npm, Yarn, pnpm),
every path a setup command names (``-r ci/reqs.txt``, ``--find-links wheels/``) and an in-tree
build backend (``backend-path``). A setup that installs the repository itself *without* ``-e``
copies its code into the environment, so then the whole tree is part of the key (an editable
install reads the code where it is).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

FORMAT_VERSION = 1
DEPENDENCY_FILES = re.compile(
    r"(requirements[\w.-]*\.(txt|in)|[\w.-]*requirements\.(txt|in)|constraints[\w.-]*\.txt|pyproject\.toml|"
    r"setup\.py|setup\.cfg|tox\.ini|noxfile\.py|Pipfile(\.lock)?|poetry\.lock|pdm\.lock|uv\.lock|"
    r"package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|\.python-version|"
    r"\.nvmrc|MANIFEST\.in)"
)
DEPENDENCY_DIRS = ("requirements", "reqs")
SKIPPED_DIRS = {".git", ".shipyard", "node_modules", "__pycache__", ".venv", ".tox", ".nox"}
MAX_HASHED_FILES = 5000
SELF_INSTALL = re.compile(r"^\.(/[\w./-]*)?(\[[\w,.-]*\])?$")


def _files_under(path: Path) -> Iterator[Path]:
    count = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            count += 1
            if count > MAX_HASHED_FILES:
                return
            yield Path(root) / name


def _named_paths(workspace: Path, commands: Sequence[str]) -> set[str]:
    """Workspace paths named by the setup commands (as arguments or ``--option=path``)."""
    named = set()
    for command in commands:
        try:
            tokens = shlex.split(command)
        except ValueError:
            tokens = command.split()
        for token in tokens:
            for part in (token, token.split("=", 1)[-1]):
                part = part.split("[", 1)[0]
                if not part or part.startswith("-") or part in (".", "./"):
                    continue
                candidate = (workspace / part).resolve()
                if candidate.is_relative_to(workspace.resolve()) and candidate.exists():
                    named.add(str(candidate.relative_to(workspace.resolve())))
    return named


def _build_backend_paths(workspace: Path) -> set[str]:
    """An in-tree build backend (``[build-system] backend-path``) runs during setup: its code decides too."""
    try:
        pyproject = tomllib.loads((workspace / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    paths = pyproject.get("build-system", {}).get("backend-path", [])
    found = set()
    for rel in paths if isinstance(paths, list) else []:
        candidate = (workspace / str(rel)).resolve()
        if candidate.is_relative_to(workspace.resolve()) and candidate != workspace.resolve() and candidate.exists():
            found.add(str(candidate.relative_to(workspace.resolve())))
    return found


def installs_a_copy_of_itself(commands: Sequence[str]) -> bool:
    """A ``pip install .`` (not ``-e .``): the repository's code is copied into the environment."""
    for command in commands:
        try:
            tokens = shlex.split(command)
        except ValueError:
            continue
        if "install" not in tokens or not any("pip" in t for t in tokens):
            continue
        for before, token in zip(["", *tokens], tokens, strict=False):
            if SELF_INSTALL.match(token) and before not in ("-e", "--editable"):
                return True
    return False


def dependency_files(workspace: Path, commands: Sequence[str]) -> list[str]:
    """Workspace-relative paths of the files that decide the environment, sorted."""
    workspace = Path(workspace)
    roots: set[str] = {p.name for p in workspace.iterdir() if p.is_file() and DEPENDENCY_FILES.fullmatch(p.name)}
    roots |= {d for d in DEPENDENCY_DIRS if (workspace / d).is_dir()}
    roots |= _named_paths(workspace, commands)
    roots |= _build_backend_paths(workspace)
    if installs_a_copy_of_itself(commands):
        roots = {"."}
    found: set[str] = set()
    for rel in roots:
        path = workspace / rel
        if path.is_file():
            found.add(rel)
        elif path.is_dir():
            found |= {str(f.relative_to(workspace)) for f in _files_under(path) if not f.is_symlink()}
    return sorted(found)


def environment_key(base: str, commands: Sequence[str], workspace: Path) -> tuple[str, list[str]]:
    """The key of the environment ``commands`` make in ``workspace`` on ``base``, and the files it read."""
    files = dependency_files(workspace, commands)
    digest = hashlib.sha256()
    digest.update(json.dumps({"v": FORMAT_VERSION, "base": base, "setup": list(commands)}).encode())
    for rel in files:
        digest.update(b"\0" + rel.encode() + b"\0")
        try:
            digest.update(hashlib.sha256((workspace / rel).read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:20], files
