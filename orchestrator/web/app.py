"""``create_app(ship)``: the FastAPI application over one ``Shipyard``."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException

from orchestrator.deployment import Shipyard
from orchestrator.redaction import Redactor, egress_redactor
from orchestrator.web import api, auth, github_login, github_webhook, live, login, pages, prometheus
from orchestrator.web.egress_middleware import RedactingMiddleware
from orchestrator.web.formatting import install_filters
from orchestrator.web.signing import FormSigner

TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger("shipyard.web")


def _templates() -> Jinja2Templates:
    # Autoescape everywhere: ticket text, diffs and gate output are untrusted.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True, default_for_string=True)
    )
    install_filters(env)
    return Jinja2Templates(env=env)


def _content_security_policy(nonce: str) -> str:
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/webhooks/", "/healthz", "/metrics"))


def _install_error_pages(app: FastAPI, redactor: Redactor) -> None:
    """Errors as an HTML page for people and ``{"error": reason}`` for programs, never a bare 500."""

    def reply(request: Request, status_code: int, reason: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": reason}, status_code=status_code)
        return pages.error_page(request, status_code, reason)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        reason = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            reason = f"{request.url.path}: no such page"
        return reply(request, exc.status_code, reason)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
        )
        return reply(request, 400, problems or "invalid request")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        # Rendered outside the app's middleware (Starlette's error layer): redacted here.
        return reply(request, 500, redactor.text(f"internal error: {type(exc).__name__}: {exc}"))


MAX_JOB_ID = 2**63 - 1
_JOB_PATH = re.compile(r"^/(?:api/)?jobs/(-?\d+)(?:/|$)")


def create_app(ship: Shipyard, *, secret: bytes | None = None) -> FastAPI:
    """The web app. ``secret`` signs forms and flash messages; give every process of one
    deployment the same one, or leave it None for a per-process key."""
    # No Swagger UI: it loads its assets from a CDN, and a deployment may have no internet.
    app = FastAPI(title="Shipyard", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.ship = ship
    app.state.signer = FormSigner(secret)
    app.state.templates = _templates()
    app.state.auth_off = ship.settings.web_auth == "off"
    app.state.login_throttle = login.LoginThrottle()
    auth.install_checks(app)  # innermost: runs after the headers and the Host check below

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        request.state.nonce = secrets.token_urlsafe(16)
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _content_security_policy(request.state.nonce))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.middleware("http")
    async def job_id_in_range(request: Request, call_next):
        # An id beyond the store's 64-bit integers (either sign) names no job; the database would raise instead.
        match = _JOB_PATH.match(request.url.path)
        if match and abs(int(match.group(1))) > MAX_JOB_ID:
            status, reason = 404, f"{request.url.path}: no such page"
            if _wants_json(request):
                return JSONResponse({"error": reason}, status_code=status)
            return pages.error_page(request, status, reason)
        return await call_next(request)

    _install_error_pages(app, egress_redactor(ship.settings))
    app.include_router(login.router)
    app.include_router(github_login.router)
    app.include_router(pages.router)
    app.include_router(live.router)
    app.include_router(api.router)
    app.include_router(github_webhook.router)
    app.include_router(prometheus.router)
    auth.install_host_check(app, ship.settings)  # a foreign Host gets 400 before anything runs
    # Added last, so outermost: every body any route, check or error page renders leaves redacted.
    app.add_middleware(RedactingMiddleware, redactor=egress_redactor(ship.settings))
    return app
