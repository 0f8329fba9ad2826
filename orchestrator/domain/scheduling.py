"""Queue policy: which dispatchable job a free worker takes.

A broker message is only a doorbell: the worker that takes one claims the job this policy
picks, not the one the message names. Of the dispatchable jobs (``queued``, or holding a human
decision no worker has applied) that no live lease holds, in repositories below their cap on
jobs worked at once, it takes the highest priority first, then the job of the repository with
the fewest jobs being worked (one busy repository cannot starve the others), then the oldest.

The claim is a compare-and-set on the job row that re-checks the repository's cap in the same
statement (on PostgreSQL under a lock on the repository's row), so concurrent workers never
exceed a cap and a message delivered twice runs one job.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import and_, bindparam, func, literal, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter

from orchestrator.store import Store
from orchestrator.store.tables import Job, JobState, Repository, Review, Ticket, utcnow

PRIORITIES = {"low": -1, "normal": 0, "high": 1, "urgent": 2}
"""Priority levels, as named in a ticket's ``priority:<level>`` label; higher runs first."""
PRIORITY_LABEL = "priority:"
NO_CAP = 1_000_000
PICKS_PER_TRY = 10


def priority_of_labels(labels: Iterable[str] | None) -> int:
    """The highest level named by ``priority:<level>`` labels (case-insensitive); ``normal`` without one."""
    levels = [PRIORITIES[label.lower().removeprefix(PRIORITY_LABEL).strip()] for label in labels or ()
              if isinstance(label, str) and label.lower().startswith(PRIORITY_LABEL)
              and label.lower().removeprefix(PRIORITY_LABEL).strip() in PRIORITIES]  # fmt: skip
    return max(levels, default=PRIORITIES["normal"])


def priority_name(value: int) -> str:
    return next((name for name, level in PRIORITIES.items() if level == value), str(value))


def checked_priority(name: str) -> int:
    """A level's number; a ValueError names the valid levels."""
    level = PRIORITIES.get(name.strip().lower())
    if level is None:
        raise ValueError(f"priority: one of {', '.join(PRIORITIES)}, got {name!r}")
    return level


def _live_lease(job, now: datetime):
    return and_(job.lease_owner.is_not(None), job.lease_expires_at >= now)


def _unleased(now: datetime):
    return or_(Job.lease_owner.is_(None), Job.lease_expires_at.is_(None), Job.lease_expires_at < now)


def _dispatchable():
    waiting = [st.value for st in JobState if st.is_waiting_for_human]
    decided = select(Review.id).where(Review.job_id == Job.id, Review.applied.is_(False)).exists()
    return or_(Job.state == JobState.QUEUED.value, and_(Job.state.in_(waiting), decided))


def _worked_per_repository(now: datetime):
    """Jobs holding a live lease, per repository id (a subquery: ``repository_id``, ``n``)."""
    other, ticket = aliased(Job), aliased(Ticket)
    return (
        select(ticket.repository_id.label("repository_id"), func.count().label("n"))
        .select_from(other).join(ticket, other.ticket_id == ticket.id)
        .where(_live_lease(other, now)).group_by(ticket.repository_id).subquery()
    )  # fmt: skip


def _cap(default_cap):
    """The cap that applies: the store's (``shipyard jobs cap``), else the ``.shipyard.yml``'s, else the deployment's
    (``default_cap``: a number, or a bound parameter holding one)."""
    if isinstance(default_cap, BindParameter):
        return func.coalesce(Repository.max_running_jobs, Repository.config_max_running_jobs, default_cap)
    return func.coalesce(
        Repository.max_running_jobs, Repository.config_max_running_jobs, literal(default_cap or NO_CAP)
    )


def effective_cap(repository: Repository, default_cap: int | None) -> int | None:
    """``_cap`` in Python; None: no cap."""
    return repository.max_running_jobs or repository.config_max_running_jobs or default_cap


@cache
def _picks_statement():
    """Built once: the claim path runs per job, and building the expression costs more than running it."""
    now = bindparam("p_now")
    worked = _worked_per_repository(now)
    busy = func.coalesce(worked.c.n, 0)
    return (
        select(Job.id, Ticket.repository_id)
        .join(Ticket, Job.ticket_id == Ticket.id).join(Repository, Ticket.repository_id == Repository.id)
        .outerjoin(worked, worked.c.repository_id == Ticket.repository_id)
        .where(_dispatchable(), _unleased(now), busy < _cap(bindparam("p_cap")))
        .order_by(Job.priority.desc(), busy.asc(), Job.id.asc()).limit(bindparam("p_limit"))
    )  # fmt: skip


@cache
def _claim_statement():
    """The compare-and-set of a claim (parameters ``p_job``, ``p_repo``, ``p_now``, ``p_cap``, ``p_owner``,
    ``p_expires``)."""
    now, repository_id = bindparam("p_now"), bindparam("p_repo")
    other, ticket = aliased(Job), aliased(Ticket)
    worked = (select(func.count()).select_from(other).join(ticket, other.ticket_id == ticket.id)
              .where(ticket.repository_id == repository_id, _live_lease(other, now)).scalar_subquery())  # fmt: skip
    cap = select(_cap(bindparam("p_cap"))).where(Repository.id == repository_id).scalar_subquery()
    return (
        update(Job)
        .where(Job.id == bindparam("p_job"), _dispatchable(), _unleased(now), worked < cap)
        .values(lease_owner=bindparam("p_owner"), lease_expires_at=bindparam("p_expires"))
        .execution_options(synchronize_session=False)
    )


