"""The end of a job's hidden ref on the forge (``refs/shipyard/jobs/<id>``).

The ref lets any host resume the job (``workflows/job_refs.py``); once the job is final nothing
resumes it, so the ref goes: when the run that made the job final ends (merged, closed, blocked,
failed, cancelled while running) and when a waiting or queued job is cancelled. What the job
produced stays where readers find it: the pull request's branch on the forge, diffs and
timeline in the store.
"""

from __future__ import annotations

import logging

from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.models import Job
from workflows.ports import job_ref

log = logging.getLogger("shipyard.job_refs")


def forget_job_commits(settings: Settings, store: Store, job_id: int) -> bool:
    """Delete job ``job_id``'s hidden ref on its forge; True when the forge confirmed. A failure is
    logged (redacted) and never raised: the job's outcome is already decided."""
    from orchestrator.forges import make_forge
    from orchestrator.redaction import egress_redactor

    try:
        with store.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return False
            repo = job.ticket.repository
            url, forge = repo.url, make_forge(settings, repo, job_id, store=store)
        forge.delete_job_ref(url, job_id)
        return True
    except Exception as exc:  # noqa: BLE001 - a stale hidden ref costs space, never the job
        log.warning("job %s: %s not removed from the forge: %s", job_id, job_ref(job_id),
                    egress_redactor(settings).text(f"{type(exc).__name__}: {exc}"))
        return False
