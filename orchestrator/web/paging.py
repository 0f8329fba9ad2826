"""The jobs list's query string (``state``, ``repo``, ``label``, ``model``, ``q``, ``since``,
``until``, ``sort``, ``cursor``, ``limit``) on the page, its partial and the API: checked, with
clear errors. ``sort`` is ``newest`` (the default) or ``oldest``; the cursor is the last id shown,
and the next page continues after it in the same order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from orchestrator.reporting.job_views import JobFilter
from orchestrator.web.read_models import BadParameter, checked_state

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
FILTERS = ("state", "repo", "label", "model", "q", "since", "until")
SORTS = ("newest", "oldest")


@dataclass(frozen=True)
class JobsPage:
    params: dict
    """The filter parameters as given (for links)."""
    where: JobFilter
    cursor: int | None
    limit: int
    sort: str = "newest"

    @property
    def oldest(self) -> bool:
        return self.sort == "oldest"

    @property
    def state(self) -> str | None:
        return self.where.state

    @property
    def repo(self) -> str | None:
        return self.where.repo

    def link(self, **changes) -> str:
        """The jobs page URL with these parameters changed (None drops one)."""
        params = {**self.params, "sort": None if self.sort == "newest" else self.sort, "cursor": self.cursor,
                  "limit": None if self.limit == DEFAULT_LIMIT else self.limit}  # fmt: skip
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
        raise BadParameter(
            f"{name}: must be between {low} and {high}, got {n}" if high else f"{name}: must be at least {low}, got {n}"
        )
    return n


def _day(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadParameter(f"{name}: must be a date like 2026-11-30, got {value!r}") from None


def _text(value: str | None, limit: int = 200) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def checked_page(query: dict, *, default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> JobsPage:
    """The page parameters from a query string (a mapping of str → str); raises BadParameter."""
    params = {k: _text(query.get(k)) for k in FILTERS}
    where = JobFilter(
        state=checked_state(params["state"]),
        repo=params["repo"],
        label=params["label"],
        model=params["model"],
        q=params["q"],
        since=_day("since", params["since"]),
        until=_day("until", params["until"]),
    )
    if where.since and where.until and where.until <= where.since:
        raise BadParameter(f"until: must be after since ({params['since']}), got {params['until']}")
    sort = _text(query.get("sort")) or "newest"
    if sort not in SORTS:
        raise BadParameter(f"sort: must be one of {', '.join(SORTS)}, got {sort!r}")
    return JobsPage(
        params={k: v for k, v in params.items() if v},
        sort=sort,
        where=where,
        cursor=_whole("cursor", query.get("cursor"), 1, 2**63 - 1),  # a job id: the store's integers are 64-bit
        limit=_whole("limit", query.get("limit"), 1, max_limit) or default_limit,
    )
