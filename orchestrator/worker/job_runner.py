"""Runs one job's workflow: lease, services, checkpointed LangGraph thread, final state.

Called by the Celery task; knows nothing of Celery itself. A job waiting for a human holds
no worker: its state lives in the checkpointer and a decision re-queues it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agents.cassette import CassetteError
from agents.catalogue import CatalogueError
from agents.credentials import SecretsError
from agents.resilience import RetryPolicy
from agents.router import RoutingError
from orchestrator.domain import jobs
from orchestrator.domain.scheduling import claim_next, priority_name
from orchestrator.forges import ForgeConfigError, make_forge
from orchestrator.housekeeping.forge_refs import forget_job_commits
from orchestrator.housekeeping.retention import keep_diffs
from orchestrator.redaction import egress_redactor
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.checkpointer import ensure_checkpoint_tables, process_checkpointer
from orchestrator.store.tables import Job, JobState, utcnow
from orchestrator.worker.model_setup import build_router
from orchestrator.worker.recorder import StoreRecorder
from orchestrator.worker.sandboxing import sandbox_provider
from orchestrator.worker.stopping import SHUTTING_DOWN, JobCancelled, LeaseLost, StoppableSandboxes, WorkerStopping
from sandboxes.base import SandboxError
from workflows.job_refs import restore_job_git
from workflows.nodes.human import (
    BudgetExtension,
    PlanApproval,
    ProviderOutage,
    PullRequestReview,
    WaitingFor,
    waiting_for,
)
from workflows.ports import JobServices
from workflows.state import Gate, TicketState
from workflows.ticket_graph import build_ticket_graph

log = logging.getLogger("shipyard.runner")
_GRAPHS: dict[tuple[int, str], CompiledStateGraph] = {}
_GRAPHS_LOCK = threading.Lock()

STATE_OF_GATE: dict[Gate, JobState] = {
    "plan": JobState.AWAITING_PLAN_APPROVAL,
    "budget": JobState.AWAITING_BUDGET,
    "provider": JobState.AWAITING_PROVIDER,
    "pr": JobState.AWAITING_REVIEW,
}


SETUP_ERRORS = (CassetteError, CatalogueError, RoutingError, SecretsError, SandboxError, ForgeConfigError)
"""Bad input that stops a job before it starts: the job is blocked with the reason."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def ticket_graph(settings: Settings) -> CompiledStateGraph:
    """The ticket workflow compiled with this process's checkpointer, built on first use in the process.

    Keyed by process id: a forked child builds its own (connections never cross a fork), and
    no job pays for compiling the graph or opening the checkpoint database.
    """
    key = (os.getpid(), settings.db_url)
    with _GRAPHS_LOCK:
        graph = _GRAPHS.get(key)
    if graph is not None:
        return graph
    ensure_checkpoint_tables(settings)
    with _GRAPHS_LOCK:
        if key not in _GRAPHS:
            _GRAPHS[key] = build_ticket_graph().compile(checkpointer=process_checkpointer(settings))
        return _GRAPHS[key]


