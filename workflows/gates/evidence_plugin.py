"""pytest plugin the gate loads first (``-p shipyard_evidence_<random>``): each test's own outcome.

It records, from the innermost ``pytest_runtest_makereport`` wrapper, whether a phase raised
(a failure or error, not a skip) — judged from the call's exception, not from the report, so a
repository hook that rewrites reports or patches ``TestReport`` cannot change it. One JSON line
per phase goes to the file named by ``SHIPYARD_EVIDENCE_FILE`` (a per-run random path outside
the workspace, opened append-only by descriptor; the variable is removed from the environment
once read). The record opens with a ``start`` line and closes with an ``end`` line, both carrying
a nonce only the gate knows (``SHIPYARD_EVIDENCE_NONCE``): a record without both was cut short.

Code under test runs in this process, so the plugin also watches for the ways that code can
rewrite outcomes from inside (``tamper`` lines, each a tampering verdict):

- the workspace never shadows the runner: under ``PYTHONSAFEPATH`` the gate's ``sitecustomize``
  appends the workspace *after* the standard library and site-packages, and a module of the
  standard library or of the test tooling loaded from the workspace anyway is named;
- the test machinery is snapshotted before any repository code runs (the callables of
  pytest's, pluggy's, coverage.py's and pytest-cov's modules and classes, and this plugin's
  hook implementations) and compared after collection, after each test and at the end;
- an audit hook refuses, when called from repository code (or code compiled from a string), walks
  of the interpreter's objects (``gc``), raw memory reads (``ctypes``), listing or opening
  ``/proc/*/fd`` or the record, and truncating the record;
- every registered hook implementation is traced to its file: one from a file the change adds or
  modifies (``SHIPYARD_EVIDENCE_CHANGED``), for a hook that file's base version does not define.

The state lives in closures, not module attributes. This file is copied into the sandbox as a
standalone module; it imports only pytest and the standard library.
"""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

CRITICAL = (
    ("_pytest.python", "Function.runtest"),
    ("_pytest.python", "pytest_pyfunc_call"),
    ("_pytest.runner", "call_and_report"),
    ("_pytest.runner", "call_runtest_hook"),
    ("_pytest.runner", "runtestprotocol"),
    ("_pytest.runner", "CallInfo.from_call"),
    ("_pytest.reports", "TestReport.from_item_and_call"),
    ("_pytest.junitxml", "LogXML.pytest_runtest_logreport"),
    ("_pytest.junitxml", "_NodeReporter.append_failure"),
    ("pluggy._callers", "_multicall"),
    ("pluggy._hooks", "HookCaller.__call__"),
)
"""Checked after every test (the whole snapshot is checked after collection and at the end)."""
GUARDED = ("_pytest", "pytest", "pluggy", "coverage", "pytest_cov", "xdist", "iniconfig")
"""Top-level packages whose code decides or reports outcomes."""
WATCHED_EVENTS = {
    "gc.get_objects": "walked the interpreter's objects (gc.get_objects)",
    "gc.get_referrers": "walked the interpreter's objects (gc.get_referrers)",
    "gc.get_referents": "walked the interpreter's objects (gc.get_referents)",
    "ctypes.cdata": "read raw memory (ctypes)",
    "ctypes.string_at": "read raw memory (ctypes.string_at)",
    "ctypes.wstring_at": "read raw memory (ctypes.wstring_at)",
}


def junit_key(nodeid: str) -> str:
    """``classname::name`` as pytest's JUnit XML writes the test (``mangle_test_address``)."""
    names = nodeid.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    return ".".join(names[:-1]) + "::" + names[-1]


def _raised(call: pytest.CallInfo) -> bool:
    excinfo = call.excinfo
    if excinfo is None:
        return False
    return not excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception))


