"""Finding and killing a container's processes from the host, when the engine is local.

Killing an exec's leftover processes from inside the container needs another exec, which
the engine queues behind the first one's output streams (up to seconds), and which a fork
bomb at the pids limit cannot even start. When the engine runs on this machine, the
container's cgroup lists its processes by host pid, so they can be killed directly.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def host_procs_file(container_id: str, init_pid: int) -> Path | None:
    """The host's ``cgroup.procs`` of the container, or None when the engine is not local."""
    try:
        lines = Path(f"/proc/{init_pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if container_id not in path:
            continue
        if controllers == "":
            candidate = CGROUP_ROOT / path.lstrip("/") / "cgroup.procs"
        elif "pids" in controllers.split(","):
            candidate = CGROUP_ROOT / "pids" / path.lstrip("/") / "cgroup.procs"
        else:
            continue
        if candidate.exists():
            return candidate
    return None


def _has_marker(pid: int, marker: bytes) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return marker in environ.split(b"\0")


def kill_marked(procs_file: Path, marker: str, rounds: int = 5) -> int:
    """SIGKILL every process in the cgroup whose environment holds ``SHIPYARD_EXEC=<marker>``."""
    needle = f"SHIPYARD_EXEC={marker}".encode()
    killed = 0
    for _ in range(rounds):
        try:
            pids = [int(p) for p in procs_file.read_text().split()]
        except OSError:
            return killed
        found = [pid for pid in pids if _has_marker(pid, needle)]
        if not found:
            return killed
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed
