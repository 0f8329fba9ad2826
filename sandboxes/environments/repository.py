"""One sandbox's repository environment: made by setup, or started from the cache.

The backend gives each sandbox a directory it owns (``host_dir``, on the sandbox's disk quota),
seen inside at ``mount``; the environment is ``<mount>/root`` and its virtualenv
``<mount>/root/venv``. ``setup`` either mounts a cached environment there (an overlay: the
cache is the read-only lower layer, ``host_dir/upper`` the sandbox's private writable one) and
puts back what setup wrote into the work tree, or makes the virtualenv from the base
interpreter, runs the repository's setup commands, and keeps the result in the cache.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sandboxes.base import EnvironmentReport, ExecResult
from sandboxes.environments.cache import SYSTEM_PATH, EnvCache, copy_tree, relocate
from sandboxes.environments.recipe import SKIPPED_DIRS, environment_key

ENV_MOUNT = "/shipyard/env"
log = logging.getLogger(__name__)


def _listing(workspace: Path) -> set[str]:
    found = set()
    for root, dirs, files in os.walk(workspace):
        rel = os.path.relpath(root, workspace)
        # Below a directory setup creates, nothing more is needed: it is kept whole.
        for name in [*dirs, *files]:
            found.add(name if rel == "." else f"{rel}/{name}")
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS or rel != "."]
    return found


def new_paths(before: set[str], after: set[str]) -> list[str]:
    """The outermost paths in ``after`` that ``before`` lacks (what setup wrote into the work tree)."""
    added = sorted(after - before)
    outermost: list[str] = []
    for path in added:
        if not any(path.startswith(top + "/") for top in outermost):
            outermost.append(path)
    return [p for p in outermost if not p.startswith(".shipyard/junit") and not p.startswith(".shipyard/coverage")]


def _mount_overlay(lower: Path, upper: Path, work: Path, target: Path) -> bool:
    mount = shutil.which("mount", path=SYSTEM_PATH) or "mount"
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    proc = subprocess.run([mount, "-t", "overlay", "overlay", "-o", options, str(target)], capture_output=True)
    return proc.returncode == 0


class RepoEnvironment:
    """The environment of one sandbox. ``cache`` None: never cached. ``base_python``: the interpreter the virtualenv
    is made from; ``system_site``: it sees that interpreter's packages (an image's own: yes; the
    host's: no)."""

    def __init__(
        self,
        host_dir: Path,
        mount: str,
        *,
        gate_host: Path,
        gate_mount: str,
        base: str,
        base_python: str,
        system_site: bool,
        cache: EnvCache | None,
        owner: tuple[int, int] | None,
        host_paths: bool = False,
    ) -> None:
        self.host_dir = host_dir
        self.mount = mount
        self.gate_host = gate_host
        self.gate_mount = gate_mount
        self.base = base
        self.base_python = base_python
        self.system_site = system_site
        self.cache = cache
        self.owner = owner
        self.host_paths = host_paths
        """The sandbox sees host paths (plain backend): a cached environment is copied and its
        paths rewritten, not mounted."""
        self.report: EnvironmentReport | None = None
        self._overlay = False
        host_dir.mkdir(exist_ok=True)
        (host_dir / "root").mkdir(exist_ok=True)
        self._own(host_dir, host_dir / "root")

    def _own(self, *paths: Path) -> None:
        if self.owner is not None:
            for path in paths:
                os.chown(path, *self.owner)

    @property
    def venv(self) -> str:
        return f"{self.mount}/root/venv"

    def variables(self, backend_path: str) -> dict[str, str]:
        """What every command of the sandbox gets: the environment first on ``PATH``, the gate's
        tooling first on ``PYTHONPATH`` (see ``command_env``), no user site."""
        env = {
            "PATH": f"{self.venv}/bin:{self.gate_mount}/bin:{backend_path}",
            "PYTHONNOUSERSITE": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
        }
        if (self.host_dir / "root" / "venv").is_dir():
            env["VIRTUAL_ENV"] = self.venv
        return env

    @property
    def python_path(self) -> str:
        return f"{self.gate_mount}/site"

    def setup(self, commands: Sequence[str], workspace: Path, run: Callable[[str], ExecResult]) -> list[ExecResult]:
        """Give the sandbox its environment for ``commands`` (see the module docstring)."""
        if not commands:
            return []
        started = time.monotonic()
        key, files = environment_key(self.base, commands, workspace)
        if self.cache is None:
            return self._build(commands, workspace, run, key, files, started)
        with self.cache.building(key):
            cached = self.cache.lookup(key)
            if cached is not None:
                try:
                    self._restore(cached.env, cached.workspace, workspace, cached.built_in)
                except OSError as exc:
                    # A damaged entry: this sandbox builds its own (and the entry stays for the reaper).
                    log.warning("environment %s could not be restored, building it again: %s", key, exc)
                    self.close()
                else:
                    seconds = time.monotonic() - started
                    self.report = EnvironmentReport(key, True, seconds, cached.built_s, files)
                    note = f"[shipyard] {self.report.describe()}\n"
                    return [ExecResult(exit_code=0, output=note, duration_s=seconds)]
            return self._build(commands, workspace, run, key, files, started)

    def _build(
        self,
        commands: Sequence[str],
        workspace: Path,
        run: Callable[[str], ExecResult],
        key: str,
        files: list[str],
        started: float,
    ) -> list[ExecResult]:
        before = _listing(workspace)
        venv = shlex.quote(self.venv)
        python = shlex.quote(self.base_python)
        site = " --system-site-packages" if self.system_site else ""
        results = [run(f"if command -v {python} >/dev/null 2>&1; then {python} -m venv --without-pip{site} {venv}; fi")]
        if not results[0].ok:
            return results
        for command in commands:
            result = run(command)
            results.append(result)
            if not result.ok:
                return results[1:]
        seconds = time.monotonic() - started
        outputs = new_paths(before, _listing(workspace))
        if self.cache is not None:
            try:
                built_in = str(self.host_dir.parent) if self.host_paths else ""
                self.cache.save(
                    key, self.host_dir / "root", workspace, outputs, built_s=seconds, files=files, built_in=built_in
                )
            except (OSError, subprocess.CalledProcessError) as exc:
                # This sandbox has its environment; only the next one will not find it cached.
                log.warning("environment %s could not be kept in the cache: %s", key, exc)
        self.report = EnvironmentReport(key, False, seconds, seconds, files, kept=self.cache is not None)
        return results[1:]

    def _restore(self, env: Path, saved_workspace: Path, workspace: Path, built_in: str) -> None:
        root, upper, work = self.host_dir / "root", self.host_dir / "upper", self.host_dir / "work"
        if self.host_paths:
            # Paths inside are those of the sandbox that built it: a copy, rewritten for this one.
            copy_tree(env, root)
            relocate(root, built_in, str(self.host_dir.parent))
            if any(saved_workspace.iterdir()):
                copy_tree(saved_workspace, workspace)
                relocate(workspace, built_in, str(self.host_dir.parent))
            return
        upper.mkdir(exist_ok=True)
        work.mkdir(exist_ok=True)
        self._own(upper)
        os.chmod(upper, os.stat(env).st_mode & 0o7777)
        self._overlay = _mount_overlay(env, upper, work, root)
        if not self._overlay:
            copy_tree(env, root)
        if any(saved_workspace.iterdir()):
            copy_tree(saved_workspace, workspace)

    def close(self) -> None:
        """Unmount the overlay (before the sandbox's disk goes)."""
        if self._overlay:
            umount = shutil.which("umount", path=SYSTEM_PATH) or "umount"
            target = str(self.host_dir / "root")
            if subprocess.run([umount, target], capture_output=True).returncode != 0:
                subprocess.run([umount, "-l", target], capture_output=True)
            self._overlay = False
