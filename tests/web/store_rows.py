"""Known rows for the web tests, inserted through the SQLAlchemy models."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from orchestrator.deployment import Shipyard
from orchestrator.store.tables import Attempt, Event, GateResult, Job, ModelUsage, PullRequest, Repository, Ticket

WEBHOOK_SECRET = "test-webhook-secret"


def gate_report(passed: bool, diff_coverage: float | None = 95.0, reason: str = "all good") -> dict:
    """A stored gate report in the ``GateReport`` JSON shape."""
    return {
        "passed": passed,
        "checks": [
            {"name": "no_regressions", "passed": True, "reason": "12 tests pass as on base", "details": {},
             "waived": False},
            {"name": "diff_coverage", "passed": passed, "reason": reason,
             "details": {"uncovered": {"src/app.py": ["3-5"]}} if not passed else {}, "waived": False},
        ],
        "diff_coverage": diff_coverage,
        "total_coverage_base": 80.0,
        "total_coverage_candidate": 81.5,
        "flaky_tests": [],
        "duration_s": 4.2,
        "base_sha": "a" * 40,
        "candidate_sha": "b" * 40,
    }  # fmt: skip


@dataclass
class JobSpec:
    state: str = "queued"
    title: str = "Fix the parser"
    body: str = ""
    repo: str = "demo"
    labels: list[str] = field(default_factory=lambda: ["shipyard"])
    cassette: str | None = None
    reason: str | None = None
    complexity: str | None = None
    human_touches: int = 0
    sandbox: str | None = "docker"
    usage: list[tuple[str, float]] = field(default_factory=list)
    """(model, cost USD) per model call."""
    gates: list[dict | None] = field(default_factory=list)
    """One stored gate report (or None: not gated) per attempt."""
    pr_state: str | None = None
    created_at: datetime | None = None
    ticket_id: int | None = None
    events: list[tuple[str, str]] = field(default_factory=list)


def insert_job(ship: Shipyard, spec: JobSpec) -> int:
    with ship.store.session() as s:
        repo = s.query(Repository).filter_by(name=spec.repo).one_or_none()
        if repo is None:
            repo = Repository(name=spec.repo, forge="github", url=f"acme/{spec.repo}", base_branch="main")
            s.add(repo)
            s.flush()
        if spec.ticket_id is None:
            ticket = Ticket(
                repository_id=repo.id, title=spec.title, body=spec.body, labels=spec.labels, cassette=spec.cassette
            )
            if spec.created_at is not None:
                ticket.created_at = spec.created_at
            s.add(ticket)
            s.flush()
            spec.ticket_id = ticket.id
        created = spec.created_at or datetime.now(UTC) - timedelta(minutes=5)
        final = spec.state in ("merged", "closed", "blocked", "failed", "cancelled")
        job = Job(
            ticket_id=spec.ticket_id, state=spec.state, reason=spec.reason, complexity=spec.complexity,
            human_touches=spec.human_touches, sandbox_backend=spec.sandbox, attempts=len(spec.gates),
            cost_usd=sum(c for _, c in spec.usage), created_at=created,
            finished_at=created + timedelta(minutes=3) if final else None,
        )  # fmt: skip
        s.add(job)
        s.flush()
        for number, report in enumerate(spec.gates, start=1):
            outcome = None if report is None else ("gate_passed" if report.get("passed") else "gate_failed")
            attempt = Attempt(
                job_id=job.id,
                number=number,
                model="gpt-small",
                routing_reason="low complexity: cheapest coder",
                outcome=outcome,
            )
            s.add(attempt)
            s.flush()
            if report is not None:
                s.add(
                    GateResult(
                        attempt_id=attempt.id,
                        passed=bool(report.get("passed")),
                        diff_coverage=report.get("diff_coverage"),
                        report=report,
                    )
                )
        for model, cost in spec.usage:
            s.add(ModelUsage(job_id=job.id, model=model, input_tokens=1000, output_tokens=200, cost_usd=cost))
        if spec.pr_state:
            pr_number = job.id + 100
            s.add(
                PullRequest(
                    job_id=job.id,
                    number=pr_number,
                    url=f"https://github.example/acme/{spec.repo}/pull/{pr_number}",
                    branch=f"shipyard/{job.id}",
                    state=spec.pr_state,
                )
            )
        for kind, message in spec.events:
            s.add(Event(job_id=job.id, kind=kind, message=message, data={}))
        return job.id


def set_state(ship: Shipyard, job_id: int, state: str, reason: str | None = None) -> None:
    with ship.store.session() as s:
        job = s.get(Job, job_id)
        job.state, job.reason = state, reason


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
