"""Who is asking, and may they: logins, API tokens, roles, and the Host and Origin checks.

Every request but the login page, ``/healthz`` and the webhook (signed with its own HMAC)
needs a principal: a session cookie from the login page or ``Authorization: Bearer <token>``.
A state-changing request must also come from this site: its ``Origin`` (or ``Referer``) names
this host, or it carries a bearer token (which a browser never adds on another site's behalf).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from orchestrator.domain import accounts
from orchestrator.domain.accounts import Principal
from orchestrator.settings import Settings

SESSION_COOKIE = "shipyard_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/login/github", "/login/github/callback"})
WEBHOOK_PREFIX = "/webhooks/"
OPEN_PRINCIPAL = Principal("local", "admin", "open")
ACTION_TEXT = {
    "read": "reading", "decide": "deciding at this gate", "decide_budget": "deciding a budget extension",
    "operate": "cancelling or retrying jobs", "admin": "managing users",
}  # fmt: skip


def _wants_json(path: str) -> bool:
    return path.startswith(("/api/", "/webhooks/", "/healthz", "/metrics"))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _resolve(request: Request) -> Principal | None:
    app = request.app
    if app.state.auth_off:
        return OPEN_PRINCIPAL
    store = app.state.ship.store
    if "authorization" in request.headers:
        token = _bearer(request)
        return accounts.principal_for_token(store, token) if token else None
    session_id = request.cookies.get(SESSION_COOKIE)
    return accounts.principal_for_session(store, session_id) if session_id else None


def cross_origin_refusal(request: Request) -> str | None:
    """Why a state-changing request is refused as not coming from this site, or None."""
    own = (request.headers.get("host") or "").lower()
    origin = request.headers.get("origin")
    if origin is not None:
        if origin == "null" or urlsplit(origin).netloc.lower() != own:
            return f"cross-origin request refused: Origin {origin!r} is not this site ({own})"
        return None
    referer = request.headers.get("referer")
    if referer:
        if urlsplit(referer).netloc.lower() != own:
            return f"cross-origin request refused: Referer names another site, not {own}"
        return None
    if _bearer(request):
        return None
    return (
        "request refused: a state-changing request needs an Origin or Referer header naming this site, or an API token"
    )


def _refuse(request: Request, status_code: int, reason: str) -> Response:
    from orchestrator.web.pages import error_page

    if _wants_json(request.url.path):
        headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else {}
        return JSONResponse({"error": reason}, status_code=status_code, headers=headers)
    return error_page(request, status_code, reason)


def install_checks(app: FastAPI) -> None:
    """The login and same-origin check; call before the app's other middleware (it runs inside them)."""

    @app.middleware("http")
    async def authenticate(request: Request, call_next):
        path = request.url.path
        webhook = path.startswith(WEBHOOK_PREFIX)
        if request.method not in SAFE_METHODS and not webhook:
            refusal = cross_origin_refusal(request)
            if refusal:
                return _refuse(request, 403, refusal)
        principal = None if webhook else await run_in_threadpool(_resolve, request)
        request.state.principal = principal
        if principal is None and not webhook and path not in PUBLIC_PATHS:
            if _wants_json(path) or request.method not in SAFE_METHODS:
                return _refuse(request, 401, "log in first: a session from /login, or Authorization: Bearer <token> "
                                              "(`shipyard users token NAME` makes one)")  # fmt: skip
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return await call_next(request)


def install_host_check(app: FastAPI, settings: Settings) -> None:
    """Refuse any ``Host`` but the configured names (400): the outermost check, added last."""
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False)


def principal(request: Request) -> Principal:
    found = getattr(request.state, "principal", None)
    if found is None:  # the middleware lets no such request through; a route outside it is a bug
        raise HTTPException(401, "log in first")
    return found


def require(request: Request, action: str) -> Principal:
    """The principal when their role allows ``action``; else a 403 naming the role needed."""
    who = principal(request)
    if not who.allows(action):
        needed = accounts.ACTION_ROLE[action]
        raise HTTPException(403, f"{who.name} is a {who.role}: {ACTION_TEXT[action]} needs the {needed} role or above")
    return who


def gate_action(gate: str | None) -> str:
    """The action a decision at this gate is: a budget extension spends money, so operators decide it."""
    return "decide_budget" if gate == "budget" else "decide"
