"""Removing sandboxes left behind by crashed workers.

Every sandbox container carries ``shipyard.sandbox=1``, ``shipyard.owner=<host>:<pid>`` and
``shipyard.sandbox.dir=<host dir>``. A container is leaked when it is older than the
threshold, is not in ``keep_ids``, and its owner is not a live process on this host (a
worker on another host is judged by age alone). Its workspace directory goes with it, its
disk quota filesystem unmounted and its image deleted.

Host-process sandboxes (bwrap, plain) leave no container: ``reap_leaked_dirs`` finds their
directories (``local-<12 hex>-…``, and ``probe-…`` of the trial run that checks bwrap) under the
provider's root, with the owner (``<host>:<pid>``) each one records in ``owner``. One is leaked
when that owner is a dead process on this host, or, with no owner recorded, when it is older than
the threshold; a directory owned on another host is left to that host. Its disk and its cgroup
(if any) go with it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import time
from collections.abc import Iterable
from pathlib import Path

import docker
from docker.errors import DockerException, NotFound

from sandboxes.disk_quota import release_disk
from sandboxes.docker import DIR_LABEL, OWNER_LABEL, SANDBOX_LABEL


def _owner_alive(owner: str | None) -> bool:
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    return Path(f"/proc/{pid}").exists()


def _kept(info: dict, keep: set[str]) -> bool:
    labels = info.get("Labels") or {}
    names = {info["Id"], info["Id"][:12], labels.get(f"{SANDBOX_LABEL}.id", "")}
    return bool(names & keep)


def _remove_workspace_dir(info: dict) -> None:
    labels = info.get("Labels") or {}
    sandbox_dir, sandbox_id = labels.get(DIR_LABEL), labels.get(f"{SANDBOX_LABEL}.id")
    # Only a directory named for this very sandbox: labels are data, not a licence to rm -rf.
    if sandbox_dir and sandbox_id and Path(sandbox_dir).name.startswith(f"{sandbox_id}-"):
        release_disk(Path(sandbox_dir))
        shutil.rmtree(sandbox_dir, ignore_errors=True)


def reap_leaked(
    client: docker.DockerClient,
    older_than_s: float,
    keep_ids: Iterable[str] = (),
    *,
    spare_live_owners: bool = True,
) -> list[str]:
    """Remove leaked sandbox containers (and their workspaces); returns their container ids.

    ``keep_ids``: container ids (full or short) or sandbox ids that are still in use.
    ``spare_live_owners``: skip containers whose owning process still runs on this host.
    """
    keep = set(keep_ids)
    cutoff = time.time() - older_than_s
    removed: list[str] = []
    for info in client.api.containers(all=True, filters={"label": f"{SANDBOX_LABEL}=1"}):
        if info["Created"] > cutoff or _kept(info, keep):
            continue
        if spare_live_owners and _owner_alive((info.get("Labels") or {}).get(OWNER_LABEL)):
            continue
        try:
            client.api.remove_container(info["Id"], force=True)
        except NotFound:
            pass
        except DockerException:
            # Next sweep tries again; one stuck container must not stop the others.
            continue
        _remove_workspace_dir(info)
        removed.append(info["Id"])
    return removed


# A host-process sandbox, or the trial run that checks bwrap works (no cgroup of its own).
LOCAL_SANDBOX_DIR = re.compile(r"(local-[0-9a-f]{12}|probe)-[^/]+")
CGROUP_PARENTS = (
    Path("/sys/fs/cgroup/shipyard"),
    Path("/sys/fs/cgroup/pids/shipyard"),
    Path("/sys/fs/cgroup/memory/shipyard"),
)


def reap_leaked_dirs(root: Path, older_than_s: float, keep_dirs: Iterable[Path] = ()) -> list[Path]:
    """Remove host-process sandbox directories (and their disks) whose worker is gone; returns them.

    Never follows a link: a ``local-*`` entry that is a symlink is not a sandbox. Images whose
    directory is gone go too."""
    root = Path(root)
    if not root.is_dir():
        return []
    keep = {Path(p) for p in keep_dirs}
    cutoff = time.time() - older_than_s
    removed: list[Path] = []
    for path in sorted(root.iterdir()):
        match = LOCAL_SANDBOX_DIR.fullmatch(path.name)
        if not match or path in keep or path.is_symlink() or not path.is_dir() or not _local_leaked(path, cutoff):
            continue
        _remove_cgroup(match.group(1))
        release_disk(path)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    for image in root.glob("*.img"):
        if not image.with_suffix("").exists() and image.stat().st_mtime <= cutoff:
            image.unlink(missing_ok=True)
    return removed


def _local_leaked(path: Path, cutoff: float) -> bool:
    try:
        owner = (path / "owner").read_text().strip()
    except OSError:
        owner = None
    if not owner:
        try:
            return path.stat().st_mtime <= cutoff
        except OSError:
            return False
    # Another host's sandbox is that host's to judge; here, a dead owner means a killed worker.
    return owner.rpartition(":")[0] == socket.gethostname() and not _owner_alive(owner)


def _remove_cgroup(sandbox_id: str) -> None:
    for parent in CGROUP_PARENTS:
        group = parent / sandbox_id
        if not group.is_dir():
            continue
        try:
            for pid in (group / "cgroup.procs").read_text().split():
                os.kill(int(pid), signal.SIGKILL)
            group.rmdir()
        except (OSError, ValueError):
            pass  # still busy: the next sweep tries again


def reap_orphaned_processes(root: Path) -> list[int]:
    """SIGKILL sandbox processes (bwrap) of this deployment whose parent died; returns their pids.

    ``--die-with-parent`` misses a parent killed while bwrap is starting (it sets its death signal
    after the fork), and an orphan then sleeps forever under init. Only processes adopted by init
    whose command line binds a path under ``root`` are touched: a live worker's sandbox has a parent.
    """
    marker = f"{Path(root)}/".encode()
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == 1 and argv and os.path.basename(argv[0]) == b"bwrap" and any(marker in arg for arg in argv):
            try:
                os.kill(int(entry), signal.SIGKILL)
                killed.append(int(entry))
            except ProcessLookupError:
                pass
    return killed
