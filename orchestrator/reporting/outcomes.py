"""Outcome metrics: what the spend bought, counted in merged pull requests, not tokens.

Jobs of tickets that carry a cassette are replays of a scripted model: their figures are
kept apart (``OutcomeMetrics.scripted``) so nobody mistakes a replay for a model's work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from orchestrator.domain.backlog import TRIGGER_LABEL
from orchestrator.store import Store
from orchestrator.store.tables import (
    FINAL_STATES,
    Attempt,
    Event,
    GateResult,
    Job,
    JobState,
    ModelUsage,
    Repository,
    Ticket,
)


class OutcomeCounts(BaseModel):
    """Finished jobs by outcome, what they cost, and what that makes per merged pull request."""

    merged: int = 0
    closed: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    spend_usd: float = 0.0
    """Model spend of all finished jobs, whatever their outcome."""
    cost_per_merged_pr_usd: float | None = None
    """``spend_usd ÷ merged``: spend on closed, blocked and failed jobs counts against the merged ones. None when
    nothing merged."""


class OutcomeFigures(OutcomeCounts):
    """Outcome figures of one population of jobs (real-model work, or scripted replays)."""

    jobs_finished: int = 0
    """Jobs in a final state (merged, closed, blocked, failed, cancelled)."""
    jobs_active: int = 0
    """Jobs queued, running or waiting for a human."""
    reverted: int = 0
    """Merged jobs whose merge commit was later reverted on the base branch (``orchestrator.domain.reverts``)."""
    revert_rate: float | None = None
    """``reverted ÷ merged``; None when nothing merged."""
    tickets_labelled: int = 0
    """Tickets labelled for the agent."""
    tickets_automated: int = 0
    """Labelled tickets with a merged job."""
    backlog_automated_share: float | None = None
    """``tickets_automated ÷ tickets_labelled``; None without labelled tickets."""
    diff_coverage_mean: float | None = None
    """Mean diff coverage (percent) of the final gate of merged jobs; None when no merged job measured any."""
    diff_coverage_samples: int = 0
    low_complexity_finished: int = 0
    """Finished jobs triaged low complexity."""
    low_complexity_untouched: int = 0
    """Of those, merged with no human touch besides the final PR approval (``human_touches ≤ 1``)."""
    low_complexity_untouched_share: float | None = None


class ModelCost(BaseModel):
    model: str
    scripted: bool
    """True for a replayed (scripted) model: its cost is what the recorded run was priced at, not new spend."""
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class RepositoryCost(BaseModel):
    repository: str
    jobs_finished: int
    merged: int
    spend_usd: float
    """Spend of finished real-model jobs."""
    cost_per_merged_pr_usd: float | None
    scripted_spend_usd: float
    """Spend of finished replayed jobs, kept apart."""


class OutcomeMetrics(BaseModel):
    since: datetime | None = None
    """Only jobs created (and tickets added) at or after this instant count; None for all time."""
    until: datetime | None = None
    """…and before this instant; None for up to now."""
    generated_at: datetime
    real: OutcomeFigures
    """Jobs worked by real models: the headline figures."""
    scripted: OutcomeFigures
    """Jobs whose every model call was a replay (tickets with a cassette)."""
    cost_by_model: list[ModelCost] = Field(default_factory=list)
    cost_by_repository: list[RepositoryCost] = Field(default_factory=list)
    gate_runs_passed: int = 0
    gate_runs_failed: int = 0


@dataclass
class _JobRow:
    id: int
    state: JobState
    complexity: str | None
    human_touches: int
    ticket_id: int
    scripted: bool
    repository: str
    spend: float


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _utc(value: datetime | None) -> datetime | None:
    # Stored instants are UTC (SQLite keeps them naive), so the bound must be UTC too.
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _job_rows(session, since: datetime | None, until: datetime | None = None) -> list[_JobRow]:
    spend = (
        select(ModelUsage.job_id, func.sum(ModelUsage.cost_usd).label("spend")).group_by(ModelUsage.job_id).subquery()
    )
    query = (
        select(Job, Ticket.cassette, Repository.name, func.coalesce(spend.c.spend, 0.0))
        .join(Ticket, Job.ticket_id == Ticket.id)
        .join(Repository, Ticket.repository_id == Repository.id)
        .outerjoin(spend, spend.c.job_id == Job.id)
    )
    if since is not None:
        query = query.where(Job.created_at >= since)
    if until is not None:
        query = query.where(Job.created_at < until)
    return [
        _JobRow(
            j.id, JobState(j.state), j.complexity, j.human_touches or 0, j.ticket_id, bool(cassette), repo, float(cost)
        )
        for j, cassette, repo, cost in session.execute(query)
    ]


def _final_diff_coverage(session, job_ids: list[int]) -> dict[int, float]:
    """Diff coverage of each job's last gated attempt, where it measured one."""
    if not job_ids:
        return {}
    rows = session.execute(
        select(Attempt.job_id, GateResult.diff_coverage)
        .join(GateResult, GateResult.attempt_id == Attempt.id)
        .where(Attempt.job_id.in_(job_ids))
        .order_by(Attempt.job_id, Attempt.number)
    )
    last: dict[int, float | None] = {}
    for job_id, coverage in rows:
        last[job_id] = coverage
    return {job_id: cov for job_id, cov in last.items() if cov is not None}


