"""The end of a job's hidden ref on the forge (``refs/shipyard/jobs/<id>``).

The ref lets any host resume the job (``workflows/job_refs.py``); once the job is final nothing
resumes it, so the ref goes: when the run that made the job final ends (merged, closed, blocked,
failed, cancelled while running) and when a waiting or queued job is cancelled; the periodic sweep
removes any left (``sweep_job_refs``: a worker killed after a snapshot push that re-created the
ref of a job cancelled meanwhile). A branch the job pushed goes with it when no pull request was
recorded on it (a worker killed between the push and the pull request, then the job failed after
too many recoveries). What the job produced stays where readers find it: the pull request's branch
on the forge, diffs and timeline in the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.tables import FINAL_STATES, Job, PullRequest, Repository, Ticket
from workflows.ports import job_ref

log = logging.getLogger("shipyard.job_refs")


def forget_job_commits(settings: Settings, store: Store, job_id: int) -> bool:
    """Delete job ``job_id``'s hidden ref on its forge, and the branch it pushed when no pull request
    was recorded on that branch (its worker was killed between the push and the pull request, then
    the job failed); True when the forge confirmed. A failure is logged (redacted) and never raised:
    the job's outcome is already decided."""
    from orchestrator.forges import make_forge
    from orchestrator.redaction import egress_redactor

    try:
        with store.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return False
            repo = job.ticket.repository
            url, forge = repo.url, make_forge(settings, repo, job_id, store=store)
            orphan = job.branch if job.branch and not branch_has_pull_request(s, repo.id, job.branch) else None
        forge.delete_job_ref(url, job_id)
        if orphan:
            forge.delete_branch(url, orphan)
        return True
    except Exception as exc:  # noqa: BLE001 - a stale hidden ref costs space, never the job
        log.warning(
            "job %s: %s not removed from the forge: %s",
            job_id,
            job_ref(job_id),
            egress_redactor(settings).text(f"{type(exc).__name__}: {exc}"),
        )
        return False


def branch_has_pull_request(session, repository_id: int, branch: str) -> bool:
    """A pull request of any job of the repository was recorded on ``branch`` (a re-run of the
    ticket reuses its branch name: that job's pull request keeps it)."""
    found = session.scalar(
        select(PullRequest.id)
        .join(Job, PullRequest.job_id == Job.id)
        .join(Ticket, Job.ticket_id == Ticket.id)
        .where(Ticket.repository_id == repository_id, PullRequest.branch == branch)
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class RemovedRef:
    repository: str
    job_id: int


def sweep_job_refs(settings: Settings, store: Store) -> list[RemovedRef]:
    """Delete every job ref still on a forge whose job, of that repository, is final; returns them.
    A repository whose forge cannot be reached is logged and left for the next sweep; a ref naming
    no job of this deployment is not this deployment's to remove."""
    from orchestrator.forges import make_forge
    from orchestrator.redaction import egress_redactor

    def warn(name: str, exc: Exception) -> None:
        log.warning(
            "repository %s: job refs not swept: %s",
            name,
            egress_redactor(settings).text(f"{type(exc).__name__}: {exc}"),
        )

    removed: list[RemovedRef] = []
    repositories = []
    with store.session() as s:
        for r in s.scalars(select(Repository).order_by(Repository.id)):
            try:
                repositories.append((r.id, r.name, r.url, make_forge(settings, r, 0, store=store)))
            except Exception as exc:  # noqa: BLE001 - a forge not configured here (GitHub settings missing)
                warn(r.name, exc)
    for repo_id, name, url, forge in repositories:
        try:
            held = forge.job_ref_ids(url)
            if not held:
                continue
            with store.session() as s:
                final = s.scalars(
                    select(Job.id)
                    .join(Ticket)
                    .where(
                        Job.id.in_(held),
                        Ticket.repository_id == repo_id,
                        Job.state.in_([st.value for st in FINAL_STATES]),
                    )
                ).all()
            for job_id in sorted(final):
                forge.delete_job_ref(url, job_id)
                removed.append(RemovedRef(name, job_id))
        except Exception as exc:  # noqa: BLE001 - one unreachable forge must not stop the others
            warn(name, exc)
    return removed
