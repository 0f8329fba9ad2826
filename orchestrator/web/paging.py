"""``?cursor=`` / ``?limit=`` / ``?repo=`` on the jobs page and its partial: checked, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from orchestrator.web.read_models import BadParameter

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class JobsPage:
    state: str | None
    repo: str | None
    cursor: int | None
    limit: int

    def link(self, **changes) -> str:
        """The jobs page URL with these parameters changed (None drops one)."""
        params = {"state": self.state, "repo": self.repo, "cursor": self.cursor, "limit": None if self.limit == DEFAULT_LIMIT else self.limit}
        params.update(changes)
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return "/" + (f"?{query}" if query else "")


def _whole(name: str, value: str | None, low: int, high: int | None = None) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(value)
    except ValueError:
        raise BadParameter(f"{name}: must be a whole number, got {value!r}") from None
    if n < low or (high is not None and n > high):
        raise BadParameter(f"{name}: must be between {low} and {high}, got {n}" if high else f"{name}: must be at least {low}, got {n}")
    return n


def checked_page(state: str | None, repo: str | None, cursor: str | None, limit: str | None) -> JobsPage:
    """The page parameters (state already checked by the caller)."""
    return JobsPage(
        state=state,
        repo=(repo or "").strip() or None,
        cursor=_whole("cursor", cursor, 1),
        limit=_whole("limit", limit, 1, MAX_LIMIT) or DEFAULT_LIMIT,
    )
