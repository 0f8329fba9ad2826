"""Logins, roles and the Host/Origin checks: who may read, decide and operate, and what a foreign site cannot do."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from orchestrator.store.account_tables import ApiToken
from orchestrator.web import create_app
from orchestrator.web.signing import FormSigner
from tests.web.logins import BASE_URL, PASSWORD, api_client, person, store_state, token_for

SECRET = b"k" * 32
DECIDE = {"decision": "approve", "comment": "ship it"}


def test_a_rebinding_host_is_refused_and_changes_nothing(live_server, ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    token = token_for(ship, "root", "admin")
    before = store_state(ship)
    for headers in ({}, {"Authorization": f"Bearer {token}"}):  # without a login, and even with an admin's token
        reply = httpx.post(f"{live_server}/api/jobs/{job_id}/decision", json=DECIDE,
                           headers={"Host": "rebind.attacker.example", **headers})  # fmt: skip
        assert reply.status_code == 400 and "Invalid host" in reply.text
    assert httpx.get(f"{live_server}/api/jobs", headers={"Host": "rebind.attacker.example"}).status_code == 400
    assert store_state(ship) == before


def _logged_in(ship, name: str, role: str, base_url: str = BASE_URL) -> TestClient:
    person(ship, name, role)
    client = TestClient(create_app(ship, secret=SECRET), base_url=base_url, follow_redirects=False)
    reply = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/"}, headers={"Origin": base_url})
    assert reply.status_code == 303, reply.text
    return client


def test_a_cross_origin_post_is_refused_even_with_a_valid_session_and_form_token(ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    client = _logged_in(ship, "rita", "reviewer")
    form = {"csrf": FormSigner(SECRET).csrf_token(job_id), **DECIDE}
    before = store_state(ship)

    foreign = client.post(f"/jobs/{job_id}/decision", data=form, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and "cross-origin request refused" in foreign.text
    by_referer = client.post(f"/jobs/{job_id}/decision", data=form, headers={"Referer": "http://evil.example/x"})
    assert by_referer.status_code == 403
    no_origin = client.post(f"/api/jobs/{job_id}/decision", json=DECIDE)  # a session cookie alone is not enough
    assert no_origin.status_code == 403 and "Origin" in no_origin.json()["error"]
    assert store_state(ship) == before

    same_site = client.post(f"/jobs/{job_id}/decision", data=form, headers={"Origin": BASE_URL})
    assert same_site.status_code == 303 and store_state(ship)["reviews"] == 1


def test_a_viewer_reads_but_cannot_decide_and_nothing_changes(ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    app = create_app(ship, secret=SECRET)
    with api_client(ship, "viewer", name="vera", app=app) as viewer:
        before = store_state(ship)
        assert viewer.get(f"/api/jobs/{job_id}").status_code == 200
        page = viewer.get(f"/jobs/{job_id}").text
        assert 'id="decision-form"' not in page and "vera is a viewer" in page and 'id="cancel"' not in page
        api = viewer.post(f"/api/jobs/{job_id}/decision", json=DECIDE)
        form = viewer.post(f"/jobs/{job_id}/decision", data={"csrf": FormSigner(SECRET).csrf_token(job_id), **DECIDE})
        cancel = viewer.post(f"/jobs/{job_id}/cancel", data={"csrf": FormSigner(SECRET).csrf_token(job_id)})
    assert (
        api.status_code == 403 and "vera is a viewer" in api.json()["error"] and "reviewer role" in api.json()["error"]
    )
    assert form.status_code == 403 and cancel.status_code == 403
    assert store_state(ship) == before


def test_a_reviewer_decides_and_the_decision_names_them_on_the_page_and_in_the_api(ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    with api_client(ship, "reviewer", name="rita") as reviewer:
        reply = reviewer.post(f"/api/jobs/{job_id}/decision", json={**DECIDE, "reviewer": "somebody else"})
        assert reply.status_code == 200 and reply.json()["by"] == "rita (API token)"
        [decision] = reviewer.get(f"/api/jobs/{job_id}").json()["decisions"]
        page = reviewer.get(f"/jobs/{job_id}").text
    assert (decision["decision"], decision["by"], decision["comment"]) == ("approve", "rita (API token)", "ship it")
    assert re.search(r'<td class="decided-by">rita \(API token\)</td>', page)


def test_budget_extensions_and_cancelling_need_an_operator(ship, add_job):
    budget = add_job(state="awaiting_budget")
    running = add_job(state="running", title="Other")
    app = create_app(ship, secret=SECRET)
    extend = {"decision": "approve", "extra_usd": 1.5}
    csrf = FormSigner(SECRET).csrf_token(running)
    with api_client(ship, "reviewer", name="rita", app=app) as reviewer:
        assert reviewer.post(f"/api/jobs/{budget}/decision", json=extend).status_code == 403
        assert reviewer.post(f"/jobs/{running}/cancel", data={"csrf": csrf}).status_code == 403
        assert store_state(ship)["jobs"] == [(budget, "awaiting_budget", 0), (running, "running", 0)]
    with api_client(ship, "operator", name="otto", app=app) as operator:
        assert operator.post(f"/api/jobs/{budget}/decision", json=extend).json()["by"] == "otto (API token)"
        assert operator.post(f"/jobs/{running}/cancel", data={"csrf": csrf}).status_code == 200
    assert store_state(ship)["jobs"][1] == (running, "cancelled", 0)


def test_log_in_and_log_out(ship, add_job):
    person(ship, "lena", "viewer")
    with TestClient(create_app(ship), base_url="https://localhost", follow_redirects=False) as client:
        assert client.get("/jobs/1").headers["location"] == "/login?next=%2Fjobs%2F1"
        assert client.get("/api/jobs").status_code == 401
        origin = {"Origin": "https://localhost"}
        wrong = client.post("/login", data={"name": "lena", "password": "wrong password"}, headers=origin)
        assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
        reply = client.post(
            "/login", data={"name": "lena", "password": PASSWORD, "next": "//evil.example"}, headers=origin
        )
        cookie = reply.headers["set-cookie"]
        assert (
            reply.headers["location"] == "/"
            and "HttpOnly" in cookie
            and "SameSite=lax" in cookie
            and "Secure" in cookie
        )
        page = client.get("/")
        assert page.status_code == 200 and "lena · viewer" in page.text
        assert client.post("/logout", headers=origin).headers["location"] == "/login"
        client.cookies.set("shipyard_session", re.search(r"shipyard_session=([^;]+)", cookie).group(1))
        assert client.get("/").status_code == 303  # the old cookie is dead on the server too
    assert store_state(ship)["sessions"] == 0


def test_api_tokens_are_shown_once_stored_hashed_and_revocable(ship):
    from orchestrator.domain import accounts

    token = token_for(ship, "ci", "viewer")
    with TestClient(create_app(ship), base_url=BASE_URL) as client:
        assert client.get("/api/jobs").status_code == 401
        assert client.get("/api/jobs", headers={"Authorization": "Bearer shy_not-a-token"}).status_code == 401
        assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        with ship.store.session() as s:
            stored = [t.token_hash for t in s.scalars(select(ApiToken))]
        assert token not in stored and len(stored) == 1
        accounts.revoke_tokens(ship.store, "ci")
        assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_webhook_needs_no_login_only_its_signature(client, ship):
    anonymous = TestClient(create_app(ship), base_url=BASE_URL)
    reply = anonymous.post(
        "/webhooks/github", content=b"{}", headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=0"}
    )
    assert reply.status_code == 401 and "X-Hub-Signature-256" in reply.json()["error"]


def test_wrong_passwords_are_throttled_per_account(ship):
    person(ship, "lena", "viewer")
    with TestClient(create_app(ship), base_url=BASE_URL, follow_redirects=False) as client:
        origin = {"Origin": BASE_URL}
        for _ in range(5):
            assert (
                client.post("/login", data={"name": "lena", "password": "guess-guess"}, headers=origin).status_code
                == 401
            )
        blocked = client.post("/login", data={"name": "lena", "password": PASSWORD}, headers=origin)
        assert blocked.status_code == 429 and "Too many wrong passwords for lena" in blocked.text
        assert store_state(ship)["sessions"] == 0


def test_authentication_off_on_loopback_still_checks_host_and_origin(tmp_path, scrub_env, add_job):
    from orchestrator.deployment import Shipyard
    from orchestrator.settings import Settings
    from tests.web.store_rows import JobSpec, insert_job

    ship = Shipyard.load(Settings(data_dir=tmp_path / "open", web_auth="off"))
    job_id = insert_job(ship, JobSpec(state="awaiting_review", pr_state="open"))
    with TestClient(create_app(ship), base_url=BASE_URL) as client:
        assert client.get("/").status_code == 200  # no login asked
        assert (
            client.post(f"/api/jobs/{job_id}/decision", json=DECIDE).status_code == 403
        )  # no Origin: could be another site
        assert (
            client.post(
                f"/api/jobs/{job_id}/decision", json=DECIDE, headers={"Host": "rebind.attacker.example"}
            ).status_code
            == 400
        )
        assert store_state(ship)["reviews"] == 0
        reply = client.post(f"/api/jobs/{job_id}/decision", json=DECIDE, headers={"Origin": BASE_URL})
    assert reply.status_code == 200 and reply.json()["by"] == "local"


def test_every_state_changing_route_refuses_a_viewer(ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    app = create_app(ship, secret=SECRET)
    signer = FormSigner(SECRET)
    open_routes = {"/login", "/logout", "/webhooks/github"}  # the webhook answers to its signature only
    routes = [
        p for p, methods in app.openapi()["paths"].items() if set(methods) - {"get", "head"} and p not in open_routes
    ]
    assert len(routes) >= 5
    with api_client(ship, "viewer", name="vera", app=app) as viewer:
        before = store_state(ship)
        for route in routes:
            path = route.replace("{job_id}", str(job_id))
            if path.startswith("/api/"):
                reply = viewer.post(path, json=DECIDE)
            else:
                csrf = signer.csrf_token(0 if path == "/jobs/bulk" else job_id)
                reply = viewer.post(path, data={"csrf": csrf, "action": "cancel", "job": str(job_id), **DECIDE})
            assert reply.status_code == 403, f"{route}: {reply.status_code}"
        assert store_state(ship) == before
