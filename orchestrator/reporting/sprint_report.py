"""``shipyard report``: a period's outcomes against the period before, fit to paste into a sprint review.

Headline figures count the jobs created in each period (as the dashboard does); breakdowns
count the jobs that finished in it. Scripted replays never count as model work.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markupsafe import escape
from pydantic import BaseModel

from orchestrator.reporting.charts import bar_chart
from orchestrator.reporting.outcomes import OutcomeFigures, OutcomeMetrics, outcome_metrics
from orchestrator.reporting.trends import Breakdown, WeekRow, breakdown, weekly
from orchestrator.store import Store


class PeriodFigures(BaseModel):
    start: datetime
    end: datetime
    metrics: OutcomeMetrics
    breakdown: Breakdown


class SprintReport(BaseModel):
    current: PeriodFigures
    previous: PeriodFigures
    weeks: list[WeekRow]


def _period(store: Store, start: datetime, end: datetime) -> PeriodFigures:
    return PeriodFigures(
        start=start,
        end=end,
        metrics=outcome_metrics(store, since=start, until=end),
        breakdown=breakdown(store, start, end),
    )


def sprint_report(store: Store, start: datetime, end: datetime) -> SprintReport:
    """``[start, end)`` against the equally long period just before it."""
    if end <= start:
        raise ValueError(f"--to ({end:%Y-%m-%d}) must be after --from ({start:%Y-%m-%d})")
    length = end - start
    weeks = max(2, min(26, -(-length.days // 7) * 2))
    return SprintReport(current=_period(store, start, end), previous=_period(store, start - length, start),
                        weeks=weekly(store, weeks, now=end - timedelta(seconds=1)))  # fmt: skip


def last_days(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    end = now or datetime.now(UTC)
    return end - timedelta(days=days), end


def _usd(v: float | None) -> str:
    return "–" if v is None else f"${v:,.4f}" if v < 100 else f"${v:,.2f}"


def _share(v: float | None) -> str:
    return "–" if v is None else f"{v:.0%}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}%"


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "–"
    if before == 0:
        return "–" if now == 0 else "new"
    return f"{(now - before) / abs(before):+.0%}"


HEADLINES: list[tuple[str, str, callable]] = [
    ("Cost per merged PR", "cost_per_merged_pr_usd", _usd),
    ("Merged pull requests", "merged", str),
    ("Closed / blocked / failed", None, None),
    ("Model spend", "spend_usd", _usd),
    ("Backlog automated", "backlog_automated_share", _share),
    ("Diff coverage of merged code (mean)", "diff_coverage_mean", _pct),
    ("Low-complexity tickets with no human touch", "low_complexity_untouched_share", _share),
]


def headline_rows(report: SprintReport) -> list[tuple[str, str, str, str]]:
    """(figure, this period, previous period, change) for the headline table."""
    now, before = report.current.metrics.real, report.previous.metrics.real
    rows = []
    for label, key, fmt in HEADLINES:
        if key is None:
            trio = lambda f: f"{f.closed} / {f.blocked} / {f.failed}"  # noqa: E731
            rows.append((label, trio(now), trio(before), "–"))
        else:
            a, b = getattr(now, key), getattr(before, key)
            rows.append((label, fmt(a) if a is not None else "–", fmt(b) if b is not None else "–", _change(a, b)))
    return rows


def _by_spend(spend: dict[str, float]) -> list[list[str]]:
    """One row per key, the largest spend first."""
    return [[name, _usd(v)] for name, v in sorted(spend.items(), key=lambda kv: -kv[1])]


def _hours(median: float | None) -> str:
    return "–" if median is None else f"{median:.1f}"


def _tables(report: SprintReport) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table after the headline one."""
    b = report.current.breakdown
    complexity = [
        [c, str(t["finished"]), str(t["merged"]), str(t["untouched"])] for c, t in sorted(b.by_complexity.items())
    ]
    escalations = [
        ["jobs whose attempts climbed to another model", f"{b.escalated_jobs} ({b.escalated_merged} merged)"],
        ["median hours, ticket to pull request", _hours(b.hours_label_to_pr_median)],
        ["median hours, pull request to merge", _hours(b.hours_pr_to_merge_median)],
    ]
    weeks = [
        [
            f"{w.week:%Y-%m-%d}",
            str(w.merged),
            str(w.closed),
            str(w.blocked),
            str(w.failed),
            _usd(w.spend_usd),
            _usd(w.cost_per_merged_pr_usd),
        ]
        for w in report.weeks
    ]
    return [
        ("Spend by role", ["role", "spend"], _by_spend(b.spend_by_role)),
        ("Spend by model", ["model", "spend"], _by_spend(b.spend_by_model)),
        ("What blocked the gate", ["check", "failed gate runs"], [[c, str(n)] for c, n in b.gate_failures.items()]),
        ("By complexity", ["complexity", "finished", "merged", "merged with no human touch"], complexity),
        ("Escalations and time", ["figure", "value"], escalations),
        ("Week by week", ["week of", "merged", "closed", "blocked", "failed", "spend", "cost per merged PR"], weeks),
    ]


