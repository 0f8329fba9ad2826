"""Accounts for tests: an API token of a given role, and clients that use it or log in like a person."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orchestrator.deployment import Shipyard
from orchestrator.domain import accounts
from orchestrator.web import create_app

BASE_URL = "http://localhost"  # a host name the app answers to by default
PASSWORD = "correct horse battery"


def token_for(ship: Shipyard, name: str = "admin", role: str = "admin") -> str:
    """An API token of a (new, token-only) account with this role."""
    if not any(u["name"] == name for u in accounts.list_users(ship.store)):
        accounts.add_user(ship.store, name, role, None)
    return accounts.issue_token(ship.store, name)


def api_client(ship: Shipyard, role: str = "admin", name: str | None = None, app=None, **kwargs) -> TestClient:
    """A TestClient whose every request carries an API token of ``role``; use it in a ``with``."""
    token = token_for(ship, name or role, role)
    kwargs.setdefault("base_url", BASE_URL)
    return TestClient(app or create_app(ship), headers={"Authorization": f"Bearer {token}"}, **kwargs)


def store_state(ship: Shipyard) -> dict:
    """What a request could change: jobs and their states, decisions, tickets, accounts, sessions, tokens."""
    from sqlalchemy import func, select

    from orchestrator.store.account_tables import ApiToken, User, WebSession
    from orchestrator.store.tables import Job, Review, Ticket

    with ship.store.session() as s:
        return {
            "jobs": sorted((j.id, j.state, j.human_touches) for j in s.scalars(select(Job))),
            "reviews": s.scalar(select(func.count()).select_from(Review)),
            "tickets": s.scalar(select(func.count()).select_from(Ticket)),
            "users": sorted((u.name, u.role) for u in s.scalars(select(User))),
            "sessions": s.scalar(select(func.count()).select_from(WebSession)),
            "tokens": s.scalar(select(func.count()).select_from(ApiToken)),
        }


def person(ship: Shipyard, name: str, role: str) -> None:
    """An account that logs in with ``PASSWORD``."""
    accounts.add_user(ship.store, name, role, PASSWORD)


def log_in_page(page, base_url: str, ship: Shipyard, name: str = "admin", role: str = "admin") -> None:
    """Create the account and log in through the login form, as a person would (Playwright ``page``)."""
    person(ship, name, role)
    page.goto(f"{base_url}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    page.wait_for_url(f"{base_url}/")
