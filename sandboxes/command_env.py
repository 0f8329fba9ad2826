"""What every sandbox command starts with, whatever the backend: its environment and its script.

The environment is built from nothing, never from the orchestrator's own: that holds tokens
and keys. The login shell (``bash -lc``) resets ``PATH`` from its profile, so the sandbox's
``PATH`` also travels as ``SHIPYARD_PATH`` and the script puts it back first.
"""

from __future__ import annotations

from collections.abc import Mapping


def command_env(
    *,
    path: str,
    home: str,
    tmpdir: str,
    backend: Mapping[str, str],
    extra: Mapping[str, str] | None,
    python_path: str = "",
) -> dict[str, str]:
    """The environment of one command: ``path``, ``home`` and ``tmpdir`` as the sandbox sees
    them, a UTF-8 locale, the ``backend``'s own variables, then the caller's ``extra`` on top
    (an ``extra`` ``PATH`` is the one the script puts back). ``python_path`` (the gate's tooling)
    always stays on ``PYTHONPATH``, after any directory the caller names there."""
    env = {"PATH": path, "SHIPYARD_PATH": path, "HOME": home, "LANG": "C.UTF-8", "TMPDIR": tmpdir, **backend}
    env.update(extra or {})
    if extra and "PATH" in extra:
        env["SHIPYARD_PATH"] = extra["PATH"]
    if python_path:
        env["PYTHONPATH"] = ":".join(p for p in (env.get("PYTHONPATH", ""), python_path) if p)
    return env


def sandbox_command(command: str) -> str:
    """The script given to ``bash -lc``: the login profile resets PATH, so put ours back first."""
    return f'export PATH="$SHIPYARD_PATH:$PATH"\n{command}'