class JobRunner:
    def __init__(self, settings: Settings, store: Store, *, model_wrap=None):
        """``model_wrap(model, role, attempt)`` wraps every live model (``shipyard record``)."""
        self.settings = settings
        self.store = store
        self.model_wrap = model_wrap
        self.owner = worker_id()
        self.redactor = egress_redactor(settings)

    def run(self, job_id: int) -> str | None:
        """Advance this very job as far as it goes (``shipyard run-job``, recordings); returns the job's
        state, or None if another worker holds it."""
        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.job_state.is_final:
                return job.state if job else None
            waiting = job.job_state.is_waiting_for_human
        if waiting and jobs.pending_decision(self.store, job_id) is None:
            return None  # nothing to do until a human decides
        if not jobs.claim_lease(self.store, job_id, self.owner, self.settings.lease_seconds):
            log.info("job %s is leased by another worker; skipping", job_id)
            return None
        return self._work_claimed(job_id)

    def run_next(self, after_claim: Callable[[int], None] | None = None) -> tuple[int | None, str | None]:
        """Take the job the queue policy picks (priority, fairness, caps) and advance it; returns
        (job id, its state), or (None, None) when no job may be taken now. ``after_claim(job id)``
        runs once the job is taken, before it is worked."""
        job_id = claim_next(self.store, self.owner, self.settings.lease_seconds, self.settings.repo_max_running_jobs)
        if job_id is None:
            return None, None
        if after_claim is not None:
            after_claim(job_id)
        return job_id, self._work_claimed(job_id)

    def _work_claimed(self, job_id: int) -> str | None:
        """Advance a job whose lease this runner holds; the lease is released at the end."""
        try:
            with self.store.session() as s:
                job = s.get(Job, job_id)
                if job.job_state.is_final:  # cancelled since it was picked
                    return job.state
                waiting, priority = job.job_state.is_waiting_for_human, priority_name(job.priority)
            decision = jobs.pending_decision(self.store, job_id)
            if waiting and decision is None:
                return job.state
            StoreRecorder(self.store, job_id, self.redactor).event(
                "started", f"taken by {self.owner.rsplit(':', 1)[0]} (priority {priority})"
            )
            with self._heartbeat(job_id) as lost:
                state = self._advance(job_id, decision, lost)
        finally:
            jobs.release_lease(self.store, job_id, self.owner)
        if JobState(state).is_final:  # after the lease: nothing resumes a final job
            forget_job_commits(self.settings, self.store, job_id)
        return state

    def _advance(self, job_id: int, decision: dict | None, lease_lost: threading.Event) -> str:
        recorder = StoreRecorder(self.store, job_id, self.redactor)
        self._set_state(job_id, JobState.RUNNING, None)
        services = None
        try:
            # Building the services reads repo config and cassettes (hostile input): inside the try,
            # so whatever goes wrong ends the job with a reason instead of leaving it running.
            services = self._services(job_id, recorder, lambda: self._check_stop(job_id, lease_lost))
            return self._run_graph(job_id, decision, lease_lost, services, recorder)
        except JobCancelled:
            recorder.event("cancelled", "stopped after cancellation; its sandbox is removed")
            return JobState.CANCELLED.value
        except WorkerStopping:
            recorder.event(
                "shutdown",
                "the worker is shutting down; the job goes back to the queue and resumes from its checkpoint",
            )
            jobs.hand_back(self.store, job_id, self.owner)
            return JobState.QUEUED.value
        except SETUP_ERRORS as exc:
            reason = self.redactor.text(f"configuration error: {exc}")
            recorder.event("blocked", reason)
            self._set_state(job_id, JobState.BLOCKED, reason, final=True)
            return JobState.BLOCKED.value
        except LeaseLost as exc:
            recorder.event("lease", str(exc))
            return JobState.RUNNING.value
        except Exception as exc:  # noqa: BLE001 - an error of ours: the job fails with the traceback, the checkpoint stays
            return self._fail(job_id, recorder, exc)
        finally:
            if services is not None:
                services.close()

    def _run_graph(self, job_id: int, decision: dict | None, lease_lost: threading.Event, services, recorder) -> str:
        config = {"configurable": {"thread_id": str(job_id), "services": services}, "recursion_limit": 200}
        graph = ticket_graph(self.settings)
        existing = graph.get_state(config)
        restore_job_git(services, existing.values)  # another host may have run it so far: rebuild from the forge
        if decision is not None:
            payload: Any = Command(resume={k: v for k, v in decision.items() if k != "review_id"})
        elif existing.next:
            payload = None  # resume after a lost worker: continue from the last checkpoint
            recorder.event("resumed", "resuming from the last checkpoint")
        else:
            payload = self._initial_state(job_id)
        for _ in graph.stream(payload, config, stream_mode="updates"):
            self._check_stop(job_id, lease_lost)
        if decision is not None:
            jobs.mark_decision_applied(self.store, decision["review_id"])
        return self._settle(job_id, graph.get_state(config))

    def _keep_diffs(self, job_id: int) -> None:
        """The diffs the job's page shows, into the store: a web app or CLI on a host that did not run
        the job (no job directory there) shows them too."""
        try:
            keep_diffs(self.store, self.settings.job_dirs, job_id)
        except Exception:
            log.exception("job %s: diffs not kept in the store", job_id)

    def _fail(self, job_id: int, recorder: StoreRecorder, exc: BaseException) -> str:
        tb = self.redactor.text(traceback.format_exc())
        recorder.event("error", self.redactor.text(f"{type(exc).__name__}: {exc}"), traceback=tb)
        reason = self.redactor.text(
            f"internal error: {type(exc).__name__}: {exc} (retry with `shipyard jobs retry {job_id}`)"
        )
        self._set_state(job_id, JobState.FAILED, reason, final=True)
        return JobState.FAILED.value

    def _settle(self, job_id: int, snapshot) -> str:
        self._keep_diffs(job_id)  # before the state says the job waits or ended: its page is complete then
        waiting = waiting_for(snapshot)
        if waiting is not None:
            state = STATE_OF_GATE[waiting.gate]
            self._set_state(job_id, state, self._wait_reason(job_id, waiting))
            return state.value
        values = snapshot.values
        outcome = JobState(values.get("outcome", "failed"))
        self._set_state(job_id, outcome, values.get("reason") or None, final=True)
        return outcome.value

    def _wait_reason(self, job_id: int, waiting: WaitingFor) -> str:
        """What the job's page and ``shipyard jobs`` say a waiting job needs, and the command that gives it."""
        match waiting:
            case PlanApproval():
                return "waiting for a human to approve the plan"
            case BudgetExtension(reason=why):
                return f"{why}: approve +$X (`shipyard review approve {job_id} --extra-usd X`) or stop"
            case ProviderOutage(reason=why):
                return self.redactor.text(
                    f"{why} — resumes by itself once the provider "
                    f"answers; `shipyard review approve {job_id}` retries now, reject stops the job"
                )
            case PullRequestReview(merge_refused=why) if why:
                return self.redactor.text(f"{why} (`shipyard review approve {job_id}` once fixed)")
            case PullRequestReview():
                return "pull request open, waiting for review"

    def _initial_state(self, job_id: int) -> TicketState:
        with self.store.session() as s:
            job = s.get(Job, job_id)
            t, r = job.ticket, job.ticket.repository
            return {
                "job_id": job_id,
                "ticket": {
                    "id": t.id,
                    "title": t.title,
                    "body": t.body,
                    "labels": list(t.labels or []),
                    "cassette": t.cassette,
                    "source": t.source,
                    "external_id": t.external_id,
                },
                "repo": {"name": r.name, "url": r.url, "base_branch": r.base_branch, "config": r.config_yaml},
            }

    def _services(self, job_id: int, recorder: StoreRecorder, check_stop) -> JobServices:
        with self.store.session() as s:
            job = s.get(Job, job_id)
            forge = make_forge(self.settings, job.ticket.repository, job_id, store=self.store)
            cassette = job.ticket.cassette
        job_dir = self.settings.job_dirs.job(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        provider = sandbox_provider(self.settings)
        warning = getattr(provider, "warning", None)
        if warning:
            recorder.event("sandbox", warning)
        router, budget = build_router(self.settings, self.store, job_id, cassette, recorder, wrap=self.model_wrap)
        return JobServices(
            recorder=recorder,
            forge=forge,
            sandboxes=StoppableSandboxes(provider, check_stop),
            job_dir=job_dir,
            models=router,
            cache_dir=self.settings.cache_dir,
            sandbox_image=self.settings.sandbox_image,
            attempt_time_limit_s=self.settings.attempt_time_limit_s,
            budget=budget,
            cancel_check=lambda: self._cancelled(job_id),
            retry=RetryPolicy(tries=self.settings.provider_tries),
            redactor=self.redactor,
        )

    def _check_stop(self, job_id: int, lease_lost: threading.Event) -> None:
        """Raise the reason to stop now, if any (between graph steps and before every sandbox command)."""
        if lease_lost.is_set():
            raise LeaseLost("the job lease was lost (another worker took over)")
        if self._cancelled(job_id):
            raise JobCancelled()
        if SHUTTING_DOWN.is_set():
            raise WorkerStopping()

    def _cancelled(self, job_id: int) -> bool:
        with self.store.session() as s:
            return s.get(Job, job_id).state == JobState.CANCELLED.value

    def _set_state(self, job_id: int, state: JobState, reason: str | None, *, final: bool = False) -> None:
        with self.store.session() as s:
            job = s.get(Job, job_id)
            if job.state == JobState.CANCELLED.value:
                return
            job.state, job.reason = state.value, reason
            if final:
                job.finished_at = utcnow()

    @contextmanager
    def _heartbeat(self, job_id: int) -> Iterator[threading.Event]:
        stop, lost = threading.Event(), threading.Event()
        interval = heartbeat_interval_s(self.settings.lease_seconds)

        def beat() -> None:
            while not stop.wait(interval):
                if not jobs.renew_lease(self.store, job_id, self.owner, self.settings.lease_seconds):
                    lost.set()
                    return

        thread = threading.Thread(target=beat, name=f"lease-{job_id}", daemon=True)
        thread.start()
        try:
            yield lost
        finally:
            stop.set()
            thread.join(timeout=5)


def heartbeat_interval_s(lease_seconds: float) -> float:
    """Renew every few seconds: a lease survives several missed beats (a stalled database, a busy host)."""
    return max(1.0, min(5.0, lease_seconds / 4))
