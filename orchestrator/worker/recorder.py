"""The store-backed ``JobRecorder``: the job's timeline and ledgers, redacted on the way in."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select

from orchestrator.redaction import Redactor
from orchestrator.store import Store
from orchestrator.store.tables import Attempt, Event, GateResult, Job, ModelUsage, PullRequest, utcnow
from workflows.ports import PullRequestInfo

log = logging.getLogger("shipyard.job")


class StoreRecorder:
    def __init__(self, store: Store, job_id: int, redactor: Redactor):
        self.store = store
        self.job_id = job_id
        self.redactor = redactor
        self.current_attempt = 0

    def event(self, kind: str, message: str, /, **data: Any) -> None:
        message = self.redactor.text(message)
        with self.store.session() as s:
            s.add(Event(job_id=self.job_id, kind=kind, message=message, data=self.redactor.data(data)))
        log.info("job %s %s: %s", self.job_id, kind, message)

    def usage(self, record: Any) -> None:
        fields = record.model_dump() if hasattr(record, "model_dump") else dict(vars(record))
        with self.store.session() as s:
            s.add(
                ModelUsage(
                    job_id=self.job_id,
                    attempt=self.current_attempt,
                    model=str(fields.get("model", "")),
                    provider=str(fields.get("provider", "")),
                    role=str(fields.get("role", "")),
                    step=int(fields.get("step", 0) or 0),
                    input_tokens=int(fields.get("input_tokens", 0) or 0),
                    output_tokens=int(fields.get("output_tokens", 0) or 0),
                    cached_input_tokens=int(fields.get("cached_input_tokens", 0) or 0),
                    cost_usd=float(fields.get("cost_usd", 0.0) or 0.0),
                    latency_s=float(fields.get("latency_s", 0.0) or 0.0),
                    estimated=bool(fields.get("estimated", False)),
                )
            )
            s.flush()
            job = s.get(Job, self.job_id)
            job.cost_usd = s.scalar(
                select(func.coalesce(func.sum(ModelUsage.cost_usd), 0.0)).where(ModelUsage.job_id == self.job_id)
            )

    def attempt_started(self, attempt: int, model: str, reason: str) -> None:
        self.current_attempt = attempt
        with self.store.session() as s:
            row = s.scalar(select(Attempt).where(Attempt.job_id == self.job_id, Attempt.number == attempt))
            if row is None:
                row = Attempt(job_id=self.job_id, number=attempt)
                s.add(row)
            row.model, row.routing_reason, row.started_at = model, reason, utcnow()
            row.outcome, row.finished_at = None, None
            s.get(Job, self.job_id).attempts = attempt
        self.event("attempt", f"attempt {attempt} started on {model} ({reason})", attempt=attempt, model=model)

    def attempt_finished(self, attempt: int, outcome: str, summary: str, head_sha: str | None = None) -> None:
        with self.store.session() as s:
            row = s.scalar(select(Attempt).where(Attempt.job_id == self.job_id, Attempt.number == attempt))
            if row is not None:
                row.outcome, row.summary, row.finished_at = outcome, self.redactor.text(summary), utcnow()
                if head_sha is not None:  # the gate's verdict later keeps the commit the agent left
                    row.head_sha = head_sha

    def gate_result(self, attempt: int, report: Any) -> None:
        data = self.redactor.data(report.model_dump(mode="json"))
        with self.store.session() as s:
            row = s.scalar(select(Attempt).where(Attempt.job_id == self.job_id, Attempt.number == attempt))
            if row is None:
                row = Attempt(job_id=self.job_id, number=attempt)
                s.add(row)
                s.flush()
            gate = s.scalar(select(GateResult).where(GateResult.attempt_id == row.id))
            if gate is None:
                gate = GateResult(attempt_id=row.id, passed=report.passed, report=data)
                s.add(gate)
            gate.passed, gate.report, gate.diff_coverage = report.passed, data, report.diff_coverage

    def pull_request(self, info: PullRequestInfo, *, title: str = "", body: str = "") -> None:
        """Keep the job's pull-request row in step with the forge (a hosted forge keeps no row itself)."""
        self.event(
            "pull_request", f"pull request #{info.number} {info.state}: {info.url}", number=info.number, url=info.url
        )
        with self.store.session() as s:
            pr = s.scalar(select(PullRequest).where(PullRequest.job_id == self.job_id))
            if pr is None:
                pr = PullRequest(
                    job_id=self.job_id,
                    number=info.number,
                    url=info.url,
                    branch=info.branch,
                    title=self.redactor.text(title),
                    body=self.redactor.text(body),
                )
                s.add(pr)
            pr.state = info.state
            pr.closed_at = None if info.state == "open" else (pr.closed_at or utcnow())
            if body:
                pr.title, pr.body = self.redactor.text(title) or pr.title, self.redactor.text(body)

    def cost_markdown(self) -> str:
        from orchestrator.domain.job_costs import cost_by_model

        rows = cost_by_model(self.store, self.job_id)
        if not rows:
            return "No model calls."
        lines = ["| model | calls | input tokens | output tokens | cost (USD) |", "|---|---:|---:|---:|---:|"]
        for r in rows:
            est = " (estimated)" if r["estimated"] else ""
            lines.append(
                f"| {r['model']} | {r['calls']} | {r['input_tokens']} | {r['output_tokens']} "
                f"| {r['cost_usd']:.4f}{est} |"
            )
        total = sum(r["cost_usd"] for r in rows)
        lines.append(f"| **total** | | | | **{total:.4f}** |")
        return "\n".join(lines)

    def repository_cap(self, max_running_jobs: int | None) -> None:
        """Keep the job's repository's ``.shipyard.yml`` cap for the claims to come."""
        from orchestrator.domain.scheduling import record_config_cap

        with self.store.session() as s:
            name = s.get(Job, self.job_id).ticket.repository.name
        record_config_cap(self.store, name, max_running_jobs)

    def set_job(self, **fields: Any) -> None:
        """Update job columns the workflow learns (complexity, kind, shas, branch)."""
        with self.store.session() as s:
            job = s.get(Job, self.job_id)
            for key, value in fields.items():
                setattr(job, key, value)
