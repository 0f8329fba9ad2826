"""The local GitHub emulator (demo and tests, not GitHub): the REST endpoints Shipyard uses, state in memory, and git
over smart HTTP through ``git http-backend`` with token auth.

Payload shapes follow api.github.com (the fields PyGithub reads). Fault switches:
``faults.rate_limited`` (403 secondary rate limit with Retry-After), ``faults.server_error`` (500),
``faults.expired_tokens`` (401 for those tokens).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from orchestrator.emulators.github import permissions, shapes
from orchestrator.emulators.github.permissions import ALL_REPOSITORY
from workflows.gitops import GitError, run_git


@dataclass
class Faults:
    rate_limited: int = 0
    """Answer the next N API requests with a 403 secondary rate limit."""
    server_error: int = 0
    """Answer the next N API requests with a 500."""
    expired_tokens: set[str] = field(default_factory=set)
    too_many_requests: int = 0
    """Answer the next N API requests with a 429 and ``Retry-After: 1``."""
    primary_exhausted: int = 0
    """Exhaust the primary rate limit N times: each time, every API request for ``primary_reset_s`` is
    answered ``primary_status`` with ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (no Retry-After)."""
    slow: int = 0
    """Answer the next N API requests ``slow_s`` seconds late (each is carried out at once, as a slow GitHub does)."""
    slow_s: float = 0.0
    slow_method: str = ""
    """Only requests with this method are slowed ("": any)."""
    primary_status: int = 403
    """GitHub answers an exhausted primary limit with 403 or 429."""
    primary_reset_s: float = 1.0
    primary_until: float = 0.0


@dataclass
class State:
    root: Path
    base: str = ""
    tokens: set[str] = field(default_factory=set)
    permissions: dict[str, str] = field(default_factory=dict)
    required_approvals: int = 0
    pulls: dict[tuple[str, int], dict] = field(default_factory=dict)
    issues: dict[tuple[str, int], dict] = field(default_factory=dict)
    comments: list[dict] = field(default_factory=list)
    reviews: list[dict] = field(default_factory=list)
    review_comments: list[dict] = field(default_factory=list)
    check_runs: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    token_permissions: dict[str, dict[str, str]] = field(default_factory=dict)
    """Fine-grained permissions of a token (``{"issues": "read", ...}``); a token not listed has them all."""
    app_permissions: dict[str, str] = field(default_factory=lambda: dict(ALL_REPOSITORY))
    """The App installation's repository permissions; minted tokens carry these."""
    installed_repos: set[str] | None = None
    """Repositories the App installation covers (None: all of the owner's)."""
    installation_id: int = 7
    rate_limit: int = 5000
    rate_used: int = 0
    """Requests counted against the primary rate limit (a 304 costs nothing, as on GitHub)."""
    app_id: int = 0
    app_public_key: str = ""
    """PEM public key of the GitHub App whose JWTs mint installation tokens."""
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_login: str = ""
    """The GitHub user who is "signed in" at the OAuth authorize page."""
    oauth_tokens: dict[str, str] = field(default_factory=dict)
    token_ttl_s: float = 3600.0
    issued_tokens: list[str] = field(default_factory=list)
    token_users: dict[str, str] = field(default_factory=dict)
    """Login acting with a token (an installation token acts as ``shipyard[bot]``)."""
    issue_events: list[dict] = field(default_factory=list)
    """``labeled``/``unlabeled`` events of issues, with their actor (``GET …/issues/{n}/events``)."""
    token_expiry: dict[str, float] = field(default_factory=dict)
    """Installation token → epoch second after which GitHub answers it 401, as it does."""
    ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def token_valid(self, token: str) -> bool:
        if token not in self.tokens or token in self.faults.expired_tokens:
            return False
        return time.time() < self.token_expiry.get(token, float("inf"))

    def repo_path(self, full: str) -> Path:
        return self.root / f"{full}.git"

    def create_repo(self, full: str, seed: Path, branch: str = "main") -> Path:
        path = self.repo_path(full)
        path.parent.mkdir(parents=True, exist_ok=True)
        run_git(["clone", "-q", "--bare", str(seed), str(path)])
        run_git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], cwd=path)
        return path

    def label_issue(self, full: str, number: int, name: str, actor: str) -> None:
        """``actor`` adds label ``name`` to issue ``number`` (recorded as a ``labeled`` event, as on GitHub)."""
        with self.lock:
            have = self.issues[(full, number)].setdefault("labels", [])
            if name not in {lbl["name"] for lbl in have}:
                have.append({"id": next(self.ids), "name": name})
            self.issue_events.append(
                {"id": next(self.ids), "issue": (full, number), "event": "labeled", "actor": actor, "label": name}
            )

    def next_number(self, full: str) -> int:
        used = [n for (r, n) in [*self.pulls, *self.issues] if r == full]
        return max(used, default=0) + 1


