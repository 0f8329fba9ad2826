"""Login and logout pages: a password checked against its scrypt hash, then a session cookie."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from orchestrator.domain import accounts
from orchestrator.web.auth import SESSION_COOKIE
from orchestrator.web.github_login import enabled as github_enabled
from orchestrator.web.pages import render

router = APIRouter()

MAX_FAILURES = 5
FAILURE_WINDOW_S = 300.0


class LoginThrottle:
    """At most ``MAX_FAILURES`` wrong passwords per account name in ``FAILURE_WINDOW_S``; then 429 until
    the oldest failure ages out. Per server process: several processes each allow that many."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def wait_s(self, name: str) -> float:
        failures, now = self._failures[name.lower()], time.monotonic()
        while failures and failures[0] < now - FAILURE_WINDOW_S:
            failures.popleft()
        return failures[0] + FAILURE_WINDOW_S - now if len(failures) >= MAX_FAILURES else 0.0

    def failed(self, name: str) -> None:
        self._failures[name.lower()].append(time.monotonic())


def _local(target: str | None) -> str:
    """Only a path on this site: a login link must not send the user elsewhere afterwards."""
    target = target or "/"
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if request.app.state.auth_off or getattr(request.state, "principal", None):
        return RedirectResponse(_local(next), status_code=303)
    return render(
        request,
        "login.html",
        {"next": _local(next), "failed": False, "github": github_enabled(request.app.state.ship.settings)},
    )


@router.post("/login")
async def log_in(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    target = _local(str(form.get("next") or "/"))
    ship, throttle = request.app.state.ship, request.app.state.login_throttle
    wait = throttle.wait_s(name)
    if wait > 0:
        throttled = f"Too many wrong passwords for {name}: try again in {int(wait) + 1} s."
        return render(
            request,
            "login.html",
            {"next": target, "failed": False, "name": name, "throttled": throttled},
            status_code=429,
        )
    session_id = await run_in_threadpool(accounts.log_in, ship.store, name, password, ship.settings.web_session_hours)
    if session_id is None:
        throttle.failed(name)
        return render(request, "login.html", {"next": target, "failed": True, "name": name}, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=int(ship.settings.web_session_hours * 3600), httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response


@router.post("/logout")
async def log_out(request: Request) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await run_in_threadpool(accounts.log_out, request.app.state.ship.store, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
