"""The local GitHub emulator (demo and tests, not GitHub): the REST endpoints Shipyard uses, state in memory, and git over
smart HTTP through ``git http-backend`` with token auth.

Payload shapes follow api.github.com (the fields PyGithub reads). Fault switches:
``faults.rate_limited`` (403 secondary rate limit with Retry-After), ``faults.server_error`` (500),
``faults.expired_tokens`` (401 for those tokens).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from orchestrator.github_emulator import shapes
from workflows.gitops import run_git


@dataclass
class Faults:
    rate_limited: int = 0
    """Answer the next N API requests with a 403 secondary rate limit."""
    server_error: int = 0
    """Answer the next N API requests with a 500."""
    expired_tokens: set[str] = field(default_factory=set)


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
    ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def repo_path(self, full: str) -> Path:
        return self.root / f"{full}.git"

    def create_repo(self, full: str, seed: Path, branch: str = "main") -> Path:
        path = self.repo_path(full)
        path.parent.mkdir(parents=True, exist_ok=True)
        run_git(["clone", "-q", "--bare", str(seed), str(path)])
        run_git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], cwd=path)
        return path

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
    except Exception:  # branch deleted
        return None


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "documentation_url": "https://docs.github.com/rest"}, status, headers=headers)


def create_app(st: State) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def gate(request: Request, call_next):
        st.requests.append({"method": request.method, "path": request.url.path})
        if not request.url.path.startswith("/api/v3"):
            return await call_next(request)
        token = request.headers.get("authorization", "").split(" ")[-1]
        if request.url.path.startswith("/api/v3/app/"):
            return await call_next(request)
        if token in st.faults.expired_tokens:
            return _error(401, "Bad credentials")
        if token not in st.tokens:
            return _error(401, "Bad credentials")
        if st.faults.rate_limited:
            st.faults.rate_limited -= 1
            st.requests[-1]["status"] = 403
            return _error(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", {"Retry-After": "1"})
        if st.faults.server_error:
            st.faults.server_error -= 1
            return _error(500, "Server Error")
        resp = await call_next(request)
        st.requests[-1]["status"] = resp.status_code
        resp.headers.update({"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999", "X-RateLimit-Resource": "core"})
        return resp

    from orchestrator.github_emulator.routes import add_app_routes, add_git_routes, add_rest_routes

    from orchestrator.github_emulator.oauth import add_oauth_routes

    add_oauth_routes(app, st)
    add_app_routes(app, st)
    add_rest_routes(app, st)
    add_git_routes(app, st)
    return app
