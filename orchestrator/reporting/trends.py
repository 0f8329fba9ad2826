"""Outcomes over time and broken down: what the dashboard charts and the sprint report show.

Real-model work only unless asked otherwise: replays of scripted models are kept out, as in
``orchestrator.reporting.outcomes``. A job counts in the week (or period) it finished in.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from orchestrator.reporting.outcomes import OutcomeCounts
from orchestrator.store import Store
from orchestrator.store.tables import FINAL_STATES, Attempt, GateResult, Job, JobState, ModelUsage, PullRequest, Ticket
from workflows.gates.report import CHECK_TITLES


class WeekRow(OutcomeCounts):
    """The jobs that finished in one ISO week."""

    week: date
    """Monday of the ISO week (UTC)."""


class Breakdown(BaseModel):
    """Where a period's spend went and what stopped its jobs."""

    spend_by_role: dict[str, float] = Field(default_factory=dict)
    """triage / plan / code / summarize → USD."""
    spend_by_model: dict[str, float] = Field(default_factory=dict)
    gate_failures: dict[str, int] = Field(default_factory=dict)
    """Check title → failed gate runs it failed in."""
    by_complexity: dict[str, dict[str, int]] = Field(default_factory=dict)
    """low / medium / high → finished, merged, untouched (merged with no human touch besides the PR approval)."""
    escalated_jobs: int = 0
    """Finished jobs whose coding attempts used more than one model (the cascade climbed)."""
    escalated_merged: int = 0
    hours_label_to_pr_median: float | None = None
    """From the ticket entering the backlog to its pull request opening."""
    hours_pr_to_merge_median: float | None = None


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _finished(session, start: datetime, end: datetime, scripted: bool):
    """(job, spend) of jobs that finished in [start, end)."""
    spend = (
        select(ModelUsage.job_id, func.sum(ModelUsage.cost_usd).label("spend")).group_by(ModelUsage.job_id).subquery()
    )
    kind = Ticket.cassette.is_not(None) if scripted else Ticket.cassette.is_(None)
    query = (
        select(Job, func.coalesce(spend.c.spend, 0.0))
        .join(Ticket, Job.ticket_id == Ticket.id)
        .outerjoin(spend, spend.c.job_id == Job.id)
        .where(kind, Job.state.in_([s.value for s in FINAL_STATES]), Job.finished_at >= start, Job.finished_at < end)
    )
    return [(job, float(cost)) for job, cost in session.execute(query)]


def weekly(store: Store, weeks: int = 12, *, now: datetime | None = None, scripted: bool = False) -> list[WeekRow]:
    """The last ``weeks`` ISO weeks (the current one included), oldest first; empty weeks are zero rows."""
    today = _utc(now or datetime.now(UTC)).date()
    first = monday(today) - timedelta(weeks=weeks - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    rows = {first + timedelta(weeks=i): WeekRow(week=first + timedelta(weeks=i)) for i in range(weeks)}
    with store.session() as s:
        for job, cost in _finished(s, start, start + timedelta(weeks=weeks), scripted):
            row = rows[monday(_utc(job.finished_at).date())]
            setattr(row, job.state, getattr(row, job.state) + 1)
            row.spend_usd = round(row.spend_usd + cost, 6)
    for row in rows.values():
        row.cost_per_merged_pr_usd = round(row.spend_usd / row.merged, 6) if row.merged else None
    return list(rows.values())


def _gate_failures(session, job_ids: list[int]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    query = select(GateResult.report).join(Attempt, GateResult.attempt_id == Attempt.id)
    for (report,) in session.execute(query.where(Attempt.job_id.in_(job_ids), GateResult.passed.is_(False))):
        for check in (report or {}).get("checks", []) if isinstance(report, dict) else []:
            if isinstance(check, dict) and check.get("passed") is False and not check.get("waived"):
                name = str(check.get("name", "?"))
                counts[CHECK_TITLES.get(name, name.removeprefix("extra:"))] += 1
    return dict(counts.most_common())


def _median_hours(pairs: list[tuple[datetime | None, datetime | None]]) -> float | None:
    spans = [(_utc(b) - _utc(a)).total_seconds() / 3600 for a, b in pairs if a and b and b >= a]
    return round(statistics.median(spans), 2) if spans else None


def breakdown(store: Store, start: datetime, end: datetime, *, scripted: bool = False) -> Breakdown:
    """Breakdowns of the jobs that finished in [start, end)."""
    out = Breakdown()
    with store.session() as s:
        finished = _finished(s, _utc(start), _utc(end), scripted)
        ids = [job.id for job, _ in finished]
        if not ids:
            return out
        for role, model, cost in s.execute(
            select(ModelUsage.role, ModelUsage.model, func.sum(ModelUsage.cost_usd)).where(ModelUsage.job_id.in_(ids))
            .group_by(ModelUsage.role, ModelUsage.model)
        ):  # fmt: skip
            out.spend_by_role[role or "unknown"] = round(out.spend_by_role.get(role or "unknown", 0.0) + cost, 6)
            out.spend_by_model[model] = round(out.spend_by_model.get(model, 0.0) + cost, 6)
        out.gate_failures = _gate_failures(s, ids)
        models_per_job: dict[int, set[str]] = defaultdict(set)
        for job_id, model in s.execute(select(Attempt.job_id, Attempt.model).where(Attempt.job_id.in_(ids))):
            models_per_job[job_id].add(model)
        prs = {pr.job_id: pr for pr in s.scalars(select(PullRequest).where(PullRequest.job_id.in_(ids)))}
        label_to_pr, pr_to_merge = [], []
        for job, _ in finished:
            merged = job.state == JobState.MERGED.value
            tally = out.by_complexity.setdefault(
                job.complexity or "untriaged", {"finished": 0, "merged": 0, "untouched": 0}
            )
            tally["finished"] += 1
            tally["merged"] += merged
            tally["untouched"] += merged and (job.human_touches or 0) <= 1
            if len(models_per_job[job.id]) > 1:
                out.escalated_jobs += 1
                out.escalated_merged += merged
            pr = prs.get(job.id)
            if pr is not None:
                label_to_pr.append((job.ticket.created_at, pr.opened_at))
                if merged:
                    pr_to_merge.append((pr.opened_at, pr.closed_at or job.finished_at))
        out.hours_label_to_pr_median = _median_hours(label_to_pr)
        out.hours_pr_to_merge_median = _median_hours(pr_to_merge)
    return out


def as_csv(rows: list[dict]) -> str:
    """Rows (dicts with the same keys) as CSV with a header line."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