def _labelled_tickets(session, since: datetime | None, until: datetime | None = None) -> dict[int, bool]:
    """Ticket id → scripted, for tickets labelled for the agent."""
    query = select(Ticket.id, Ticket.labels, Ticket.cassette)
    if since is not None:
        query = query.where(Ticket.created_at >= since)
    if until is not None:
        query = query.where(Ticket.created_at < until)
    # Labels are a JSON list; filtering in Python keeps this portable across SQLite and Postgres.
    return {tid: bool(cassette) for tid, labels, cassette in session.execute(query) if TRIGGER_LABEL in (labels or [])}


def _figures(
    rows: list[_JobRow],
    labelled: dict[int, bool],
    coverage: dict[int, float],
    scripted: bool,
    reverted: frozenset[int] = frozenset(),
) -> OutcomeFigures:
    mine = [r for r in rows if r.scripted == scripted]
    finished = [r for r in mine if r.state in FINAL_STATES]
    counts = defaultdict(int)
    for r in finished:
        counts[r.state] += 1
    merged = [r for r in finished if r.state == JobState.MERGED]
    spend = sum(r.spend for r in finished)
    labelled_ids = {tid for tid, s in labelled.items() if s == scripted}
    automated = labelled_ids & {r.ticket_id for r in merged}
    covered = [coverage[r.id] for r in merged if r.id in coverage]
    low = [r for r in finished if r.complexity == "low"]
    untouched = [r for r in low if r.state == JobState.MERGED and r.human_touches <= 1]
    return OutcomeFigures(
        jobs_finished=len(finished),
        jobs_active=len(mine) - len(finished),
        merged=counts[JobState.MERGED],
        reverted=len([r for r in merged if r.id in reverted]),
        revert_rate=_ratio(len([r for r in merged if r.id in reverted]), len(merged)),
        closed=counts[JobState.CLOSED],
        blocked=counts[JobState.BLOCKED],
        failed=counts[JobState.FAILED],
        cancelled=counts[JobState.CANCELLED],
        spend_usd=round(spend, 6),
        cost_per_merged_pr_usd=None if not merged else round(spend / len(merged), 6),
        tickets_labelled=len(labelled_ids),
        tickets_automated=len(automated),
        backlog_automated_share=_ratio(len(automated), len(labelled_ids)),
        diff_coverage_mean=_ratio(sum(covered), len(covered)),
        diff_coverage_samples=len(covered),
        low_complexity_finished=len(low),
        low_complexity_untouched=len(untouched),
        low_complexity_untouched_share=_ratio(len(untouched), len(low)),
    )


