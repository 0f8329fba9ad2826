"""``GET /metrics`` in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select

from orchestrator.reporting.outcomes import OutcomeFigures, outcome_metrics
from orchestrator.store.tables import Job, JobState

router = APIRouter()
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    return repr(float(value)) if isinstance(value, float) else str(value)


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(
        self, name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float | int | None]]
    ) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            rendered = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{rendered}}} {_number(value)}" if rendered else f"{name} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _by_population(
    real: OutcomeFigures, scripted: OutcomeFigures, field: str
) -> list[tuple[dict[str, str], float | None]]:
    return [({"scripted": "false"}, getattr(real, field)), ({"scripted": "true"}, getattr(scripted, field))]


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    store = request.app.state.ship.store
    with store.session() as s:
        counts = dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    m = outcome_metrics(store)
    out = Exposition()
    out.metric(
        "shipyard_jobs", "gauge", "Jobs by state.", [({"state": st.value}, counts.get(st.value, 0)) for st in JobState]
    )
    out.metric("shipyard_model_spend_usd", "gauge", "Model spend of finished jobs in USD (scripted = replayed model).",
               _by_population(m.real, m.scripted, "spend_usd"))  # fmt: skip
    out.metric(
        "shipyard_model_cost_usd",
        "gauge",
        "Model spend of all jobs by model in USD.",
        [({"model": c.model, "scripted": str(c.scripted).lower()}, c.cost_usd) for c in m.cost_by_model],
    )
    out.metric(
        "shipyard_cost_per_merged_pr_usd",
        "gauge",
        "Spend of finished jobs divided by merged pull requests (NaN: none merged).",
        _by_population(m.real, m.scripted, "cost_per_merged_pr_usd"),
    )
    out.metric(
        "shipyard_merged_prs", "gauge", "Jobs whose pull request merged.", _by_population(m.real, m.scripted, "merged")
    )
    out.metric(
        "shipyard_backlog_automated_ratio",
        "gauge",
        "Labelled tickets with a merged job divided by labelled tickets.",
        _by_population(m.real, m.scripted, "backlog_automated_share"),
    )
    out.metric("shipyard_gate_runs", "gauge", "Quality-gate runs by result.",
               [({"result": "passed"}, m.gate_runs_passed), ({"result": "failed"}, m.gate_runs_failed)])  # fmt: skip
    return PlainTextResponse(out.text(), media_type=CONTENT_TYPE)
