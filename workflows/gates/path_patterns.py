"""Glob patterns over repository paths, as ``.shipyard.yml`` writes them.

``**`` spans directories, ``*`` and ``?`` stay inside one path component. A pattern with no
``/`` matches the file name at any depth (``setup.cfg`` also guards ``pkg/setup.cfg``), the
way ``.gitignore`` reads such patterns; a pattern with a ``/`` is anchored at the root.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip().lstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    if pattern.endswith("/"):
        pattern += "**"
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path: str, pattern: str) -> bool:
    """True when the repository-relative ``path`` matches ``pattern``."""
    return _compile(pattern).match(path) is not None


def first_match(path: str, patterns: Iterable[str]) -> str | None:
    """The first pattern ``path`` matches, or None."""
    return next((p for p in patterns if matches(path, p)), None)
