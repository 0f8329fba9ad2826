"""Rules over the Python a change adds, read from git before any test runs.

- **Shadowing**: a new module that would import as a top-level module named like the standard
  library or the gate's test tooling (``pytest``, ``coverage``, ``shlex`` …) could stand in for
  the real one in the test process.
- **Test identity**: a test defined twice in one module or class (the later definition silently
  replaces the first), or a test the base defines that the candidate no longer does.
- **Code hidden from coverage**: ``exec``/``eval``/``compile``/dynamic imports added by the
  change run code that diff coverage cannot attribute to a changed line. An import whose module
  name is one string literal (``__import__("pkg.mod")``) is an ordinary import and is not named.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from workflows.gates.change_set import ChangeSet
from workflows.gates.report import GateCheck
from workflows.gitops import GitRepo

TOOLING = frozenset(
    {"pytest", "_pytest", "pluggy", "py", "pytest_cov", "coverage", "iniconfig", "packaging", "xdist", "execnet"}
)
"""Top-level modules of the gate's runner and its plugins."""
SHADOW_EXEMPT = frozenset({"test", "tests", "conftest"})
"""Names of the standard library a repository may use for its own top-level test code."""
DYNAMIC_CALLS = {
    "exec": "exec()",
    "eval": "eval()",
    "compile": "compile()",
    "__import__": "__import__()",
    "import_module": "importlib.import_module()",
    "run_path": "runpy.run_path()",
    "run_module": "runpy.run_module()",
    "exec_module": "loader.exec_module()",
    "load_module": "loader.load_module()",
    "spec_from_file_location": "importlib.util.spec_from_file_location()",
    "SourceFileLoader": "importlib.machinery.SourceFileLoader()",
    "FunctionType": "types.FunctionType()",
    "loads": "marshal/pickle loads()",
}
"""Calls that run code not written as statements of a file diff coverage measures."""
LOADS_MODULES = {"marshal", "pickle", "dill", "cloudpickle"}
LITERAL_IMPORTS = {"__import__", "import_module"}
"""Imports that are plain imports when the module name is written out as one string literal."""


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    reason: str

    def describe(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def _text(repo: GitRepo, sha: str, path: str | None) -> str | None:
    if not path:
        return None
    data = repo.show_file(sha, path)
    return None if data is None else data.decode("utf-8", errors="replace")


def _tree(text: str | None) -> ast.Module | None:
    if text is None:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _python_changes(changes: ChangeSet) -> list:
    return [f for f in changes.files if f.status != "D" and f.path.endswith(".py")]


# --- shadowing -------------------------------------------------------------------------------


def _top_level_name(path: str, tracked: set[str]) -> tuple[str, str] | None:
    """``(name, where)`` when ``path`` is importable as a top-level module from a directory that is not
    itself a package (any such directory can be on ``sys.path``: the root, ``src/``, pytest's rootdirs)."""
    parts = path.split("/")
    for i in range(len(parts)):
        parent = "/".join(parts[:i])
        if i and f"{parent}/__init__.py" in tracked:
            continue
        name = parts[i]
        if i == len(parts) - 1:
            if not name.endswith(".py"):
                return None
            return name[:-3], path
        package_init = "/".join([*parts[: i + 1], "__init__.py"])
        if package_init in tracked:
            return name, package_init
    return None


def shadowing_findings(changes: ChangeSet) -> list[Finding]:
    """Added modules that would import under the name of a standard-library or tooling module."""
    protected = (set(sys.stdlib_module_names) | TOOLING) - SHADOW_EXEMPT
    out: list[Finding] = []
    for f in _python_changes(changes):
        if f.status == "M":
            continue
        found = _top_level_name(f.path, changes.tracked_candidate)
        if found is None or found[0] not in protected or found[0].startswith("__"):
            continue
        kind = "the test tooling's" if found[0] in TOOLING else "the standard library's"
        out.append(
            Finding(
                f.path,
                1,
                f"adds a top-level module `{found[0]}` that would stand in for {kind} `{found[0]}` "
                "in the test process; rename it or move it into a package",
            )
        )
    return out


# --- test identity ---------------------------------------------------------------------------


def _definitions(body: list[ast.stmt], scope: str) -> list[tuple[str, int]]:
    """``(qualified name, line)`` of every test defined or bound in a module or class body, in order."""
    out: list[tuple[str, int]] = []
    for node in body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names = [node.name]
        elif isinstance(node, ast.ClassDef):
            if node.name.startswith("Test"):
                out += _definitions(node.body, f"{scope}{node.name}::")
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        out += [(f"{scope}{n}", node.lineno) for n in names if n.startswith(("test", "Test"))]
    return out


def identity_findings(repo: GitRepo, changes: ChangeSet) -> list[Finding]:
    """Tests defined twice in a changed test file, and base tests a changed test file no longer defines."""
    out: list[Finding] = []
    for f in _python_changes(changes):
        if not changes.is_test(f.path):
            continue
        after = _tree(_text(repo, changes.candidate_sha, f.path))
        if after is None:
            continue
        before = _tree(_text(repo, changes.base_sha, f.old_path or f.path)) if f.status in ("M", "R") else None
        lines: dict[str, list[int]] = {}
        for name, line in _definitions(after.body, ""):
            lines.setdefault(name, []).append(line)
        known = Counter(name for name, _ in _definitions(before.body, "")) if before is not None else Counter()
        for name, at in lines.items():
            if len(at) > 1 and len(at) > known[name]:  # a duplicate the base already had is not the change's
                where = ", ".join(str(n) for n in at)
                out.append(
                    Finding(
                        f.path,
                        at[-1],
                        f"{f.path}::{name} is defined {len(at)} times (lines {where}): "
                        "only the last one runs, the others are silently replaced",
                    )
                )
        if before is None:
            continue
        gone = sorted(set(known) - set(lines))
        for name in gone:
            out.append(Finding(f.path, 1, f"{f.old_path or f.path}::{name} is defined on the base and no longer is"))
    return out


def _verdict(name: str, found: list[Finding], clean: str, lead: Callable[[Finding], str]) -> GateCheck:
    """One gate check from a rule's findings: passed with ``clean``, or failed with ``lead`` of the first."""
    if not found:
        return GateCheck(name=name, passed=True, reason=clean)
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return GateCheck(
        name=name,
        passed=False,
        reason=f"{lead(found[0])}{more}",
        details={"violations": [{"path": f.path, "reason": f.describe()} for f in found]},
    )


def check_test_identity(repo: GitRepo, changes: ChangeSet) -> GateCheck:
    clean = "no test defined twice, none removed or renamed"
    return _verdict("test_identity", identity_findings(repo, changes), clean, lambda f: f.reason)


# --- code hidden from coverage ---------------------------------------------------------------


def _names_a_module(call: ast.Call) -> bool:
    """The call's only positional argument is a string literal that reads as a dotted module name."""
    if len(call.args) != 1 or call.keywords:
        return False
    arg = call.args[0]
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        return False
    return all(part.isidentifier() for part in arg.value.split("."))


def _dynamic_calls(tree: ast.Module | None) -> list[tuple[str, int]]:
    if tree is None:
        return []
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name not in DYNAMIC_CALLS:
            continue
        if name == "loads":
            owner = func.value if isinstance(func, ast.Attribute) else None
            if not (isinstance(owner, ast.Name) and owner.id in LOADS_MODULES):
                continue
        if name == "compile" and isinstance(func, ast.Attribute):
            continue  # re.compile and friends
        if name in LITERAL_IMPORTS and _names_a_module(node):
            continue  # `__import__("pkg.mod")` imports a file coverage measures, like `import pkg.mod`
        out.append((DYNAMIC_CALLS[name], node.lineno))
    return out


def dynamic_code_findings(repo: GitRepo, changes: ChangeSet) -> list[Finding]:
    """Calls that run code from strings, data files or computed imports, added by the change."""
    out: list[Finding] = []
    for f in _python_changes(changes):
        after = _dynamic_calls(_tree(_text(repo, changes.candidate_sha, f.path)))
        before = Counter(c for c, _ in _dynamic_calls(_tree(_text(repo, changes.base_sha, f.old_path or f.path))))
        for call, line in after:
            if before[call] > 0:
                before[call] -= 1
                continue
            out.append(
                Finding(
                    f.path,
                    line,
                    f"{call} runs code that diff coverage cannot attribute to a changed line; "
                    "write the code as ordinary statements",
                )
            )
    return out


def check_dynamic_code(repo: GitRepo, changes: ChangeSet) -> GateCheck:
    clean = "no exec/eval/compile or dynamic import added"
    return _verdict("dynamic_code", dynamic_code_findings(repo, changes), clean, Finding.describe)
