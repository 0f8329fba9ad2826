"""A job's model spending, by model: the one figure the pull request's cost table, the job page and the API show."""

from __future__ import annotations

from sqlalchemy import Integer, cast, func, select

from orchestrator.store import Store
from orchestrator.store.tables import ModelUsage


def cost_by_model(store: Store, job_id: int) -> list[dict]:
    """Calls, tokens and dollars per model for the job, by model name (``estimated`` when the provider
    reported no usage for some call and its tokens were estimated)."""
    with store.session() as s:
        rows = s.execute(
            select(
                ModelUsage.model,
                func.count(),
                func.sum(ModelUsage.input_tokens),
                func.sum(ModelUsage.output_tokens),
                func.sum(ModelUsage.cached_input_tokens),
                func.sum(ModelUsage.cost_usd),
                func.max(cast(ModelUsage.estimated, Integer)),
            )
            .where(ModelUsage.job_id == job_id)
            .group_by(ModelUsage.model)
            .order_by(ModelUsage.model)
        ).all()
    return [
        {"model": m, "calls": n, "input_tokens": i or 0, "output_tokens": o or 0, "cached_input_tokens": c or 0,
         "cost_usd": round(cost or 0.0, 6), "estimated": bool(est)}
        for m, n, i, o, c, cost, est in rows
    ]  # fmt: skip
