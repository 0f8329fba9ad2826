"""Log in with GitHub (OAuth web flow): GitHub says who the person is; a Shipyard account linked to that
GitHub login (``shipyard users add NAME --github LOGIN``) says what they may do. Unlinked logins get nothing."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from orchestrator.domain import accounts
from orchestrator.web.auth import SESSION_COOKIE
from orchestrator.web.pages import error_page

router = APIRouter()
STATE_COOKIE = "shipyard_oauth_state"


def enabled(settings) -> bool:
    return bool(settings.web_github_client_id and settings.web_github_client_secret)


def _callback_url(request: Request) -> str:
    return str(request.url_for("github_callback"))


@router.get("/login/github")
def github_start(request: Request) -> Response:
    settings = request.app.state.ship.settings
    if not enabled(settings):
        return error_page(request, 404, "GitHub login is not configured (SHIPYARD_WEB_GITHUB_CLIENT_ID and _SECRET)")
    state = secrets.token_urlsafe(24)
    query = urlencode(
        {
            "client_id": settings.web_github_client_id,
            "redirect_uri": _callback_url(request),
            "state": state,
            "scope": "",
            "allow_signup": "false",
        }
    )
    response = RedirectResponse(f"{settings.web_github_url.rstrip('/')}/login/oauth/authorize?{query}", status_code=303)
    # The state ties the callback to this browser: a code pushed in by another site does not match it.
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/login/github",
    )
    return response


async def _github_login(settings, code: str, redirect_uri: str) -> str:
    """The GitHub login that owns ``code``; raises ValueError with GitHub's reason."""
    async with httpx.AsyncClient(timeout=15) as http:
        reply = await http.post(
            f"{settings.web_github_url.rstrip('/')}/login/oauth/access_token",
            headers={"Accept": "application/json"},
            data={
                "client_id": settings.web_github_client_id,
                "code": code,
                "redirect_uri": redirect_uri,
                "client_secret": settings.web_github_client_secret.get_secret_value(),
            },
        )
        token = reply.json().get("access_token") if reply.status_code == 200 else None
        if not token:
            raise ValueError(f"GitHub refused the login code ({reply.status_code}: {reply.json().get('error', '?')})")
        user = await http.get(
            f"{settings.web_github_api_url.rstrip('/')}/user",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
        )
        if user.status_code != 200 or not isinstance(user.json().get("login"), str):
            raise ValueError(f"GitHub did not say who logged in ({user.status_code})")
        return user.json()["login"]


@router.get("/login/github/callback", name="github_callback")
async def github_callback(request: Request, code: str = "", state: str = "") -> Response:
    settings = request.app.state.ship.settings
    expected = request.cookies.get(STATE_COOKIE)
    if not enabled(settings) or not expected or not hmac.compare_digest(expected, state) or not code:
        return error_page(request, 400, "this GitHub login did not start here (or took over 10 minutes): log in again")
    try:
        login = await _github_login(settings, code, _callback_url(request))
    except (ValueError, httpx.HTTPError) as exc:
        return error_page(request, 502, f"GitHub login failed: {exc}")
    session_id = await run_in_threadpool(
        accounts.log_in_github, request.app.state.ship.store, login, settings.web_session_hours
    )
    if session_id is None:
        return error_page(
            request,
            403,
            f"GitHub user {login} has no Shipyard account: an admin links one with "
            f"`shipyard users add NAME --role viewer --github {login} --token-only`",
        )
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/login/github")
    response.set_cookie(SESSION_COOKIE, session_id, max_age=int(settings.web_session_hours * 3600), httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")  # fmt: skip
    return response
