"""Fine-grained permissions as GitHub enforces them for App installation tokens and fine-grained
personal access tokens: each route needs one of a few permission sets; a token without any of
them gets a 403 naming the accepted sets in ``X-Accepted-GitHub-Permissions`` (sets separated
by ``; ``, as api.github.com sends them). The permission is checked before the request body is
validated, which is what lets ``shipyard doctor`` probe write access with an empty body.
"""

from __future__ import annotations

import re

LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
ALL_REPOSITORY = {
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "checks": "write",
    "metadata": "read",
}
"""What the emulator grants a token or an installation nobody restricted."""

_REPO = r"^/api/v3/repos/[^/]+/[^/]+"
_ROUTES: list[tuple[str, re.Pattern, list[dict[str, str]]]] = [
    ("PUT", re.compile(_REPO + r"/pulls/\d+/merge$"), [{"contents": "write"}]),
    ("GET", re.compile(_REPO + r"/pulls"), [{"pull_requests": "read"}]),
    ("*", re.compile(_REPO + r"/pulls"), [{"pull_requests": "write"}]),
    ("GET", re.compile(_REPO + r"/issues"), [{"issues": "read"}, {"pull_requests": "read"}]),
    ("POST", re.compile(_REPO + r"/issues$"), [{"issues": "write"}]),
    ("*", re.compile(_REPO + r"/issues/\d+/(comments|labels)"), [{"issues": "write"}, {"pull_requests": "write"}]),
    ("*", re.compile(_REPO + r"/issues"), [{"issues": "write"}]),
    ("GET", re.compile(_REPO + r"/(check-runs|commits/[^/]+/check-runs)"), [{"checks": "read"}]),
    ("*", re.compile(_REPO + r"/check-runs"), [{"checks": "write"}]),
    ("GET", re.compile(_REPO + r"/(commits|compare|git)"), [{"contents": "read"}]),
]


def accepted_sets(method: str, path: str) -> list[dict[str, str]]:
    """The permission sets any one of which lets a request through (empty: metadata only, always granted)."""
    for verb, pattern, sets in _ROUTES:
        if verb in (method, "*") and pattern.search(path):
            return sets
    return []


def git_sets(service: str) -> list[dict[str, str]]:
    """Permission sets for git over smart HTTP: fetching reads contents, pushing writes them."""
    return [{"contents": "write"}] if service == "git-receive-pack" else [{"contents": "read"}]


def allows(granted: dict[str, str], sets: list[dict[str, str]]) -> bool:
    if not sets:
        return True
    return any(all(LEVELS.get(granted.get(k, "none"), 0) >= LEVELS[v] for k, v in s.items()) for s in sets)


def header(sets: list[dict[str, str]]) -> str:
    """``X-Accepted-GitHub-Permissions``: ``issues=write; pull_requests=write``."""
    return "; ".join(",".join(f"{k}={v}" for k, v in s.items()) for s in sets)


def refusal(token: str) -> str:
    """GitHub's message for a token without the permission a route needs."""
    actor = "integration" if token.startswith("ghs_") else "personal access token"
    return f"Resource not accessible by {actor}"
