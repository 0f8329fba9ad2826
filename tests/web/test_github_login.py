"""Log in with GitHub through the local GitHub emulator's OAuth pages: a linked GitHub account gets its
Shipyard role; an unlinked one, or a callback this browser did not start, gets nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orchestrator.deployment import Shipyard
from orchestrator.domain import accounts
from orchestrator.emulators.github import serve_emulator
from orchestrator.settings import Settings
from tests.orchestrator.gitrepo import make_repo
from tests.web.store_rows import WEBHOOK_SECRET


@pytest.fixture
def github(tmp_path) -> Iterator:
    seed = make_repo(tmp_path / "seed", {"README.md": "x\n"})
    with serve_emulator(tmp_path / "gh", seed, "acme/site", "unused-token") as st:
        st.oauth_client_id, st.oauth_client_secret = "Iv1.shipyard", "oauth-app-secret"
        yield st


@pytest.fixture
def ship(tmp_path, scrub_env, github) -> Shipyard:  # overrides tests/web/conftest.py's: GitHub login configured
    settings = Settings(
        data_dir=tmp_path / "data",
        webhook_secret=WEBHOOK_SECRET,
        web_github_client_id="Iv1.shipyard",
        web_github_client_secret="oauth-app-secret",
        web_github_url=github.base,
        web_github_api_url=f"{github.base}/api/v3",
    )
    return Shipyard.load(settings)


def test_a_linked_github_account_logs_in_with_its_role(ship, live_server, github):
    accounts.add_user(ship.store, "alice", "reviewer", None, github_login="Alice-GH")
    github.oauth_login = "alice-gh"
    with httpx.Client(base_url=live_server, follow_redirects=True) as browser:
        assert 'id="login-github"' in browser.get("/login").text
        page = browser.get("/login/github")
        assert page.status_code == 200 and str(page.url) == f"{live_server}/" and "alice · reviewer" in page.text


def test_an_unlinked_github_account_or_a_foreign_callback_gets_no_session(ship, live_server, github):
    accounts.add_user(ship.store, "admin", "admin", None)  # a same-named GitHub user must not become this admin
    github.oauth_login = "admin"
    with httpx.Client(base_url=live_server, follow_redirects=True) as browser:
        refused = browser.get("/login/github")
        assert refused.status_code == 403 and "GitHub user admin has no Shipyard account" in refused.text
        assert browser.get("/", follow_redirects=False).status_code == 303
    with httpx.Client(base_url=live_server) as other:
        forged = other.get("/login/github/callback", params={"code": "abc", "state": "made-up"})
        assert forged.status_code == 400 and "did not start here" in forged.text
