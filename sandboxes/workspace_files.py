"""Reading and writing workspace files from the host without leaving the workspace.

Code in the sandbox controls the workspace, so a path the orchestrator is asked to read
may be a symlink to ``/etc/shadow``, a FIFO that blocks forever, a huge sparse file, or a
directory that is swapped for a symlink between the check and the open. Every path is
resolved, checked against the workspace, then opened component by component with
``O_NOFOLLOW`` relative to the workspace's own file descriptor, so a late swap fails
instead of escaping.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from sandboxes.base import SandboxError

MAX_READ_BYTES = 64 * 1024 * 1024
"""Largest file ``read_workspace_file`` returns; the sandbox could create a sparse 1 TB file."""


def _relative_parts(workspace: Path, path: str) -> list[str]:
    """The checked path components of ``path`` inside ``workspace`` (symlinks resolved)."""
    if not path or "\x00" in path:
        raise SandboxError(f"workspace path {path!r}: refused: empty or contains a NUL byte")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise SandboxError(
            f"workspace path {path!r}: refused: absolute paths are not allowed, use a path relative to the workspace"
        )
    if ".." in pure.parts:
        raise SandboxError(f"workspace path {path!r}: refused: '..' would leave the workspace")
    root = workspace.resolve()
    resolved = (root / pure).resolve()
    try:
        rel = resolved.relative_to(root)
    except ValueError:
        raise SandboxError(
            f"workspace path {path!r}: refused: a symlink resolves to {resolved}, outside the workspace"
        ) from None
    if not rel.parts:
        raise SandboxError(f"workspace path {path!r}: refused: names the workspace itself, not a file")
    return list(rel.parts)


def _open_parent(workspace: Path, parts: list[str], path: str, *, create: bool, owner: tuple[int, int] | None) -> int:
    """A directory fd for the parent of ``parts``, walked without following symlinks."""
    fd = os.open(workspace.resolve(), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in parts[:-1]:
            if create:
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                    if owner:
                        os.chown(name, *owner, dir_fd=fd, follow_symlinks=False)
                except FileExistsError:
                    pass
            nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return fd
    except OSError as exc:
        os.close(fd)
        raise SandboxError(f"workspace path {path!r}: refused: {_why(exc)}") from None


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return "a path component is a symlink or not a directory (changed while opening)"
    if exc.errno == errno.ENOENT:
        return "no such file in the workspace"
    return exc.strerror or str(exc)


def read_workspace_file(workspace: Path, path: str, *, max_bytes: int = MAX_READ_BYTES) -> bytes:
    """The bytes of a regular file inside ``workspace``; ``SandboxError`` says why not."""
    parts = _relative_parts(workspace, path)
    dir_fd = _open_parent(workspace, parts, path, create=False, owner=None)
    try:
        # O_NONBLOCK: opening a FIFO planted by the sandbox must not hang the orchestrator.
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        raise SandboxError(f"workspace path {path!r}: cannot read: {_why(exc)}") from None
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SandboxError(f"workspace path {path!r}: cannot read: not a regular file")
        if info.st_size > max_bytes:
            raise SandboxError(
                f"workspace path {path!r}: cannot read: {info.st_size} bytes is over the {max_bytes}-byte limit"
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SandboxError(f"workspace path {path!r}: cannot read: grew past the {max_bytes}-byte limit")
        return data
    finally:
        os.close(fd)


def write_workspace_file(workspace: Path, path: str, data: bytes, *, owner: tuple[int, int] | None = None) -> None:
    """Write ``data`` to a file inside ``workspace``, creating parents; ``owner`` is (uid, gid)."""
    parts = _relative_parts(workspace, path)
    dir_fd = _open_parent(workspace, parts, path, create=True, owner=owner)
    try:
        fd = os.open(
            parts[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644, dir_fd=dir_fd
        )
    except OSError as exc:
        raise SandboxError(f"workspace path {path!r}: cannot write: {_why(exc)}") from None
    finally:
        os.close(dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SandboxError(f"workspace path {path!r}: cannot write: not a regular file")
        if owner:
            os.fchown(fd, *owner)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def hand_over_tree(root: Path, uid: int, gid: int) -> int:
    """Give every entry under ``root`` (and ``root``) to ``uid:gid``; returns how many changed.

    Files the orchestrator writes as root (git checkout) must be editable by the sandbox's
    unprivileged user. ``os.fwalk`` with ``follow_symlinks=False`` and ``dir_fd``-relative
    ``lchown`` keep a symlink planted mid-walk from redirecting the chown outside ``root``.
    """
    changed = 0
    info = os.lstat(root)
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.lchown(root, uid, gid)
        changed += 1
    for _dirpath, dirnames, filenames, dir_fd in os.fwalk(root, follow_symlinks=False):
        for name in (*dirnames, *filenames):
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if (st.st_uid, st.st_gid) != (uid, gid):
                    os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
                    changed += 1
            except FileNotFoundError:
                # Removed by a sandbox process while we walked: nothing to hand over.
                continue
    return changed
