"""Removing sandbox containers left behind by crashed workers.

Every sandbox container carries ``shipyard.sandbox=1``, ``shipyard.owner=<host>:<pid>`` and
``shipyard.sandbox.dir=<host dir>``. A container is leaked when it is older than the
threshold, is not in ``keep_ids``, and its owner is not a live process on this host (a
worker on another host is judged by age alone). Its workspace directory goes with it.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import Iterable

import docker
from docker.errors import DockerException, NotFound

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
