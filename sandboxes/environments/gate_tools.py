"""The gate's test tooling, as a read-only directory every sandbox gets at ``/shipyard/gate``.

Made from the distributions installed in Shipyard's own interpreter (so the versions are the
ones Shipyard is tested with, and nothing is downloaded: it works offline), by copying their
files, with the bytecode that interpreter wrote, once per installation; each deployment's copy is
hard links to that one where the filesystem allows:

* ``site/``: pytest, pluggy, iniconfig, pytest-cov, coverage.py and pip, first on the sandbox's
  ``PYTHONPATH``: they win over anything the repository installs in its environment.
* ``fallback/``: what they need but repositories often pin themselves (packaging, Pygments…),
  appended to the *end* of ``sys.path`` by ``site/sitecustomize.py``: the repository's own
  version wins when it has one.
* ``bin/``: ``pytest``, ``pip``, ``coverage`` commands running the tools with the sandbox's ``python``.

coverage.py's compiled tracer matches the host's Python; on an image with another Python
version coverage.py uses its pure-Python tracer (slower, same results). On a Python older than
``MIN_PYTHON`` the tooling removes itself from ``sys.path`` at start-up, and the repository's
own pytest and pip (if any) are used.
"""

from __future__ import annotations

import compileall
import hashlib
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from sandboxes.base import SandboxError

GATE_MOUNT = "/shipyard/gate"
FIRST = ("pytest", "pluggy", "iniconfig", "pytest-cov", "coverage", "pip")
"""Distributions whose version the gate decides."""
FALLBACK = ("packaging", "pygments", "exceptiongroup", "tomli", "colorama")
"""Their dependencies, used only when the repository's environment has none of its own."""
MIN_PYTHON = (3, 10)
"""The oldest Python the tooling runs on (pytest's and coverage.py's own floor)."""
SITECUSTOMIZE = f"""\
# Shipyard's gate tooling: its dependencies come after the repository's own packages. On a Python
# older than {MIN_PYTHON[0]}.{MIN_PYTHON[1]} the tooling cannot run: it steps aside and the environment's own is used.
import os, sys
_here = os.path.dirname(os.path.abspath(__file__))
if sys.version_info < {MIN_PYTHON!r}:
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
else:
    sys.path.append(os.path.join(os.path.dirname(_here), "fallback"))
"""
COMMANDS = {
    "pytest": 'exec python -m pytest "$@"\n',
    "py.test": 'exec python -m pytest "$@"\n',
    "coverage": 'exec python -m coverage "$@"\n',
    "pip": 'exec python -m pip "$@"\n',
    "pip3": 'exec python -m pip "$@"\n',
}


def _installed(names: tuple[str, ...]) -> list[metadata.Distribution]:
    found = []
    for name in names:
        try:
            found.append(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            continue
    return found


def gate_tag() -> str:
    """What decides the tooling: the distributions and versions, the interpreter that compiled it,
    and this module's layout."""
    dists = _installed(FIRST + FALLBACK)
    material = ";".join(sorted(f"{d.metadata['Name'].lower()}=={d.version}" for d in dists))
    # Compiled parts (coverage.py's tracer, the bytecode) are the host interpreter's.
    material += f";python={sys.implementation.cache_tag};layout=3"
    return hashlib.sha256(material.encode()).hexdigest()[:12]


def describe() -> str:
    """``pytest 9.2.0, pytest-cov 7.1.0, …``: what the gate supplies, for reports."""
    return ", ".join(f"{d.metadata['Name']} {d.version}" for d in _installed(FIRST))


def _copy_dist(dist: metadata.Distribution, target: Path) -> None:
    own_bytecode = f".{sys.implementation.cache_tag}.pyc"
    for file in dist.files or ():
        parts = Path(str(file)).parts
        # Scripts live outside site-packages (``../../bin``). Bytecode is kept only when this
        # interpreter wrote it: compiling below then skips each module whose bytecode still
        # matches its source (the times are copied too) and compiles any other afresh.
        if ".." in parts or ("__pycache__" in parts and not parts[-1].endswith(own_bytecode)):
            continue
        source = Path(str(dist.locate_file(file)))
        if not source.is_file():
            continue
        dest = target.joinpath(*parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def ensure_gate_tools(root: Path) -> Path:
    """The tooling directory under ``root`` (made on first use, atomically); returns its path.

    Each deployment has its own (the Docker engine must see it on the deployment's own disk). It is
    made of hard links to the interpreter's copy (``<sys.prefix>/share/shipyard``, made once per
    installation) where both are on one filesystem, else made afresh by copying."""
    missing = [name for name in ("pytest", "pytest-cov", "coverage", "pip") if not _installed((name,))]
    if missing:
        raise SandboxError(
            f"the gate's tooling is not installed in Shipyard's interpreter ({sys.executable}): {', '.join(missing)}; "
            "reinstall Shipyard with its dependencies"
        )
    name = f"gate-{gate_tag()}"
    final = Path(root) / name
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    if os.stat(sys.prefix).st_dev != os.stat(final.parent).st_dev:
        return _made(final)  # no hard link reaches another filesystem: the installation's copy would go unused
    try:
        own = _made(Path(sys.prefix) / "share" / "shipyard" / name)
    except OSError:
        own = None  # an installation Shipyard cannot write to
    if own is not None and _linked(own, final):
        return final
    return _made(final)


def _made(final: Path) -> Path:
    """``final`` as it is, or made: built beside it and renamed into place (a concurrent maker's wins)."""
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".gate-", dir=final.parent))
    for dist in _installed(FIRST):
        _copy_dist(dist, building / "site")
    for dist in _installed(FALLBACK):
        _copy_dist(dist, building / "fallback")
    (building / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    # Compiled here: sandboxes see the directory read-only, and every pip or pytest run would
    # otherwise compile its modules again.
    for part in ("site", "fallback"):
        if (building / part).is_dir():
            compileall.compile_dir(building / part, quiet=1, workers=1)
    (building / "bin").mkdir()
    for name, body in COMMANDS.items():
        script = building / "bin" / name
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
    for path in [building, *building.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() or path.parent.name == "bin" else 0o644)
    _into_place(building, final)
    return final


def _linked(source: Path, final: Path) -> bool:
    """Make ``final`` a tree of hard links to ``source``'s files (no data copied); False where the
    filesystem refuses (another filesystem, or no hard links)."""
    building = Path(tempfile.mkdtemp(prefix=".gate-", dir=final.parent))
    try:
        for here, dirs, files in os.walk(source):
            into = building / Path(here).relative_to(source)
            for d in dirs:
                (into / d).mkdir()
                os.chmod(into / d, 0o755)  # whatever the umask: the sandbox's user reads it
            for f in files:
                os.link(Path(here) / f, into / f, follow_symlinks=False)
        building.chmod(0o755)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
        return False
    _into_place(building, final)
    return True


def _into_place(building: Path, final: Path) -> None:
    try:
        building.rename(final)
    except OSError:
        # Another worker made it a moment ago.
        shutil.rmtree(building, ignore_errors=True)
