"""A bounded disk per sandbox: a size-limited ext4 image loop-mounted over the sandbox directory.

Everything a sandbox can write on the host's disk (the workspace, and the home of host-process
sandboxes) lives on this filesystem, so filling it stops at the quota and the host's disk is
untouched; ``df`` inside shows the quota. The image is a sparse file beside the sandbox
directory (``<dir>.img``): it takes host space only as the sandbox writes, at most the quota.
Mounted ``nosuid,nodev``; creating and mounting one takes tens of milliseconds.

Needs root (mount), ``mkfs.ext4`` (e2fsprogs) and loop devices. ``release_disk`` undoes it
for a released sandbox and for a leaked one (the reaper), knowing only the directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sandboxes.base import DiskQuotaExceeded, SandboxError

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""Where the mount tools are looked up: never the caller's PATH (these run as root)."""
FULL_BELOW_BYTES = 1024 * 1024
"""A quota filesystem with less free space than this after a command counts as full."""
FULL_BELOW_INODES = 16
"""Nor with fewer free inodes than this (a flood of empty files fills a filesystem too)."""
QUOTA_FIX = (
    "per-sandbox disk quotas mount a filesystem image per sandbox: run the orchestrator as root "
    "on a host with loop devices and mkfs.ext4 (apt-get install e2fsprogs)"
)


def quota_problem() -> str | None:
    """Why disk quotas cannot be made by this process, or None when they can."""
    if os.geteuid() != 0:
        return "not running as root"
    if not _tool("mkfs.ext4"):
        return "mkfs.ext4 is not installed"
    if not Path("/dev/loop-control").exists():
        return "no loop devices (/dev/loop-control is missing)"
    return None


def image_of(directory: Path) -> Path:
    """The filesystem image backing a sandbox directory."""
    return directory.with_name(directory.name + ".img")


def _tool(name: str) -> str | None:
    return shutil.which(name, path=SYSTEM_PATH)


def _run(argv: list[str]) -> None:
    proc = subprocess.run([_tool(argv[0]) or argv[0], *argv[1:]], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise SandboxError(f"disk quota: `{' '.join(argv)}` failed: {(proc.stderr or proc.stdout).strip()}")


class QuotaDisk:
    """A ``size_mb`` filesystem mounted over ``directory`` (which must exist and be empty)."""

    def __init__(self, directory: Path, size_mb: int) -> None:
        self.directory = directory
        self.size_mb = size_mb
        self.image = image_of(directory)
        try:
            with open(self.image, "xb") as f:
                f.truncate(size_mb * 1024 * 1024)
            # No journal (the filesystem dies with the sandbox), no reserved blocks (the
            # quota is what the sandbox gets); noinit_itable: a sparse image already reads as zeros.
            _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard", str(self.image)])
            _run(["mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noinit_itable", str(self.image), str(directory)])
        except (OSError, subprocess.TimeoutExpired, SandboxError) as exc:
            release_disk(directory)
            raise SandboxError(f"disk quota of {size_mb} MB could not be set up: {exc}") from None
        (directory / "lost+found").rmdir()
        os.chmod(directory, 0o711)

    def is_full(self) -> bool:
        """Out of space, or out of inodes (a flood of empty files fills a disk too)."""
        st = os.statvfs(self.directory)
        return st.f_bavail * st.f_frsize < FULL_BELOW_BYTES or st.f_favail < FULL_BELOW_INODES

    def check(self, command: str) -> None:
        """Raise ``DiskQuotaExceeded`` when ``command`` left the quota filesystem full."""
        if self.is_full():
            shown = command if len(command) <= 200 else command[:197] + "..."
            raise DiskQuotaExceeded(
                f"disk quota exceeded ({self.size_mb} MB): the sandbox's disk was full after `{shown}`; "
                "raise sandbox.disk_mb in .shipyard.yml if the repository needs more"
            )

    def release(self) -> None:
        release_disk(self.directory)


def release_disk(directory: Path) -> None:
    """Unmount a sandbox directory's quota filesystem (if mounted) and delete its image. Idempotent."""
    if os.path.ismount(directory):
        umount = _tool("umount") or "umount"
        proc = subprocess.run([umount, str(directory)], capture_output=True, timeout=60)
        if proc.returncode != 0:
            # Still busy (a process not yet reaped): detach now, the kernel frees it when unused.
            subprocess.run([umount, "-l", str(directory)], capture_output=True, timeout=60)
    try:
        image_of(directory).unlink()
    except FileNotFoundError:
        pass