def _cost_by_model(session, since: datetime | None, until: datetime | None = None) -> list[ModelCost]:
    scripted = Ticket.cassette.is_not(None)
    query = (
        select(
            ModelUsage.model,
            scripted,
            func.count(),
            func.coalesce(func.sum(ModelUsage.input_tokens), 0),
            func.coalesce(func.sum(ModelUsage.output_tokens), 0),
            func.coalesce(func.sum(ModelUsage.cost_usd), 0.0),
        )
        .join(Job, ModelUsage.job_id == Job.id)
        .join(Ticket, Job.ticket_id == Ticket.id)
        .group_by(ModelUsage.model, scripted)
    )
    if since is not None:
        query = query.where(Job.created_at >= since)
    if until is not None:
        query = query.where(Job.created_at < until)
    rows = [
        ModelCost(model=m, scripted=bool(s), calls=n, input_tokens=i, output_tokens=o, cost_usd=round(c, 6))
        for m, s, n, i, o, c in session.execute(query)
    ]
    return sorted(rows, key=lambda r: (r.scripted, -r.cost_usd, r.model))


def _cost_by_repository(rows: list[_JobRow]) -> list[RepositoryCost]:
    by_repo: dict[str, list[_JobRow]] = defaultdict(list)
    for r in rows:
        if r.state in FINAL_STATES:
            by_repo[r.repository].append(r)
    out = []
    for repo, repo_rows in by_repo.items():
        real = [r for r in repo_rows if not r.scripted]
        merged = sum(1 for r in real if r.state == JobState.MERGED)
        spend = sum(r.spend for r in real)
        out.append(
            RepositoryCost(
                repository=repo,
                jobs_finished=len(real),
                merged=merged,
                spend_usd=round(spend, 6),
                cost_per_merged_pr_usd=round(spend / merged, 6) if merged else None,
                scripted_spend_usd=round(sum(r.spend for r in repo_rows if r.scripted), 6),
            )
        )
    return sorted(out, key=lambda r: (-r.spend_usd, r.repository))


def _gate_runs(session, since: datetime | None, until: datetime | None = None) -> tuple[int, int]:
    query = select(GateResult.passed, func.count()).join(Attempt, GateResult.attempt_id == Attempt.id)
    query = query.join(Job, Attempt.job_id == Job.id).group_by(GateResult.passed)
    if since is not None:
        query = query.where(Job.created_at >= since)
    if until is not None:
        query = query.where(Job.created_at < until)
    counts = {bool(passed): n for passed, n in session.execute(query)}
    return counts.get(True, 0), counts.get(False, 0)


def outcome_metrics(store: Store, since: datetime | None = None, until: datetime | None = None) -> OutcomeMetrics:
    """Outcome figures of every job created at or after ``since`` and before ``until`` (unbounded when None)."""
    since, until = _utc(since), _utc(until)
    with store.session() as s:
        rows = _job_rows(s, since, until)
        merged_ids = [r.id for r in rows if r.state == JobState.MERGED]
        coverage = _final_diff_coverage(s, merged_ids)
        reverted = frozenset(s.scalars(select(Event.job_id).where(Event.kind == "reverted")))
        labelled = _labelled_tickets(s, since, until)
        by_model = _cost_by_model(s, since, until)
        passed, failed = _gate_runs(s, since, until)
    return OutcomeMetrics(
        since=since,
        until=until,
        generated_at=datetime.now(UTC),
        real=_figures(rows, labelled, coverage, scripted=False, reverted=reverted),
        scripted=_figures(rows, labelled, coverage, scripted=True, reverted=reverted),
        cost_by_model=by_model,
        cost_by_repository=_cost_by_repository(rows),
        gate_runs_passed=passed,
        gate_runs_failed=failed,
    )
