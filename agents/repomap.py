"""Repository map: a compact outline of the checkout for the model's stable prompt prefix.

Python files list their top-level classes (with methods) and functions, parsed with ``ast``
(never imported or run); other files are listed by name. Read from the host side of the
workspace without following symlinks, so a planted link cannot pull in outside files.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

from agents.accounting import CHARS_PER_TOKEN

SKIP_DIRS = {
    ".git",
    "node_modules",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".shipyard",
    ".mypy_cache",
    ".pytest_cache",
    "dist",
    "build",
    ".eggs",
}
MAX_PARSE_BYTES = 512 * 1024


def _outline(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ["  (does not parse)"]
    lines = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = ", ".join(a.arg for a in node.args.args)
            lines.append(f"  def {node.name}({args})")
        elif isinstance(node, ast.ClassDef):
            methods = [
                n.name
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                and (not n.name.startswith("_") or n.name == "__init__")
            ]
            lines.append(f"  class {node.name}" + (f": {', '.join(methods)}" if methods else ""))
    return lines


def _files(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_symlink() and not name.endswith((".pyc", ".pyo")):
                found.append(path)
    return found


def build_repo_map(source: Any, *, max_chars: int = 12_000) -> str:
    """The map of a workspace: ``source`` is a ``Sandbox`` (its host workspace) or a directory."""
    root = Path(getattr(source, "host_workspace", source))
    out: list[str] = []
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        out.append(rel)
        if path.suffix == ".py" and path.stat().st_size <= MAX_PARSE_BYTES:
            out.extend(_outline(path.read_text(encoding="utf-8", errors="replace")))
    text = "\n".join(out)
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit("\n", 1)[0]
        omitted = text[len(cut) :].count("\n")
        text = f"{cut}\n... ({omitted} more lines not shown)"
    return text


INSTRUCTION_FILES = ("AGENTS.md", "CONTRIBUTING.md")


def load_instructions(source: Any, *, max_chars: int = 8_000) -> str:
    """``AGENTS.md`` and ``CONTRIBUTING.md`` from the workspace root (symlinks ignored), capped."""
    root = Path(getattr(source, "host_workspace", source))
    parts = []
    for name in INSTRUCTION_FILES:
        path = root / name
        if path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            if len(text) > max_chars:
                text = text[:max_chars] + f"\n... ({name} cut at {max_chars} characters)"
            parts.append(f"## {name}\n\n{text}")
    return "\n\n".join(parts)


MAP_WINDOW_SHARE = 0.05
"""Largest share of the model's window the repository map may take: it is resent with every prompt."""
MAP_MAX_CHARS = 6_000
"""Largest map whatever the window (about 1,500 tokens): past that it costs more than it saves."""


def repo_map_budget(context_window: int) -> int:
    """Characters of repository map worth sending to a model with this window."""
    return int(min(MAP_MAX_CHARS, max(1_000, context_window * CHARS_PER_TOKEN * MAP_WINDOW_SHARE)))


def fit_repo_map(text: str, context_window: int) -> str:
    """``text`` cut (at a line) to the budget for this window, saying how many lines were left out."""
    budget = repo_map_budget(context_window)
    if len(text) <= budget:
        return text
    cut = text[:budget].rsplit("\n", 1)[0]
    omitted = text[len(cut) :].count("\n")
    return f"{cut}\n... ({omitted} more lines not shown)"
