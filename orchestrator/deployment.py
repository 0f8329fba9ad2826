"""The control plane as the edges (CLI, web, worker) see it: settings, store, queue."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Unpack

from celery import Celery

from orchestrator.domain import jobs
from orchestrator.redaction import egress_redactor, redact_logs
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.worker.celery_app import dispatch, make_celery


@dataclass
class Shipyard:
    settings: Settings

    @classmethod
    def load(cls, settings: Settings | None = None) -> Shipyard:
        settings = settings or Settings()
        settings.ensure_dirs()
        redact_logs(egress_redactor(settings))
        ship = cls(settings)
        ship.store.migrate()
        return ship

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.db_url)

    @cached_property
    def celery(self) -> Celery:
        return make_celery(self.settings)

    def enqueue_ticket(self, ticket_id: int) -> tuple[int, bool]:
        """Queue a job for the ticket (no-op if one is active); returns (job id, created)."""
        job_id, created = jobs.create_job(self.store, ticket_id)
        if created:
            dispatch(self.celery, job_id)
        return job_id, created

    def jobs_for_recording(self, ticket_id: int) -> tuple[int, bool]:
        """A job for a live-model recording run, worked in the calling process (not queued)."""
        from orchestrator.store.tables import Ticket

        with self.store.session() as s:
            ticket = s.get(Ticket, ticket_id)
            if ticket is None:
                raise jobs.JobError(f"ticket {ticket_id} does not exist")
            if ticket.cassette:
                raise jobs.JobError(
                    f"ticket {ticket_id} replays {ticket.cassette}; recording needs a ticket without a cassette"
                )
        return jobs.create_job(self.store, ticket_id)

    def dispatch(self, job_id: int) -> None:
        jobs.mark_dispatched(self.store, job_id)
        dispatch(self.celery, job_id)

    def decide(self, job_id: int, decision: str, **notes: Unpack[jobs.DecisionNotes]) -> str:
        """Record a human decision (``jobs.record_decision``) and re-queue the job so its workflow resumes.

        A rejection of a blocked or failed job whose pull request is still open closes that pull request
        here and now (no workflow waits for it)."""
        if decision == "reject":
            left_open = jobs.pull_request_left_open(self.store, job_id, **notes)
            if left_open is not None:
                from orchestrator.housekeeping.forge_refs import forget_job_commits

                try:
                    self._close_on_forge(job_id, *left_open)
                except Exception as exc:  # noqa: BLE001 - any forge failure: nothing is recorded, say why
                    raise jobs.JobError(
                        f"pull request #{left_open[1]} could not be closed on its forge ({type(exc).__name__}: "
                        f"{exc}); nothing was recorded: try again"
                    ) from None
                jobs.close_left_open(self.store, job_id, **notes)
                forget_job_commits(self.settings, self.store, job_id)
                return "pr"
        self._check_commented_paths(job_id, notes.get("line_comments"))
        gate = jobs.record_decision(self.store, job_id, decision, **notes)
        self.dispatch(job_id)
        return gate

    def _check_commented_paths(self, job_id: int, line_comments: list[dict] | None) -> None:
        """A comment on a line of a file the pull request does not change is refused, naming the files it does."""
        if not line_comments or not isinstance(line_comments, list):
            return
        from orchestrator.reporting.job_views import job_diff
        from orchestrator.store.tables import Job

        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.pull_request is None:
                return
            diff = job_diff(self.settings.job_dirs, job, session=s)
        changed = sorted({line[6:].strip() for line in diff.splitlines() if line.startswith(("+++ b/", "--- a/"))})
        if not changed:
            return
        for i, item in enumerate(line_comments):
            path = str(item.get("path", "")).strip() if isinstance(item, dict) else ""
            if path and path not in changed:
                raise jobs.InvalidDecision(
                    f"line_comments[{i}].path: {path} is not a file the pull request changes "
                    f"(it changes {', '.join(changed[:10])})"
                )

    def cancel(self, job_id: int) -> None:
        """Cancel the job; a pull request it opened is closed with it and its job ref removed from the forge (a
        running job stops at its next step)."""
        from orchestrator.housekeeping.forge_refs import forget_job_commits
        from orchestrator.store.tables import Job, utcnow

        jobs.cancel_job(self.store, job_id)
        # A running job's worker removes it again once stopped (a snapshot in flight may re-create it).
        forget_job_commits(self.settings, self.store, job_id)
        with self.store.session() as s:
            job = s.get(Job, job_id)
            pr = job.pull_request
            if pr is None or pr.state != "open":
                return
            repo, number = job.ticket.repository, pr.number
            pr.state, pr.closed_at = "closed", utcnow()
            s.expunge(repo)
        self._close_on_forge(job_id, repo, number)

    def _close_on_forge(self, job_id: int, repo, number: int) -> None:
        from orchestrator.forges import make_forge

        make_forge(self.settings, repo, job_id, store=self.store).close_pull_request(repo.url, number)

    def heartbeat_timing(self) -> tuple[float, float]:
        """Seconds between a worker's heartbeats, and the silence after which a worker counts as dead."""
        from orchestrator.worker.celery_app import sweep_interval_s
        from orchestrator.worker.heartbeats import dead_after_s

        interval = sweep_interval_s(self.settings)
        return interval, dead_after_s(interval)

    def workers(self) -> list[dict]:
        """Workers as their heartbeats show them (alive, dead, stopped), live first."""
        from orchestrator.worker.heartbeats import worker_rows

        return worker_rows(self.store, self.heartbeat_timing()[1])

    def holder_of(self, job_id: int) -> dict | None:
        """The worker holding a running job (``heartbeats.holder_of``), with its status from its heartbeats."""
        from orchestrator.worker.heartbeats import holder_of

        return holder_of(self.store, self.heartbeat_timing()[1], job_id)

    def no_worker_hint(self) -> str | None:
        """A warning when work was left for a worker and no live worker is seen; else None."""
        from orchestrator.worker.heartbeats import NO_WORKER_HINT

        return None if any(w["status"] == "alive" for w in self.workers()) else NO_WORKER_HINT

    def retry(self, job_id: int) -> int:
        """A fresh job for the ticket of a finished job (blocked, failed, closed, cancelled)."""
        with self.store.session() as s:
            from orchestrator.store.tables import Job

            job = s.get(Job, job_id)
            if job is None:
                raise jobs.JobError(f"job {job_id} does not exist")
            if not job.job_state.is_final:
                raise jobs.JobError(f"job {job_id} is {job.state}; only a finished job can be retried")
            ticket_id = job.ticket_id
        new_id, _ = self.enqueue_ticket(ticket_id)
        return new_id
