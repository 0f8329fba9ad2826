"""Workspace hygiene: what a tree must not hold before the gate runs any test in it.

A committed symlink to ``/`` (or one escaping through ``..``) turns a test runner's directory
walk into a crawl of the whole sandbox filesystem until the timeout, once per attempt; device
files, fifos and sockets hang or confuse readers; very large files are a denial of service.
The candidate's git tree is checked before any sandbox starts (``tree_problems``), and the
workspace again after checkout and setup commands (``workspace_problems``), both naming path and reason.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

from workflows.gitops import GitRepo, over_size_limit

MAX_LINK_HOPS = 40
"""Symlinks followed while resolving one path, as the kernel allows (ELOOP beyond)."""


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str


def _resolve(directory: list[str], target: str, links: dict[str, str], hops: int = 0) -> list[str] | None:
    """Path components ``target`` reaches from ``directory`` inside the tree; None when it leaves."""
    if hops > MAX_LINK_HOPS or target.startswith("/"):
        return None
    stack = list(directory)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return None
            stack.pop()
            continue
        stack.append(part)
        inner = links.get("/".join(stack))
        if inner is not None:
            stack.pop()
            resolved = _resolve(stack, inner, links, hops + 1)
            if resolved is None:
                return None
            stack = resolved
    return stack


def escaping_symlinks(links: dict[str, str]) -> list[Problem]:
    """Symlinks (path → target) that resolve outside the tree, through other links too."""
    out = []
    for path, target in sorted(links.items()):
        if _resolve(path.split("/")[:-1], target, links) is None:
            how = "absolute target" if target.startswith("/") else "resolves outside the workspace"
            out.append(Problem(path, f"symlink to {target!r} points outside the workspace ({how})"))
    return out


def tree_problems(repo: GitRepo, sha: str, max_bytes: int) -> list[Problem]:
    """Escaping symlinks and files over ``max_bytes`` in the tree of ``sha`` (git holds no device
    files, fifos or sockets)."""
    out: list[Problem] = []
    links: dict[str, str] = {}
    for entry in repo.git("ls-tree", "-r", "-l", "-z", sha).split("\0"):
        if "\t" not in entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, kind, _obj, size = meta.split()
        if mode == "120000":
            links[path] = (repo.show_file(sha, path) or b"").decode("utf-8", errors="replace")
        elif kind == "blob" and size.isdigit() and int(size) > max_bytes:
            out.append(Problem(path, over_size_limit(int(size), max_bytes)))
    return escaping_symlinks(links) + out


def _special(mode: int) -> str | None:
    for test, name in (
        (stat.S_ISFIFO, "a fifo"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return None


def workspace_problems(root: Path, limit: int = 20) -> list[Problem]:
    """Device files, fifos, sockets and symlinks to directories outside ``root`` (what setup
    commands may have made), found without following any link (at most ``limit`` problems).

    File sizes are checked in the committed tree only: setup may install large dependencies."""
    out: list[Problem] = []
    top = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in (*dirnames, *filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            try:
                info = os.lstat(full)
            except FileNotFoundError:
                continue
            kind = _special(info.st_mode)
            if kind:
                out.append(Problem(rel, f"{kind} in the workspace"))
            elif stat.S_ISLNK(info.st_mode) and os.path.isdir(full):
                real = os.path.realpath(full)
                if real != top and not real.startswith(top + os.sep):
                    out.append(
                        Problem(
                            rel,
                            f"symlink to directory {posixpath.normpath(os.readlink(full))!r} "
                            "points outside the workspace",
                        )
                    )
            if len(out) >= limit:
                return out
    return out


def describe(problems: list[Problem]) -> str:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first.path}: {first.reason}{more}"