@cache
def _repository_lock_statement():
    return select(Repository.id).where(Repository.id == bindparam("p_repo")).with_for_update()


def picks(session, default_cap: int | None, now: datetime, limit: int = PICKS_PER_TRY) -> list[tuple[int, int]]:
    """``(job id, repository id)`` of the next jobs to take, best first."""
    rows = session.execute(_picks_statement(), {"p_now": now, "p_cap": default_cap or NO_CAP, "p_limit": limit})
    return [(job_id, repo_id) for job_id, repo_id in rows]


def _claim(
    store: Store, job_id: int, repository_id: int, owner: str, lease_seconds: int, default_cap: int | None
) -> bool:
    now = utcnow()
    with store.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            # Serialise claims within one repository, so two workers cannot both see room under its cap.
            s.execute(_repository_lock_statement(), {"p_repo": repository_id})
        won = s.execute(_claim_statement(), {
            "p_job": job_id, "p_repo": repository_id, "p_now": now, "p_cap": default_cap or NO_CAP,
            "p_owner": owner, "p_expires": now + timedelta(seconds=lease_seconds),
        }).rowcount  # fmt: skip
        return won == 1


def claim_next(store: Store, owner: str, lease_seconds: int, default_cap: int | None) -> int | None:
    """Take the lease of the job the policy picks; its id, or None when no job may be taken now."""
    for _ in range(3):  # every pick lost to other workers: look again
        with store.session() as s:
            candidates = picks(s, default_cap, utcnow())
        if not candidates:
            return None
        for job_id, repository_id in candidates:
            if _claim(store, job_id, repository_id, owner, lease_seconds, default_cap):
                return job_id
    return None


def another_job_claimable(store: Store, default_cap: int | None) -> bool:
    """True when a job waits that a free slot could take now (dispatchable, unleased, under its cap)."""
    with store.session() as s:
        return bool(picks(s, default_cap, utcnow(), limit=1))


def held_back_by_cap(store: Store, job_id: int, default_cap: int | None) -> bool:
    """True when the job's repository has a cap and a dispatchable job waiting: a slot the job
    frees must ring for it (its own message may have been taken while the cap was full)."""
    now = utcnow()
    with store.session() as s:
        repository = s.scalar(select(Repository).join(Ticket).join(Job).where(Job.id == job_id))
        if repository is None or effective_cap(repository, default_cap) is None:
            return False
        waiting = (select(Job.id).join(Ticket, Job.ticket_id == Ticket.id)
                   .where(Ticket.repository_id == repository.id, _dispatchable(), _unleased(now)).limit(1))  # fmt: skip
        return s.scalar(waiting) is not None


def within_caps(store: Store, job_ids: list[int], default_cap: int | None) -> list[int]:
    """Of ``job_ids`` (dispatchable jobs whose message seems lost), those a worker may take now:
    per repository at most as many as its cap leaves room for."""
    if not job_ids:
        return []
    now = utcnow()
    worked = _worked_per_repository(now)
    with store.session() as s:
        rows = s.execute(
            select(Job.id, Ticket.repository_id, func.coalesce(worked.c.n, 0), _cap(default_cap))
            .join(Ticket, Job.ticket_id == Ticket.id).join(Repository, Ticket.repository_id == Repository.id)
            .outerjoin(worked, worked.c.repository_id == Ticket.repository_id)
            .where(Job.id.in_(job_ids)).order_by(Job.priority.desc(), Job.id)
        ).all()  # fmt: skip
    room: dict[int, int] = {}
    chosen = []
    for job_id, repository_id, busy, cap in rows:
        room.setdefault(repository_id, cap - busy)
        if room[repository_id] > 0:
            room[repository_id] -= 1
            chosen.append(job_id)
    return chosen


def set_repository_cap(store: Store, name: str, cap: int | None) -> None:
    """A repository's own cap on jobs worked at once (None: the deployment's ``repo_max_running_jobs``)."""
    if cap is not None and cap < 1:
        raise ValueError(f"max running jobs: must be 1 or more, got {cap}")
    with store.session() as s:
        repository = s.scalar(select(Repository).where(Repository.name == name))
        if repository is None:
            raise ValueError(f"repository {name!r} is not registered (see `shipyard init`)")
        repository.max_running_jobs = cap


def record_config_cap(store: Store, repository_name: str, cap: int | None) -> None:
    """Keep the cap a repository's ``.shipyard.yml`` sets (None: it sets none) for the claims to come."""
    with store.session() as s:
        s.execute(
            update(Repository)
            .where(Repository.name == repository_name, Repository.config_max_running_jobs.is_distinct_from(cap))
            .values(config_max_running_jobs=cap)
        )
