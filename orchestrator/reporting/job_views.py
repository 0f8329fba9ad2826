"""Read models of jobs, shared by the CLI (``--json``), the web pages and the JSON API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import selectinload

from orchestrator.domain.job_costs import cost_by_model
from orchestrator.domain.scheduling import priority_name
from orchestrator.housekeeping.retention import kept_diff, render_diff
from orchestrator.store import Store
from orchestrator.store.tables import Attempt, GateResult, Job, JobState, Repository, Review, Ticket
from workflows.gitops import GitError
from workflows.job_dirs import JobDirs


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def age_seconds(value: datetime | None) -> float:
    value = _aware(value)
    return (datetime.now(UTC) - value).total_seconds() if value else 0.0


def age(seconds: float | int | None) -> str:
    """``42s``, ``7m``, ``3h``, ``2d``."""
    s = int(seconds or 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


PENDING_TEXT = {
    "approve": "approved — waiting for a worker",
    "reject": "rejected — waiting for a worker",
    "request_changes": "changes requested — waiting for a worker",
}
"""How a decision taken but not yet applied by a worker reads on every view."""


def worked_seconds(job: Job) -> float:
    """Time the job's attempts ran (a running attempt counts up to now), not the job's age."""
    now = datetime.now(UTC)
    total = 0.0
    for a in job.attempt_rows:
        start = _aware(a.started_at)
        if start is None:
            continue
        end = _aware(a.finished_at) or (now if job.state == JobState.RUNNING.value else start)
        total += max(0.0, (end - start).total_seconds())
    return round(total, 1)


def pending_decisions(session, job_ids: list[int]) -> dict[int, dict]:
    """Decisions taken and not yet applied by a worker, by job id."""
    if not job_ids:
        return {}
    rows = session.scalars(
        select(Review).where(Review.job_id.in_(job_ids), Review.applied.is_(False)).order_by(Review.id)
    )
    pending: dict[int, dict] = {}
    for r in rows:
        pending.setdefault(
            r.job_id,
            {
                "decision": r.decision,
                "gate": r.gate,
                "comment": r.comment,
                "reviewer": r.reviewer,
                "line_comments": r.line_comments or [],
                "at": _aware(r.at).isoformat(),
                "text": PENDING_TEXT.get(r.decision, f"{r.decision} — waiting for a worker"),
            },
        )
    return pending


def _summaries(session, jobs) -> list[dict]:
    rows = [job_summary(j) for j in jobs]
    pending = pending_decisions(session, [r["id"] for r in rows])
    for r in rows:
        r["pending_decision"] = pending.get(r["id"])
    return rows


def job_summary(job: Job) -> dict:
    ticket = job.ticket
    pr = job.pull_request
    latest_gate = next((a.gate for a in reversed(job.attempt_rows) if a.gate is not None), None)
    return {
        "id": job.id,
        "ticket_id": ticket.id,
        "title": ticket.title,
        "repo": ticket.repository.name,
        "state": job.state,
        "priority": priority_name(job.priority or 0),
        "reason": job.reason,
        "attempts": job.attempts,
        "complexity": job.complexity,
        "kind": job.kind,
        "cost_usd": round(job.cost_usd or 0.0, 6),
        "scripted": bool(ticket.cassette),
        "sandbox": job.sandbox_backend,
        "gate_passed": latest_gate.passed if latest_gate else None,
        "diff_coverage": latest_gate.diff_coverage if latest_gate else None,
        "pr": {"number": pr.number, "url": pr.url, "state": pr.state, "branch": pr.branch} if pr else None,
        "created_at": _aware(job.created_at).isoformat(),
        "updated_at": _aware(job.updated_at).isoformat() if job.updated_at else None,
        "finished_at": _aware(job.finished_at).isoformat() if job.finished_at else None,
        "wall_s": worked_seconds(job),
        "age_s": round(age_seconds(job.created_at), 1),
    }


def _with_summary_rows(query):
    """Load what ``job_summary`` reads in a few queries, not a few per job (pages poll this)."""
    return query.options(
        selectinload(Job.ticket).selectinload(Ticket.repository),
        selectinload(Job.pull_request),
        selectinload(Job.attempt_rows)
        .selectinload(Attempt.gate)
        .load_only(GateResult.passed, GateResult.diff_coverage),
    )


MAX_PAGE = 1000


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a list shows; every field optional."""

    state: str | None = None
    repo: str | None = None
    label: str | None = None
    model: str | None = None
    """Jobs with an attempt on this catalogue model."""
    q: str | None = None
    """Words in the ticket's title (case-insensitive)."""
    since: datetime | None = None
    until: datetime | None = None
    """Created at or after ``since`` and before ``until``."""

    def apply(self, query):
        if self.state:
            query = query.where(Job.state == self.state)
        if self.repo or self.label or self.q:
            query = query.join(Ticket, Job.ticket_id == Ticket.id)
        if self.repo:
            query = query.join(Repository, Ticket.repository_id == Repository.id).where(Repository.name == self.repo)
        if self.label:
            # Labels are a JSON list; its text form holds each label quoted, on SQLite and PostgreSQL alike.
            query = query.where(
                cast(Ticket.labels, String).like(f"%{_escape_like(json.dumps(self.label))}%", escape="\\")
            )
        if self.q:
            query = query.where(func.lower(Ticket.title).like(f"%{_escape_like(self.q.lower())}%", escape="\\"))
        if self.model:
            query = query.where(
                select(Attempt.id).where(Attempt.job_id == Job.id, Attempt.model == self.model).exists()
            )
        if self.since:
            query = query.where(Job.created_at >= self.since)
        if self.until:
            query = query.where(Job.created_at < self.until)
        return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_jobs(
    store: Store,
    state: str | None = None,
    limit: int = 500,
    before: int | None = None,
    *,
    cursor: int | None = None,
    repo: str | None = None,
    where: JobFilter | None = None,
    oldest: bool = False,
) -> list[dict]:
    """Jobs, newest first or ``oldest`` first (optionally filtered: one state, one repository, or a
    ``JobFilter``); a page of ``limit`` jobs after ``cursor`` in that order (``before`` is the
    cursor of the newest-first order). The cursor for the next page is the last row's id (keyset
    paging: stable while jobs are added)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit: must be between 1 and {MAX_PAGE}, got {limit}")
    after = cursor if cursor is not None else before
    where = where or JobFilter(state=state, repo=repo)
    order = Job.id.asc() if oldest else Job.id.desc()
    query = where.apply(_with_summary_rows(select(Job).order_by(order).limit(limit)))
    if after is not None:
        query = query.where(Job.id > after if oldest else Job.id < after)
    with store.session() as s:
        return _summaries(s, s.scalars(query))


def review_inbox(store: Store) -> list[dict]:
    """Jobs waiting for a human, oldest first."""
    waiting = [s.value for s in JobState if s.is_waiting_for_human]
    query = _with_summary_rows(select(Job).where(Job.state.in_(waiting)).order_by(Job.updated_at))
    with store.session() as s:
        return _summaries(s, s.scalars(query))


def job_diff(job_dirs: JobDirs, job: Job, session=None) -> str:
    """The candidate's diff against the base commit, from the job's git directory."""
    return commits_diff(job_dirs, job.id, job.base_sha, job.head_sha, session=session)


def commits_diff(job_dirs: JobDirs, job_id: int, old: str | None, new: str | None, *, session=None) -> str:
    """``old..new`` in the job's git directory (two attempts, or base and candidate); once retention
    removed that directory, the copy kept in the store (read through ``session``)."""
    if not (old and new) or old == new:
        return ""
    git_dir = job_dirs.git(job_id)
    if not git_dir.is_dir() and session is not None:
        kept = kept_diff(session, job_id, old, new)
        return (
            kept
            if kept is not None
            else "(diff unavailable: the job's working directory was removed and this diff was not kept)"
        )
    try:
        return render_diff(git_dir, old, new)
    except GitError as exc:
        return f"(diff unavailable: {exc})"


def job_detail(store: Store, job_dirs: JobDirs, job_id: int) -> dict | None:
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            return None
        detail = _summaries(s, [job])[0]
        detail["ticket"] = {
            "id": job.ticket.id,
            "title": job.ticket.title,
            "body": job.ticket.body,
            "labels": job.ticket.labels,
        }
        detail["base_sha"], detail["head_sha"], detail["branch"] = job.base_sha, job.head_sha, job.branch
        detail["events"] = [
            {"id": e.id, "at": _aware(e.at).isoformat(), "kind": e.kind, "message": e.message, "data": e.data}
            for e in job.events
        ]
        detail["attempt_list"] = [
            {
                "number": a.number,
                "model": a.model,
                "routing_reason": a.routing_reason,
                "outcome": a.outcome,
                "summary": a.summary,
                "head_sha": a.head_sha,
                "gate": a.gate.report if a.gate else None,
            }
            for a in job.attempt_rows
        ]
        detail["pr_body"] = job.pull_request.body if job.pull_request else None
        detail["diff"] = job_diff(job_dirs, job, session=s)
        detail["dir_removed_at"] = _aware(job.dir_removed_at).isoformat() if job.dir_removed_at else None
    detail["cost_by_model"] = cost_by_model(store, job_id)
    return detail


def latest_plan(detail: dict) -> str | None:
    """The newest written plan in the job's timeline."""
    plans = [e["message"] for e in detail.get("events", []) if e.get("kind") == "plan"]
    return plans[-1] if plans else None
