"""Web app accounts: users with hashed passwords, roles, API tokens and login sessions.

Policy lives here: which role may do what (``allows``). The web app and the ``shipyard users``
command are thin edges over these functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from orchestrator.store import Store
from orchestrator.store.account_tables import ApiToken, User, WebSession

ROLES = ("viewer", "reviewer", "operator", "admin")
"""Each role can do everything the ones before it can."""

ACTION_ROLE = {
    "read": "viewer",
    "decide": "reviewer",  # approve / request changes / reject a plan, a pull request, a provider wait
    "decide_budget": "operator",  # a budget extension spends money
    "operate": "operator",  # cancel, retry, bulk actions
    "admin": "admin",
}
MIN_PASSWORD = 10
TOKEN_PREFIX = "shy_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
# scrypt with n=2**14, r=8 costs ~16 MiB and tens of milliseconds: slow to guess, quick to log in.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_DUMMY_HASH: str | None = None


class AccountError(Exception):
    """A refused account operation, with the reason for a human."""


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a user name, their role and how they proved it."""

    name: str
    role: str
    via: str  # "session", "token" or "open" (authentication switched off)

    def allows(self, action: str) -> bool:
        return allows(self.role, action)

    @property
    def signature(self) -> str:
        """How a decision names its maker: the user, and ``(API token)`` when a script made it."""
        return f"{self.name} (API token)" if self.via == "token" else self.name


def allows(role: str, action: str) -> bool:
    needed = ACTION_ROLE[action]
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, maxmem=64 * 2**20)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 * 2**20, dklen=len(expected))  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def checked_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise AccountError(
            f"user name: 1-100 letters, digits, '.', '_', '@' or '-' (starting with a letter or digit), got {name!r}"
        )
    return name


def checked_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role: one of {', '.join(ROLES)}, got {role!r}")
    return role


def checked_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    return password


def add_user(store: Store, name: str, role: str, password: str | None, github_login: str | None = None) -> None:
    """``password=None`` makes an account that cannot log in with a password (API tokens, or GitHub
    when ``github_login`` names the GitHub account allowed to log in as it)."""
    checked_name(name), checked_role(role)
    github = checked_name(github_login).lower() if github_login else None
    stored = hash_password(checked_password(password)) if password is not None else ""
    with store.session() as s:
        if s.scalar(select(User).where(User.name == name)):
            raise AccountError(f"user {name!r} already exists")
        if github and s.scalar(select(User).where(User.github_login == github)):
            raise AccountError(f"GitHub account {github_login!r} is already linked to another user")
        s.add(User(name=name, role=role, password_hash=stored, github_login=github))


def _user(s, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"user {name!r} does not exist (see `shipyard users list`)")
    return user


def set_role(store: Store, name: str, role: str) -> None:
    checked_role(role)
    with store.session() as s:
        _user(s, name).role = role


def set_password(store: Store, name: str, password: str) -> None:
    """A new password ends the user's login sessions (tokens stay; revoke them separately)."""
    checked_password(password)
    with store.session() as s:
        user = _user(s, name)
        user.password_hash = hash_password(password)
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))


def remove_user(store: Store, name: str) -> None:
    with store.session() as s:
        user = _user(s, name)
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        s.delete(user)


def list_users(store: Store) -> list[dict]:
    with store.session() as s:
        users = s.scalars(select(User).order_by(User.name)).all()
        tokens = {u.id: len(s.scalars(select(ApiToken.id).where(ApiToken.user_id == u.id)).all()) for u in users}
        return [
            {
                "name": u.name,
                "role": u.role,
                "github": u.github_login,
                "disabled": u.disabled,
                "tokens": tokens[u.id],
                "created_at": u.created_at.isoformat(),
            }
            for u in users
        ]


def issue_token(store: Store, name: str, label: str = "") -> str:
    """A new API token for the user; returned once, stored only as its SHA-256."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session() as s:
        user = _user(s, name)
        s.add(ApiToken(user_id=user.id, token_hash=_sha256(token), label=label[:200]))
    return token


def revoke_tokens(store: Store, name: str) -> int:
    with store.session() as s:
        user = _user(s, name)
        return s.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0


def principal_for_token(store: Store, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(token)))
        user = s.get(User, row.user_id) if row else None
        if user is None or user.disabled:
            return None
        now = datetime.now(UTC)
        last = row.last_used_at
        # One write a minute at most: a busy script should not turn every read into a write.
        if last is None or (last if last.tzinfo else last.replace(tzinfo=UTC)) < now - timedelta(minutes=1):
            row.last_used_at = now
        return Principal(user.name, user.role, "token")


def _dummy_hash() -> str:
    global _DUMMY_HASH
    _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(16))
    return _DUMMY_HASH


def log_in(store: Store, name: str, password: str, hours: float) -> str | None:
    """A new session id when name and password match an enabled user; else None (same time either way)."""
    with store.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
        if not verify_password(password, stored) or user is None or user.disabled:
            return None
        return _start_session(s, user, hours)


def _start_session(s, user: User, hours: float) -> str:
    session_id = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=hours)
    s.add(WebSession(user_id=user.id, session_hash=_sha256(session_id), expires_at=expires))
    return session_id


def log_in_github(store: Store, github_login: str, hours: float) -> str | None:
    """A session for the enabled user linked to this GitHub account (GitHub proved who it is); else None."""
    with store.session() as s:
        user = s.scalar(select(User).where(User.github_login == github_login.lower()))
        if user is None or user.disabled:
            return None
        return _start_session(s, user, hours)


def principal_for_session(store: Store, session_id: str) -> Principal | None:
    with store.session() as s:
        row = s.scalar(select(WebSession).where(WebSession.session_hash == _sha256(session_id)))
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        user = s.get(User, row.user_id)
        if expires < datetime.now(UTC) or user is None or user.disabled:
            s.delete(row)
            return None
        return Principal(user.name, user.role, "session")


def log_out(store: Store, session_id: str) -> None:
    with store.session() as s:
        s.execute(delete(WebSession).where(WebSession.session_hash == _sha256(session_id)))


def has_users(store: Store) -> bool:
    with store.session() as s:
        return s.scalar(select(User.id).limit(1)) is not None


def bootstrap_admin(store: Store, name: str, password: str) -> bool:
    """Create the first admin from deployment settings when that user does not exist yet; True if created.

    An existing account is left alone: changing its password is ``shipyard users passwd``'s job.
    """
    with store.session() as s:
        if s.scalar(select(User).where(User.name == name)):
            return False
    add_user(store, name, "admin", password)
    return True