def _title(report: SprintReport) -> str:
    c, p = report.current, report.previous
    return f"Shipyard outcomes {c.start:%Y-%m-%d} → {c.end:%Y-%m-%d} (previous: {p.start:%Y-%m-%d} → {p.end:%Y-%m-%d})"


def _replays_note(figures: OutcomeFigures) -> str:
    return (f"Scripted replays are not model work and are left out: {figures.jobs_finished} replayed job(s) finished "
            "in this period." if figures.jobs_finished else "")  # fmt: skip


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: SprintReport) -> str:
    lines = [f"# {_title(report)}", "", "| | this period | previous period | change |", "|---|---:|---:|---:|"]
    lines += [f"| {' | '.join(_md_cell(c) for c in row)} |" for row in headline_rows(report)]
    for title, header, rows in _tables(report):
        lines += ["", f"## {title}", "", f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
        lines += [f"| {' | '.join(_md_cell(c) for c in row)} |" for row in rows] or [
            f"| nothing in this period |{' |' * (len(header) - 1)}"
        ]
    note = _replays_note(report.current.metrics.scripted)
    return "\n".join(lines + (["", note] if note else [])) + "\n"


def _html_table(header: list[str], rows: list[list[str]] | list[tuple]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f"<table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body or '<tr><td>nothing in this period</td></tr>'}</tbody></table>"
    )


def to_html(report: SprintReport) -> str:
    """A self-contained page (inline style, inline SVG charts): no script, nothing fetched."""
    merged = bar_chart(
        [w.merged for w in report.weeks],
        [f"{w.week:%Y-%m-%d}" for w in report.weeks],
        title="Merged pull requests per week",
    )
    cost = bar_chart(
        [w.cost_per_merged_pr_usd or 0.0 for w in report.weeks],
        [f"{w.week:%Y-%m-%d}" for w in report.weeks],
        title="Cost per merged PR per week (USD)",
    )
    parts = [
        f"<h1>{escape(_title(report))}</h1>",
        _html_table(["", "this period", "previous period", "change"], headline_rows(report)),
        "<h2>Merged pull requests per week</h2>",
        str(merged),
        "<h2>Cost per merged PR per week</h2>",
        str(cost),
    ]
    for title, header, rows in _tables(report):
        parts += [f"<h2>{escape(title)}</h2>", _html_table(header, rows)]
    note = _replays_note(report.current.metrics.scripted)
    if note:
        parts.append(f"<p>{escape(note)}</p>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:20px auto;color:#1f2328}"
        "table{border-collapse:collapse;margin:8px 0}"
        "td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}"
        ".chart .bar{fill:#0969da}.chart .axis{stroke:#8c959f}.chart .tick{font-size:9px}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(_title(report))}</title>'
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