def _identity(target: object) -> tuple[int, int] | None:
    """``(device, inode)`` of an open descriptor or a path, or None."""
    try:
        st = os.fstat(target) if isinstance(target, int) else os.stat(target)  # type: ignore[arg-type]
    except (OSError, TypeError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _relative(filename: str, roots: tuple[str, ...]) -> str:
    return next((filename[len(r) :] for r in roots if filename.startswith(r)), filename)


def _install():  # one closure keeps the plugin's state out of reach of module attributes
    path = os.environ.pop("SHIPYARD_EVIDENCE_FILE", "")
    nonce = os.environ.pop("SHIPYARD_EVIDENCE_NONCE", "")
    changed_hooks = json.loads(os.environ.pop("SHIPYARD_EVIDENCE_CHANGED", "") or "{}")
    workspace = os.path.realpath(os.getcwd())
    roots = tuple({workspace + os.sep, os.getcwd() + os.sep})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC) if path else -1
    write, dumps, getpid, pid = os.write, json.dumps, os.getpid, os.getpid()
    record_name = os.path.basename(path) if path else None
    record_id = _identity(fd)
    stdlib = set(sys.stdlib_module_names)
    state = {"reports": 0, "tampered": set(), "busy": False, "pm": None}

    def emit(entry: dict) -> None:
        if fd < 0 or getpid() != pid:
            return
        try:
            write(fd, (dumps(entry) + "\n").encode())
        except OSError:
            pass

    def tamper(why: str) -> None:
        if why not in state["tampered"]:
            state["tampered"].add(why)
            emit({"tamper": why[:500]})

    def in_workspace(filename: str) -> bool:
        """Whether a code or module file is the repository's (a virtualenv inside it is not)."""
        if filename.startswith("<"):
            return False  # compiled from a string or frozen: no file (``from_string`` judges it)
        if not filename.startswith(os.sep):
            filename = os.path.realpath(filename)
        return filename.startswith(roots) and "site-packages" not in filename

    def from_string(filename: str) -> bool:
        return filename.startswith("<") and not filename.startswith("<frozen")

    def repository_caller() -> str | None:
        """The innermost repository code on the stack (``path:line``), or None. Code compiled from a
        string (``exec``) counts as the repository's: it names no file that could be checked."""
        frame = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if in_workspace(filename):
                return f"{_relative(filename, roots)}:{frame.f_lineno}"
            if from_string(filename):
                return f"code run from a string ({filename}):{frame.f_lineno}"
            frame = frame.f_back
        return None

    def audit(event: str, args: tuple) -> None:
        if state["busy"] or event in ("sys._getframe", "import", "exec", "compile", "marshal.loads"):
            return
        why = WATCHED_EVENTS.get(event)
        target = args[0] if args else None
        if why is None and event in ("open", "os.listdir", "os.scandir") and isinstance(target, (str, bytes)):
            target = os.fsdecode(target)
            if (record_name and record_name in target) or (target.startswith("/proc/") and "/fd" in target):
                why = f"opened the gate's record or a process's descriptors ({target})"
        elif event == "os.truncate" and record_id is not None and _identity(target) == record_id:
            why = "truncated the gate's record"
        if why is None:
            return
        state["busy"] = True
        try:
            caller = repository_caller()
        finally:
            state["busy"] = False
        if caller is not None:
            tamper(f"{caller}: {why}")
            raise RuntimeError(f"refused by the quality gate: {why}")

    def guarded_modules() -> list:
        return [m for n, m in list(sys.modules.items()) if n.split(".")[0] in GUARDED and m is not None]

    def snapshot(known: frozenset = frozenset()) -> dict:
        """The callables of the guarded modules (and of their classes) not in ``known``."""
        shot = {}
        for module in guarded_modules():
            name = module.__name__
            if name in known:
                continue
            for attr, value in list(vars(module).items()):
                if callable(value):
                    shot[(name, attr)] = value
                if isinstance(value, type) and getattr(value, "__module__", None) == name:
                    for cattr, cvalue in list(vars(value).items()):
                        if callable(cvalue) or isinstance(cvalue, (staticmethod, classmethod, property)):
                            shot[(name, f"{attr}.{cattr}")] = cvalue
        return shot

    machinery = snapshot()
    reported: set[str] = set()
    own_impls: list = []

    def from_repository(value: object) -> bool:
        """Whether a replacement came from repository code (or hides where it came from)."""
        func = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
        code = getattr(func, "__code__", None)
        if code is None:
            return str(getattr(func, "__module__", None) or "").split(".")[0] not in GUARDED
        return in_workspace(code.co_filename) or from_string(code.co_filename)

    critical = {key: machinery[key] for key in CRITICAL if key in machinery}

    def changed_machinery(keys: dict) -> list[str]:
        """Members of the test machinery (of ``keys``) replaced by repository code since the snapshot;
        replacements by installed code (pytest's own legacypath plugin patches ``Config``) are taken in."""
        out = []
        modules = sys.modules
        for key, value in list(keys.items()):
            mod, attr = key
            module = modules.get(mod)
            if module is None:
                continue
            owner_name, _, member = attr.partition(".")
            holder = vars(module)
            if member:
                owner = holder.get(owner_name)
                if not isinstance(owner, type):
                    continue
                holder = vars(owner)
            now = holder.get(member or attr, value)
            if now is value:
                continue
            if from_repository(now):
                out.append(f"{mod}.{attr}")
            else:
                keys[key] = machinery[key] = now
        for impl, function in own_impls:
            if impl.function is not function:
                out.append(f"the gate's hook {function.__name__}")
        return out

    def shadowed_modules() -> list[str]:
        out = []
        for name, module in list(sys.modules.items()):
            top = name.split(".")[0]
            if top not in stdlib and top not in GUARDED:
                continue
            filename = getattr(module, "__file__", None) or ""
            if isinstance(filename, str) and in_workspace(filename):
                out.append(f"{name} ({_relative(filename, roots)})")
        return out

    def new_hooks() -> list[str]:
        """Hook implementations registered from a file the change adds or modifies, for hooks its base
        version does not define: a plugin or hook the static rules did not see (however it was bound)."""
        pm, out = state["pm"], []
        if pm is None or not changed_hooks:
            return out
        for hook_name, caller in list(vars(pm.hook).items()):
            get = getattr(caller, "get_hookimpls", None)
            for impl in get() if callable(get) else []:
                code = getattr(impl.function, "__code__", None)
                if code is None or not in_workspace(code.co_filename):
                    continue
                rel = _relative(code.co_filename, roots)
                if rel in changed_hooks and hook_name not in changed_hooks[rel]:
                    out.append(f"{rel}:{code.co_firstlineno} ({hook_name})")
        return out

    def verify(when: str, *, everything: bool = True) -> None:
        changed = [c for c in changed_machinery(machinery if everything else critical) if c not in reported]
        if changed:
            reported.update(changed)
            tamper(f"the test machinery was patched ({when}): {', '.join(sorted(changed)[:5])}")
        if not everything:
            return
        hooks = [h for h in new_hooks() if h not in reported]
        if hooks:
            reported.update(hooks)
            tamper(f"a pytest hook was registered from a file the change adds or modifies: {', '.join(hooks[:3])}")
        shadowed = shadowed_modules()
        if shadowed:
            tamper(f"a module of the standard library or the test tooling came from the workspace: {shadowed[0]}")

    emit({"start": nonce, "pid": pid})
    sys.addaudithook(audit)

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(config):
        # The plugins loaded after this one (pytest-cov, and coverage.py with it) join the snapshot.
        machinery.update(snapshot(frozenset(mod for mod, _ in machinery)))
        pm = state["pm"] = config.pluginmanager
        for name in ("pytest_runtest_makereport", "pytest_sessionfinish", "pytest_collection_finish"):
            for impl in getattr(pm.hook, name).get_hookimpls():
                if impl.plugin is sys.modules.get(__name__):
                    own_impls.append((impl, impl.function))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(session):
        verify("during collection")

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_makereport(item, call):
        failed = _raised(call)
        if call.when == "call":
            verify(f"by {item.nodeid}", everything=False)
        state["reports"] += 1
        emit({"key": junit_key(item.nodeid), "when": call.when, "failed": failed})
        yield

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(session, exitstatus):
        verify("by the end of the run")
        config = session.config
        distributed = getattr(config.option, "dist", "no") not in ("no", None) or bool(
            getattr(config.option, "numprocesses", None)
        )
        emit({"end": nonce, "reports": state["reports"], "distributed": distributed})
        yield

    return pytest_configure, pytest_collection_finish, pytest_runtest_makereport, pytest_sessionfinish


pytest_configure, pytest_collection_finish, pytest_runtest_makereport, pytest_sessionfinish = _install()
del _install
