"""`shipyard users …` and `shipyard web`'s refusals: accounts from the command line, no open app off loopback,
and the first admin from a deployment secret."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli.main import app
from tests.conftest import free_port
from tests.web.logins import PASSWORD


@pytest.fixture
def shipyard(tmp_path, monkeypatch, scrub_env):
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None, env: dict | None = None):
        result = runner.invoke(app, list(args), input=stdin, env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_web_refuses_a_non_loopback_address_with_authentication_off(shipyard):
    out = shipyard("web", "--host", "0.0.0.0", "--port", str(free_port()), code=1, env={"SHIPYARD_WEB_AUTH": "off"})
    assert "SHIPYARD_WEB_AUTH=off" in out and "refused on 0.0.0.0" in out


def test_users_add_and_token_from_the_command_line(shipyard, tmp_path):
    assert "user rita added as reviewer" in shipyard(
        "users", "add", "rita", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert "password: at least 10 characters" in shipyard(
        "users", "add", "bob", "--password-stdin", stdin="short\n", code=1
    )
    assert "role: one of viewer, reviewer, operator, admin" in shipyard(
        "users", "add", "bob", "--role", "root", "--token-only", code=1
    )
    token = shipyard("users", "token", "rita").strip()
    assert token.startswith("shy_") and "rita" in shipyard("users", "list") and "reviewer" in shipyard("users", "list")
    from fastapi.testclient import TestClient

    from orchestrator.deployment import Shipyard
    from orchestrator.settings import Settings
    from orchestrator.web import create_app

    ship = Shipyard.load(Settings(data_dir=tmp_path / "data"))
    with TestClient(create_app(ship), base_url="http://localhost") as client:
        assert client.get("/api/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    db = (tmp_path / "data" / "shipyard.db").read_bytes()
    assert token.encode() not in db and PASSWORD.encode() not in db


def _start_web(tmp_path, env_extra: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update({"SHIPYARD_DATA_DIR": str(tmp_path / "data"), **env_extra})
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "web", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"shipyard web exited: {proc.stdout.read()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("shipyard web did not answer /healthz within 60 s")


def test_web_creates_the_first_admin_from_a_password_file_and_serves_only_logged_in_users(tmp_path, scrub_env):
    secret = tmp_path / "admin_password"
    secret.write_text(PASSWORD + "\n")
    proc, url = _start_web(tmp_path, {"SHIPYARD_WEB_ADMIN_PASSWORD_FILE": str(secret)})
    try:
        with httpx.Client(base_url=url, follow_redirects=False) as browser:
            assert browser.get("/").status_code == 303 and browser.get("/api/jobs").status_code == 401
            reply = browser.post("/login", data={"name": "admin", "password": PASSWORD}, headers={"Origin": url})
            assert reply.status_code == 303
            assert "admin · admin" in browser.get("/").text
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "admin account 'admin' created" in out and PASSWORD not in out