def _user(login: str, base: str) -> dict:
    return shapes.user(login, base)


def repo_json(st: State, full: str) -> dict:
    return shapes.repository(st.base, full)


def pull_json(st: State, full: str, pr: dict) -> dict:
    return shapes.pull(st.base, full, pr, _sha(st, full, pr["head"]), _sha(st, full, pr["base"]))


def _sha(st: State, full: str, ref: str) -> str | None:
    try:
        return run_git(["rev-parse", f"refs/heads/{ref}"], cwd=st.repo_path(full)).strip()
    except GitError:  # branch deleted
        return None


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"message": message, "documentation_url": "https://docs.github.com/rest"}, status, headers=headers
    )


def _rate_headers(st: State, remaining: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(st.rate_limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Used": str(st.rate_used),
        "X-RateLimit-Reset": str(int(time.time()) + 1),
        "X-RateLimit-Resource": "core",
    }


def _refusal(st: State, token: str, method: str, path: str) -> JSONResponse | None:
    """The error GitHub would answer instead of serving the request, or None."""
    if not st.token_valid(token):
        return _error(401, "Bad credentials")
    sets = permissions.accepted_sets(method, path)
    if not permissions.allows(st.token_permissions.get(token, ALL_REPOSITORY), sets):
        return _error(403, permissions.refusal(token), {"X-Accepted-GitHub-Permissions": permissions.header(sets)})
    faults = st.faults
    if faults.rate_limited:
        faults.rate_limited -= 1
        return _error(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            {"Retry-After": "1"},
        )
    if faults.too_many_requests:
        faults.too_many_requests -= 1
        return _error(429, "Too Many Requests", {"Retry-After": "1"})
    if faults.primary_exhausted and time.time() >= faults.primary_until:
        faults.primary_exhausted -= 1
        faults.primary_until = time.time() + faults.primary_reset_s
    if time.time() < faults.primary_until:
        reset = {"X-RateLimit-Reset": str(math.ceil(faults.primary_until))}
        return _error(
            faults.primary_status, "API rate limit exceeded for installation ID 7.", _rate_headers(st, 0) | reset
        )
    if faults.server_error:
        faults.server_error -= 1
        return _error(500, "Server Error")
    return None


def create_app(st: State) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def gate(request: Request, call_next):
        st.requests.append({"method": request.method, "path": request.url.path})
        path = request.url.path
        if not path.startswith("/api/v3") or path.startswith("/api/v3/app/") or path.endswith("/installation"):
            return await call_next(request)  # git (own auth), and the App's JWT routes
        token = request.headers.get("authorization", "").split(" ")[-1]
        refused = _refusal(st, token, request.method, path)
        if refused is not None:
            st.requests[-1]["status"] = refused.status_code
            return refused
        slow = st.faults.slow and st.faults.slow_method in ("", request.method)
        st.faults.slow -= 1 if slow else 0
        entry = st.requests[-1]
        resp = await call_next(request)
        entry["status"] = resp.status_code
        if slow:  # done, but answered late: the client may time out and retry what already happened
            await asyncio.sleep(st.faults.slow_s)
        if resp.status_code != 304:  # conditional requests answered 304 are free on GitHub
            st.rate_used += 1
        resp.headers.update(_rate_headers(st, max(st.rate_limit - st.rate_used, 0)))
        return resp

    from orchestrator.emulators.github.oauth import add_oauth_routes
    from orchestrator.emulators.github.routes import add_app_routes, add_git_routes, add_graphql_routes, add_rest_routes

    add_oauth_routes(app, st)
    add_app_routes(app, st)
    add_rest_routes(app, st)
    add_graphql_routes(app, st)
    add_git_routes(app, st)
    return app
