"""Changes that could alter how tests are collected or reported, refused before any test runs.

Test outcomes decide the gate, so anything able to rewrite them is a protected change: pytest
plugins named in ``pytest_plugins`` or ``-p``, any new ``pytest_*`` hook function, and the
start-up hooks of the interpreter (``sitecustomize``/``usercustomize``/``.pth``). The paths
themselves are in ``protected.BUILTIN_PROTECTED``; this module reads file contents.
"""

from __future__ import annotations

import ast
import re

from workflows.gates.change_set import ChangeSet
from workflows.gitops import GitRepo

COLLECTION_PATHS = [
    ".pytest.ini",
    "**/tests/__init__.py",
    "**/test/__init__.py",
    "**/tests/**/__init__.py",
    "**/test/**/__init__.py",
    "sitecustomize.py",
    "usercustomize.py",
    "*.pth",
    # Package metadata on sys.path: its entry points name the module a `-p name` loads.
    "**/*.dist-info/**",
    "**/*.egg-info/**",
]
"""Files that run code or change options before or during collection (matched at any depth)."""

_DASH_P = re.compile(r"(?:^|\s)-p\s*(?:=\s*)?([A-Za-z_][\w.:]*)")
_CONFIG_SUFFIXES = (".ini", ".cfg", ".toml", ".yml", ".yaml", ".sh", "Makefile", ".json")


def _text(repo: GitRepo, sha: str, path: str | None) -> str:
    if not path:
        return ""
    data = repo.show_file(sha, path)
    return (data or b"").decode("utf-8", errors="replace")


def _tree(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def plugin_modules(text: str) -> set[str]:
    """Module names a Python file lists in ``pytest_plugins`` (string or list/tuple of strings)."""
    tree = _tree(text)
    if tree is None:
        return {"<unparseable>"} if "pytest_plugins" in text else set()
    names: set[str] = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            continue
        if not any(isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in targets):
            continue
        value = node.value
        items = value.elts if isinstance(value, (ast.List, ast.Tuple, ast.Set)) else [value]
        for item in items:
            names.add(item.value if isinstance(item, ast.Constant) and isinstance(item.value, str) else "<computed>")
    return names


def hook_functions(text: str) -> set[str]:
    """Names of functions called ``pytest_*`` defined anywhere in a Python file."""
    tree = _tree(text)
    if tree is None:
        return set(re.findall(r"def\s+(pytest_\w+)", text))
    return {
        n.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("pytest_")
    }


def dash_p_plugins(text: str) -> set[str]:
    """Plugins a configuration or script loads with ``-p name`` (``-p no:x`` included)."""
    return set(_DASH_P.findall(text))


def collection_violations(repo: GitRepo, changes: ChangeSet) -> list[tuple[str, str]]:
    """``(path, reason)`` for each changed file that adds a plugin or hook able to rewrite results."""
    out: list[tuple[str, str]] = []
    for f in changes.files:
        if f.status == "D":
            continue
        before = _text(repo, changes.base_sha, f.old_path or f.path)
        after = _text(repo, changes.candidate_sha, f.path)
        if f.path.endswith(".py"):
            plugins = sorted(plugin_modules(after) - plugin_modules(before))
            if plugins:
                out.append((f.path, f"names pytest plugin module(s) {', '.join(plugins)} (pytest_plugins)"))
            hooks = sorted(hook_functions(after) - hook_functions(before))
            if hooks:
                out.append((f.path, f"defines pytest hook(s) {', '.join(hooks)}, which can rewrite test outcomes"))
        elif f.path.endswith(_CONFIG_SUFFIXES) or "/" not in f.path:
            plugins = sorted(dash_p_plugins(after) - dash_p_plugins(before))
            if plugins:
                out.append((f.path, f"names pytest plugin module(s) {', '.join(plugins)} (-p)"))
    return out
