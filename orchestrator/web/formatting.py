"""Template filters and the diff as coloured rows."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

from jinja2 import Environment

from orchestrator.reporting.job_views import age
from orchestrator.web.syntax import syntax_css


def usd(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:,.2f}" if value >= 100 else f"${value:,.4f}"


def pct(value: float | None, scale: float = 1.0) -> str:
    """``pct(0.5, 100)`` → ``50.0%``; None → ``n/a``."""
    return "n/a" if value is None else f"{value * scale:.1f}%"


def web_link(url: str | None) -> str | None:
    """The URL when it is safe to put in an ``href`` (http/https only); else None."""
    if not url:
        return None
    return url if urlparse(url).scheme in ("http", "https") else None


def clock(iso: str | None) -> str:
    """An ISO instant as ``2026-11-28 14:03:07 UTC``."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return iso


def diff_rows(diff: str | None) -> list[tuple[str, str]]:
    """(css class, line) per line: file headers, hunk headers, additions, removals, context."""
    rows = []
    for line in (diff or "").splitlines():
        if line.startswith(("diff --git", "+++ ", "--- ", "index ", "new file", "deleted file", "rename ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        rows.append((kind, line))
    return rows


def install_filters(env: Environment) -> None:
    env.filters.update(age=age, usd=usd, pct=pct, web_link=web_link, clock=clock)
    # The token colours of highlighted diffs go into the job page's nonce'd <style> (CSP: no inline styles).
    env.globals.update(diff_rows=diff_rows, syntax_css=syntax_css())
