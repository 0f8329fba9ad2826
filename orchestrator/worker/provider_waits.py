"""Jobs waiting for a model's provider resume by themselves once it answers again.

A step whose provider stopped answering (after retries with backoff) pauses the job as
``awaiting_provider`` and records which catalogue model it was waiting for. Each worker's
maintenance sweep asks every such model one tiny question at most once per
``provider_probe_interval_s``; when the answer comes, it records a "resume" decision for the
waiting jobs (not a human touch) and the usual dispatch re-runs the paused step.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from sqlalchemy import select

from agents.credentials import load_secrets
from agents.health import ModelCheck, check_models
from agents.resilience import RetryPolicy
from orchestrator.domain import jobs
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.tables import Event, Job, JobState, Review
from orchestrator.worker.model_setup import load_catalogue

log = logging.getLogger("shipyard.provider_wait")

PROBE_RETRY = RetryPolicy(tries=1)
"""One call per probe: the sweep itself is the retry loop."""

_last_probe: dict[str, float] = {}
"""Catalogue name → when this process last probed it (monotonic seconds)."""


def waiting_jobs(store: Store) -> dict[int, str]:
    """Jobs paused for a provider with no decision pending → the catalogue model they wait for."""
    with store.session() as s:
        pending = select(Review.id).where(Review.job_id == Job.id, Review.applied.is_(False)).exists()
        ids = s.scalars(select(Job.id).where(Job.state == JobState.AWAITING_PROVIDER.value, ~pending)).all()
        waiting = {}
        for job_id in ids:
            event = s.scalar(select(Event).where(Event.job_id == job_id, Event.kind == "awaiting_provider")
                             .order_by(Event.id.desc()))  # fmt: skip
            if event is not None and (event.data or {}).get("spec"):
                waiting[job_id] = str(event.data["spec"])
        return waiting


def probe(settings: Settings, spec_names: set[str]) -> dict[str, ModelCheck]:
    """Ask each named catalogue model once (names the catalogue no longer has are skipped)."""
    specs = [s for s in load_catalogue(settings.models_file) if s.name in spec_names]
    secrets = load_secrets(os.environ, settings.secrets_file)
    return {check.name: check for check in check_models(specs, secrets, retry=PROBE_RETRY)}


def resume_answering(settings: Settings, store: Store, *, clock: Callable[[], float] = time.monotonic) -> list[int]:
    """Probe the models that paused jobs wait for (each at most once per interval); record a
    resume decision for the jobs whose model answers. Returns those jobs, to be dispatched."""
    waiting = waiting_jobs(store)
    now = clock()
    due = {
        name
        for name in set(waiting.values())
        if now - _last_probe.get(name, float("-inf")) >= settings.provider_probe_interval_s
    }
    if not due:
        return []
    for name in due:
        _last_probe[name] = now
    answering = {name for name, check in probe(settings, due).items() if check.ok}
    resumed = []
    for job_id, name in waiting.items():
        if name not in answering:
            continue
        try:
            jobs.record_decision(
                store, job_id, "approve", comment=f"{name} answers again", reviewer="provider-probe", human=False
            )
        except jobs.JobError as exc:  # another sweeper (or a human) got there first
            log.info("job %s: not resumed by the probe: %s", job_id, exc)
            continue
        with store.session() as s:
            jobs.add_event(s, job_id, "provider", f"{name} answers again; resuming the paused step")
        resumed.append(job_id)
    return resumed
