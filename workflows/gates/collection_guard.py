"""Changes that could alter how tests are collected or reported, refused before any test runs.

Test outcomes decide the gate, so anything able to rewrite them is a protected change: pytest
plugins named in ``pytest_plugins`` or ``-p``, any new ``pytest_*`` hook function, and the
start-up hooks of the interpreter (``sitecustomize``/``usercustomize``/``.pth``). The paths
themselves are in ``protected.BUILTIN_PROTECTED``; this module reads file contents.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

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

_TOKEN = re.compile(r"[^\s\"',\[\]()]+")
"""A command-line word as configuration writes it: shell words, INI values, TOML/JSON list items."""
STEERING_OPTIONS = (
    "-o",
    "--override-ini",
    "--config-file",
    "--rootdir",
    "--confcutdir",
    "--import-mode",
    "--pyargs",
    "--cov-config",
    "--rcfile",
    "--noconftest",
    "--deselect",
    "--ignore",
    "--ignore-glob",
)
"""Options that change which configuration, tests or plugins a run takes, in any spelling
(``--opt=value``, ``--opt value``, ``["--opt", "value"]``)."""
_NAMESPACE_WRITERS = {"globals", "vars", "locals"}
_DOC_SUFFIXES = (".md", ".rst", ".txt")
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
    """Module names a Python file lists in ``pytest_plugins`` (string or list/tuple of strings), and
    ``<computed>`` for a write to the module namespace that names no variable (``globals()[…]``)."""
    tree = _tree(text)
    if tree is None:
        return {"<unparseable>"} if "pytest_plugins" in text else set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _writes_namespace(node):
            names.add("<computed>")
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            continue
        if any(isinstance(t, ast.Subscript) and _namespace(t.value) for t in targets):
            names.add("<computed>")
        if not any(isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in targets):
            continue
        value = node.value
        items = value.elts if isinstance(value, (ast.List, ast.Tuple, ast.Set)) else [value]
        for item in items:
            names.add(item.value if isinstance(item, ast.Constant) and isinstance(item.value, str) else "<computed>")
    return names


def _namespace(node: ast.AST | None) -> bool:
    """``globals()``, ``vars()``, ``locals()``, ``sys.modules[…]`` or ``x.__dict__``: a namespace as a mapping."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NAMESPACE_WRITERS:
        return True
    if isinstance(node, ast.Attribute) and node.attr == "__dict__":
        return True
    return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "modules"


def _writes_namespace(call: ast.Call) -> bool:
    """``globals().update(…)``/``setdefault``, or ``setattr(obj, <computed or pytest_*>, …)``."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ("update", "setdefault", "__setitem__"):
        return _namespace(func.value)
    if isinstance(func, ast.Name) and func.id == "setattr" and len(call.args) >= 2:
        name = call.args[1]
        return not (isinstance(name, ast.Constant) and isinstance(name.value, str)) or str(name.value).startswith(
            "pytest"
        )
    return False


def hook_functions(text: str) -> set[str]:
    """Names of ``pytest_*`` hooks a Python file defines anywhere: functions, names bound by assignment
    (``pytest_pyfunc_call = pytest.hookimpl()(fn)``) and ``hookimpl(specname=…)`` implementations."""
    tree = _tree(text)
    if tree is None:
        return set(re.findall(r"(pytest_\w+)\s*(?:=|\()", text))
    found: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("pytest_"):
            found.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            found |= {
                t.id
                for t in targets
                if isinstance(t, ast.Name) and t.id.startswith("pytest_") and t.id != "pytest_plugins"
            }
        elif isinstance(n, ast.keyword) and n.arg == "specname":
            value = n.value
            found.add(value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else "<specname>")
    return found


def dash_p_plugins(text: str) -> set[str]:
    """Plugins a configuration or script loads with ``-p name`` (``-p no:x`` included), in any spelling:
    ``-p x``, ``-px``, ``-p=x``, ``["-p", "x"]``."""
    words = _TOKEN.findall(text)
    found: set[str] = set()
    for i, word in enumerate(words):
        if word == "-p" and i + 1 < len(words):
            found.add(words[i + 1].lstrip("="))
        elif word.startswith("-p") and not word.startswith("--") and len(word) > 2:
            found.add(word[2:].lstrip("="))
    return {name for name in found if name}


def steering_options(text: str) -> set[str]:
    """Options (``STEERING_OPTIONS``) a configuration or script passes, each with its value when
    written together: ``--cov-config=x`` → ``--cov-config=x``; ``["-o", "addopts=…"]`` → ``-o addopts=…``."""
    words = _TOKEN.findall(text)
    found: set[str] = set()
    for i, word in enumerate(words):
        option, eq, value = word.partition("=")
        if option not in STEERING_OPTIONS:
            continue
        if not eq and i + 1 < len(words):
            value = words[i + 1]
        found.add(f"{option} {value}".strip())
    return found


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
        elif f.path.endswith(_CONFIG_SUFFIXES) or ("/" not in f.path and not f.path.endswith(_DOC_SUFFIXES)):
            plugins = sorted(dash_p_plugins(after) - dash_p_plugins(before))
            if plugins:
                out.append((f.path, f"names pytest plugin module(s) {', '.join(plugins)} (-p)"))
            options = sorted(steering_options(after) - steering_options(before))
            if options:
                out.append((f.path, f"passes test-run option(s) {'; '.join(options)[:200]}"))
    return out


def base_hooks_of_changed_files(
    repo: GitRepo, changes: ChangeSet, allowed: Callable[[str], bool] = lambda path: False
) -> dict[str, set[str]]:
    """Each Python file the change adds or modifies → the pytest hooks its base version defines (none
    for a new file): at run time, a hook registered from such a file beyond these is tampering. Files
    ``allowed`` (``gates.allow_paths``: a human reviews their hooks) are left out."""
    return {
        f.path: hook_functions(_text(repo, changes.base_sha, f.old_path or f.path)) if f.status != "A" else set()
        for f in changes.files
        if f.status != "D" and f.path.endswith(".py") and not allowed(f.path)
    }
