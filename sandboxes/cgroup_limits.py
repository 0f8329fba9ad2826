"""Kernel limits for host-process sandboxes (bwrap / plain subprocess) via cgroups.

Docker applies pids and memory limits itself; a sandbox that runs as host processes gets
the same from a per-sandbox cgroup when the orchestrator may create one (root, cgroup v1
or v2 mounted writable). The cgroup also names every process of the sandbox, so a
timeout or ``close`` kills processes that escaped the process group with ``setsid``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


class SandboxCgroup:
    """One cgroup per sandbox; in v1 a directory under each of the pids and memory hierarchies."""

    def __init__(self, name: str, *, pids: int, memory_mb: int) -> None:
        self.dirs: list[Path] = []
        unified = (CGROUP_ROOT / "cgroup.controllers").exists()
        if unified:
            parents = [CGROUP_ROOT / "shipyard"]
        else:
            parents = [CGROUP_ROOT / "pids" / "shipyard", CGROUP_ROOT / "memory" / "shipyard"]
        for parent in parents:
            if unified and not parent.exists():
                parent.mkdir()
                (parent / "cgroup.subtree_control").write_text("+pids +memory")
            path = parent / name
            path.mkdir(parents=True, exist_ok=True)
            self.dirs.append(path)
        memory = memory_mb * 1024 * 1024
        if unified:
            self._write("pids.max", str(pids))
            self._write("memory.max", str(memory))
            self._write("memory.swap.max", "0", optional=True)
        else:
            self._write("pids.max", str(pids))
            self._write("memory.limit_in_bytes", str(memory))
            self._write("memory.memsw.limit_in_bytes", str(memory), optional=True)

    def _write(self, knob: str, value: str, *, optional: bool = False) -> None:
        for path in self.dirs:
            if (path / knob).exists():
                (path / knob).write_text(value)
                return
        if not optional:
            raise OSError(f"cgroup knob {knob} not found under {[str(d) for d in self.dirs]}")

    @property
    def procs_files(self) -> list[str]:
        """Files a process writes its pid to, to join the cgroup (before it execs the command)."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def oom_kills(self) -> int:
        """How many processes the memory limit has killed so far."""
        for path in self.dirs:
            for knob in ("memory.events", "memory.oom_control"):
                f = path / knob
                if f.exists():
                    for line in f.read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
        return 0

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.dirs:
            try:
                found.update(int(p) for p in (path / "cgroup.procs").read_text().split())
            except FileNotFoundError:
                pass
        return found

    def kill_all(self, deadline_s: float = 5.0) -> None:
        """SIGKILL every process in the cgroup until it is empty (a fork bomb keeps forking)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for path in self.dirs:
            end = time.monotonic() + 2.0
            while path.exists() and time.monotonic() < end:
                try:
                    path.rmdir()
                except OSError:
                    # Killed processes leave the cgroup a moment after SIGKILL.
                    time.sleep(0.01)


def cgroups_available() -> bool:
    """True when this process may create cgroups with pids and memory limits."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        parent = CGROUP_ROOT
        needed = ("pids", "memory")
        controllers = (
            (parent / "cgroup.subtree_control").read_text().split()
            if (parent / "cgroup.subtree_control").exists()
            else []
        )
        return all(c in controllers for c in needed) and os.access(parent, os.W_OK)
    return all(os.access(CGROUP_ROOT / c, os.W_OK) for c in ("pids", "memory"))
