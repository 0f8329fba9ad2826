"""Which isolated sandbox backend ``shipyard demo`` runs on, installing bubblewrap if it must.

The demo never runs the sample backlog as plain host processes: Docker when an engine
answers, else bubblewrap (installed with apt when this process is root and it is missing, with
e2fsprogs for the sandboxes' disk quota).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console

from sandboxes.base import SandboxError
from sandboxes.disk_quota import SYSTEM_PATH
from sandboxes.factory import docker_available
from sandboxes.local import LocalSandboxProvider

APT_LOG = Path(tempfile.gettempdir()) / "shipyard-demo-apt.log"


class DemoBackendError(SystemExit):
    """No isolated backend can be had; the message says why and what to do."""


def _bwrap_problem() -> str | None:
    with tempfile.TemporaryDirectory() as root:
        try:
            LocalSandboxProvider(Path(root) / "sandboxes", isolation="bwrap")
        except SandboxError as exc:
            return str(exc)
    return None


def _install_bubblewrap(console: Console) -> str | None:
    """apt-get install bubblewrap (util-linux for setpriv, e2fsprogs for disk quotas); a reason when it cannot."""
    if os.geteuid() != 0:
        return "not running as root, so it cannot be installed here (run: sudo apt-get install bubblewrap)"
    if not shutil.which("apt-get"):
        return "apt-get is not available to install it"
    console.print("No Docker engine answers and bubblewrap is missing: installing it with apt-get "
                  f"(log: {APT_LOG})…")  # fmt: skip
    with open(APT_LOG, "wb") as log:
        for argv in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "bubblewrap", "util-linux", "e2fsprogs"],
        ):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            if subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=env).returncode != 0:
                return f"`{' '.join(argv)}` failed; see {APT_LOG}"
    return None


def choose_demo_backend(console: Console) -> str:
    """``docker`` when an engine answers, else ``local`` with bubblewrap working (installed if needed).

    Raises ``DemoBackendError`` (exit status 1, with the reason) when neither can be had."""
    if docker_available():
        return "docker"
    problem = _bwrap_problem()
    if problem and not (shutil.which("bwrap") and shutil.which("mkfs.ext4", path=SYSTEM_PATH)):
        install_problem = _install_bubblewrap(console)
        problem = f"{problem}; {install_problem}" if install_problem else _bwrap_problem()
    if problem:
        raise DemoBackendError(f"shipyard demo: no isolated sandbox backend: no Docker engine answers and {problem}. "
                               "The demo does not run the sample backlog as plain host processes.")  # fmt: skip
    return "local"
