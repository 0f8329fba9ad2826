"""GitHub's OAuth web flow as the emulator plays it: the person at ``authorize`` is ``State.oauth_login``
(who consents at once), ``access_token`` swaps a one-time code for a token, and ``/api/v3/user`` names its owner."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from orchestrator.emulators.github import shapes


def add_oauth_routes(app: FastAPI, st) -> None:
    codes: dict[str, str] = {}

    @app.get("/login/oauth/authorize")
    def authorize(client_id: str, redirect_uri: str, state: str = ""):
        if client_id != st.oauth_client_id or not st.oauth_login:
            return JSONResponse({"error": "unknown client_id"}, 404)
        code = secrets.token_hex(10)
        with st.lock:
            codes[code] = st.oauth_login
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

    @app.post("/login/oauth/access_token")
    async def access_token(request: Request):
        form = await request.form()
        if form.get("client_id") != st.oauth_client_id or form.get("client_secret") != st.oauth_client_secret:
            return JSONResponse({"error": "incorrect_client_credentials"})
        with st.lock:
            login = codes.pop(str(form.get("code")), None)
            if login is None:
                return JSONResponse({"error": "bad_verification_code"})
            token = "gho_" + secrets.token_hex(18)
            st.tokens.add(token)
            st.oauth_tokens[token] = login
        return {"access_token": token, "token_type": "bearer", "scope": ""}

    @app.get("/api/v3/user")
    def current_user(request: Request):
        token = request.headers.get("authorization", "").split(" ")[-1]
        login = st.oauth_tokens.get(token)
        if login is None:
            return JSONResponse({"message": "Bad credentials"}, 401)
        return shapes.user(login, st.base)
