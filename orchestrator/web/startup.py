"""What `shipyard web` settles before it listens: never an open app off loopback, and the first admin."""

from __future__ import annotations

import ipaddress

from orchestrator.deployment import Shipyard
from orchestrator.domain import accounts


class WebStartError(Exception):
    """A reason the web app will not start, with the setting to change."""


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def _admin_password(ship: Shipyard) -> str | None:
    settings = ship.settings
    if settings.web_admin_password is not None:
        return settings.web_admin_password.get_secret_value()
    path = settings.web_admin_password_file
    if path is None:
        return None
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise WebStartError(f"SHIPYARD_WEB_ADMIN_PASSWORD_FILE: cannot read {path}: {exc.strerror or exc}") from None


def prepare_auth(ship: Shipyard, host: str) -> list[str]:
    """Refuse to serve without authentication off loopback; create the bootstrap admin. Returns notes for the
    operator."""
    settings = ship.settings
    if settings.web_auth == "off":
        if not is_loopback(host):
            raise WebStartError(
                f"SHIPYARD_WEB_AUTH=off serves everyone as an admin: refused on {host}; "
                "it is for development on 127.0.0.1/localhost only (or turn authentication on)"
            )
        return [f"authentication is off: anyone who reaches {host} is an admin (development only)"]
    notes = []
    password = _admin_password(ship)
    if password is not None:
        try:
            if accounts.bootstrap_admin(ship.store, settings.web_admin_user, password):
                notes.append(f"admin account {settings.web_admin_user!r} created from the admin password setting")
        except accounts.AccountError as exc:
            raise WebStartError(f"SHIPYARD_WEB_ADMIN_PASSWORD: {exc}") from None
    if not accounts.has_users(ship.store):
        notes.append("no account yet: nobody can log in until you run `shipyard users add NAME --role admin`")
    return notes
