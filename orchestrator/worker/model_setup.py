"""The model side of a job: catalogue, router and budget guard, built from the settings."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from agents.budget import BudgetGuard, BudgetLimits
from agents.cassette import load_cassette
from agents.catalogue import DEFAULT_CATALOGUE, CatalogueError, ModelSpec, parse_catalogue
from agents.credentials import load_secrets
from agents.observers import CallRecorder
from agents.router import ModelRouter, RoutingPolicy
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.tables import Job, ModelUsage, Review, Ticket


def load_catalogue(path: Path | None) -> tuple[ModelSpec, ...]:
    """The deployment's model catalogue (YAML or TOML with a ``models`` list), or the defaults."""
    if path is None:
        return DEFAULT_CATALOGUE
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".toml"):
        import tomllib

        data = tomllib.loads(text)
    else:
        data = yaml.safe_load(text) or {}
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CatalogueError(f"{path}: models: must be a list of model entries")
    return parse_catalogue(entries, str(path))


def _spent_since(store: Store, since: datetime, repository_id: int | None = None) -> float:
    with store.session() as s:
        query = select(func.coalesce(func.sum(ModelUsage.cost_usd), 0.0)).where(ModelUsage.at >= since)
        if repository_id is not None:
            query = query.join(Job, Job.id == ModelUsage.job_id).join(Ticket, Ticket.id == Job.ticket_id)
            query = query.where(Ticket.repository_id == repository_id)
        return float(s.scalar(query))


def build_router(
    settings: Settings, store: Store, job_id: int, cassette: str | None, recorder: CallRecorder, *, wrap: Any = None
) -> tuple[ModelRouter, BudgetGuard]:
    """The router (scripted replay when the ticket has a cassette) and the job's budget guard."""
    with store.session() as s:
        job = s.get(Job, job_id)
        repository_id = job.ticket.repository_id
        extra = float(s.scalar(select(func.coalesce(func.sum(Review.extra_usd), 0.0)).where(
            Review.job_id == job_id, Review.gate == "budget", Review.decision == "approve")))  # fmt: skip
        spent = float(
            s.scalar(select(func.coalesce(func.sum(ModelUsage.cost_usd), 0.0)).where(ModelUsage.job_id == job_id))
        )
        used = func.coalesce(func.sum(ModelUsage.input_tokens + ModelUsage.output_tokens), 0)
        tokens = int(s.scalar(select(used).where(ModelUsage.job_id == job_id)))
    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    guard = BudgetGuard(
        BudgetLimits(
            job_usd=settings.job_budget_usd + extra,
            repo_day_usd=settings.repo_daily_budget_usd,
            deployment_month_usd=settings.monthly_budget_usd,
        ),
        job_spent_usd=spent,
        job_spent_tokens=tokens,
        repo_day_spent=lambda: _spent_since(store, day, repository_id),
        deployment_month_spent=lambda: _spent_since(store, month),
    )
    secrets = load_secrets(os.environ, settings.secrets_file)
    router = ModelRouter(
        load_catalogue(settings.models_file),
        RoutingPolicy(),
        cassette=load_cassette(cassette) if cassette else None,
        recorder=recorder,
        secrets=secrets,
        wrap=wrap,
    )
    return router, guard
