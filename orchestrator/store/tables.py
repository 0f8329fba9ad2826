"""Tables. Every token is tied to a ticket, a job, an attempt and an outcome."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_PLAN_APPROVAL = "awaiting_plan_approval"
    AWAITING_BUDGET = "awaiting_budget"
    AWAITING_PROVIDER = "awaiting_provider"
    """A model's provider stopped answering; a worker's probe (or a human) resumes the job."""
    AWAITING_REVIEW = "awaiting_review"
    MERGED = "merged"
    CLOSED = "closed"
    BLOCKED = "blocked"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_waiting_for_human(self) -> bool:
        """Paused until a decision is recorded (for ``awaiting_provider`` a worker's probe may record it)."""
        return self in (
            JobState.AWAITING_PLAN_APPROVAL,
            JobState.AWAITING_BUDGET,
            JobState.AWAITING_PROVIDER,
            JobState.AWAITING_REVIEW,
        )


FINAL_STATES = frozenset({JobState.MERGED, JobState.CLOSED, JobState.BLOCKED, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = frozenset(set(JobState) - FINAL_STATES)
ACTIVE_JOB_SQL = "state IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(ACTIVE_STATES, key=lambda s: s.value)))
"""Partial-index predicate of "active": the database allows one such job per ticket."""


class Repository(Base):
    __tablename__ = "repositories"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    """Short name used on the command line (``shipyard ticket add --repo NAME``)."""
    forge: Mapped[str] = mapped_column(String(20), default="local")
    url: Mapped[str] = mapped_column(Text)
    """Local path of the git repository, or ``owner/name`` on GitHub."""
    base_branch: Mapped[str] = mapped_column(String(200), default="main")
    config_yaml: Mapped[str | None] = mapped_column(Text, nullable=True)
    """``.shipyard.yml`` kept in the store for a team that does not commit it; a committed
    ``.shipyard.yml`` in the repository wins over it."""
    max_running_jobs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """This repository's cap on jobs worked at once, set in the store (``shipyard jobs cap``); it wins
    over ``config_max_running_jobs``. None: the repository's ``.shipyard.yml``, then the deployment's."""
    config_max_running_jobs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """``queue.max_running_jobs`` of the repository's ``.shipyard.yml`` as a job (or ``shipyard init``)
    last read it: the claim needs the cap before any clone, so it is kept here."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("repository_id", "source", "external_id", name="uq_tickets_external"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    source: Mapped[str] = mapped_column(String(20), default="local")
    """``local`` backlog or ``github``."""
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list] = mapped_column(JSON, default=list)
    cassette: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Path of a scripted-model cassette; when set, every model call of this ticket is a replay."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    repository: Mapped[Repository] = relationship()
    jobs: Mapped[list[Job]] = relationship(back_populates="ticket", order_by="Job.id")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_one_active_per_ticket",
            "ticket_id",
            unique=True,
            sqlite_where=text(ACTIVE_JOB_SQL),
            postgresql_where=text(ACTIVE_JOB_SQL),
        ),
        Index("ix_jobs_dispatch_order", "state", "priority", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    state: Mapped[str] = mapped_column(String(40), default=JobState.QUEUED.value, index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Why the job stopped or waits, for a human (blocked / failed / awaiting_*)."""
    complexity: Mapped[str | None] = mapped_column(String(20), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    base_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    head_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sandbox_backend: Mapped[str | None] = mapped_column(String(20), nullable=True)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    human_touches: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    recoveries: Mapped[int] = mapped_column(Integer, default=0)
    """Times the job was resumed after its worker died (lease expired)."""
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When the job's latest message was sent; the sweep re-sends it if no worker claimed it in time."""
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Dispatch order: higher first (from the ticket's ``priority:*`` label; see ``queue_policy``)."""
    dir_removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """When retention removed the job's working directory (its diffs are kept in ``kept_diffs``)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    ticket: Mapped[Ticket] = relationship(back_populates="jobs")
    events: Mapped[list[Event]] = relationship(order_by="Event.id", cascade="all, delete-orphan")
    attempt_rows: Mapped[list[Attempt]] = relationship(order_by="Attempt.number", cascade="all, delete-orphan")
    usage: Mapped[list[ModelUsage]] = relationship(order_by="ModelUsage.id", cascade="all, delete-orphan")
    pull_request: Mapped[PullRequest | None] = relationship(back_populates="job", uselist=False)

    @property
    def job_state(self) -> JobState:
        return JobState(self.state)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("job_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(200), default="")
    routing_reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """``gate_passed``, ``gate_failed``, ``agent_stopped``…"""
    summary: Mapped[str] = mapped_column(Text, default="")
    head_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The commit the attempt left (None when it changed nothing or did not get that far)."""
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    gate: Mapped[GateResult | None] = relationship(uselist=False, back_populates="attempt")


class KeptDiff(Base):
    """A diff between two commits of a job, kept in the store when retention removes the job's directory."""

    __tablename__ = "kept_diffs"
    __table_args__ = (UniqueConstraint("job_id", "old_sha", "new_sha", name="uq_kept_diffs_commits"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    old_sha: Mapped[str] = mapped_column(String(64))
    new_sha: Mapped[str] = mapped_column(String(64))
    diff: Mapped[str] = mapped_column(Text)


class GateResult(Base):
    __tablename__ = "gate_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    diff_coverage: Mapped[float | None] = mapped_column(Float, nullable=True)
    report: Mapped[dict] = mapped_column(JSON)
    """The ``GateReport`` as JSON; the PR body and the job page render from it."""
    attempt: Mapped[Attempt] = relationship(back_populates="gate")


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class ModelUsage(Base):
    __tablename__ = "model_usage"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(40), default="")
    role: Mapped[str] = mapped_column(String(40), default="")
    step: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    """True when the provider reported no usage and the tokens were estimated."""


class PullRequest(Base):
    __tablename__ = "pull_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    number: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    branch: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="open")
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    job: Mapped[Job] = relationship(back_populates="pull_request")


class Review(Base):
    """A human decision at a review gate (plan, budget, PR)."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    gate: Mapped[str] = mapped_column(String(20))
    """``plan``, ``budget`` or ``pr``."""
    decision: Mapped[str] = mapped_column(String(30))
    """``approve``, ``reject`` or ``request_changes``."""
    comment: Mapped[str] = mapped_column(Text, default="")
    line_comments: Mapped[list | None] = mapped_column(JSON, nullable=True, default=list)
    """Comments on lines of the diff: ``[{"path", "line", "body"}]`` (``line`` in the new file)."""
    reviewer: Mapped[str] = mapped_column(String(200), default="")
    extra_usd: Mapped[float] = mapped_column(Float, default=0.0)
    """Budget extension granted (budget gate only)."""
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    """Set once the workflow has resumed with this decision."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One row per webhook delivery id: a delivery GitHub sends twice has one effect."""

    __tablename__ = "webhook_deliveries"
    delivery_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookEvent(Base):
    """One row per webhook event identity (issue, action, label, the issue's ``updated_at``): the
    same event sent again under a new ``X-GitHub-Delivery`` id has no second effect."""

    __tablename__ = "webhook_events"
    event_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkerRecord(Base):
    """A worker process as last seen: its heartbeat is how ops (and the CLI) know whether anyone
    is there to work the queue."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    """``host:pid`` of the worker's main process."""
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    concurrency: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(50))
    pool_pids: Mapped[list] = mapped_column(JSON, default=list)
    """Pids of the pool processes at the last heartbeat (a job's lease owner names one of them)."""
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """Set when the worker shut down cleanly; a worker silent for long without it died."""
    stop_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    """Why the worker stopped itself (its pool left a received job unstarted); none for a plain shutdown."""
