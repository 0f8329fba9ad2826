"""The local backlog: registered repositories and tickets; labelled tickets are queued."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from orchestrator.forges.local_git import check_local_repository
from orchestrator.store import Store
from orchestrator.store.db import insert_or_skip
from orchestrator.store.paths import stored_path
from orchestrator.store.tables import Job, JobState, Repository, Ticket, WebhookDelivery, WebhookEvent
from workflows.gitops import GitError, run_git

TRIGGER_LABEL = "shipyard"
"""Tickets carrying this label are worked by the agent."""


class BacklogError(ValueError):
    """Bad input to the backlog; the message names the field and the reason."""


def is_git_url(location: str) -> bool:
    """``https://…``, ``ssh://…``, ``file://…`` or scp-like ``git@host:owner/repo``: not a local path."""
    return "://" in location or ("@" in location.split("/")[0] and ":" in location)


def register_repository(
    store: Store,
    path: Path | str,
    *,
    name: str | None = None,
    base_branch: str | None = None,
    data_dir: Path | None = None,
) -> Repository:
    """Register a local git repository, or a git URL, under ``name`` (default: its directory name).

    A repository inside ``data_dir`` (the deployment's data directory) is stored relative to it."""
    if isinstance(path, str) and is_git_url(path):
        return _register(store, path, name or path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"), base_branch)
    root = check_local_repository(Path(path))
    if base_branch is None:
        try:
            base_branch = run_git(["symbolic-ref", "--short", "HEAD"], cwd=root).strip()
        except GitError:
            base_branch = "main"
    try:
        run_git(["rev-parse", "--verify", f"refs/heads/{base_branch}"], cwd=root)
    except GitError:
        raise BacklogError(
            f"{root}: branch {base_branch!r} does not exist (a repository needs at least one commit)"
        ) from None
    url = str(root) if data_dir is None else stored_path(data_dir, root)
    repo = _register(store, url, name or root.name.removesuffix(".git"), base_branch)
    _keep_committed_cap(store, repo.name, root, base_branch)
    return repo


def _keep_committed_cap(store: Store, name: str, root: Path, base_branch: str) -> None:
    """The cap of a committed ``.shipyard.yml`` is known before the first job reads the file."""
    try:
        text = run_git(["show", f"refs/heads/{base_branch}:.shipyard.yml"], cwd=root)
    except GitError:
        return  # none committed: a stored configuration or the deployment's cap applies
    with store.session() as s:
        s.scalar(select(Repository).where(Repository.name == name)).config_max_running_jobs = _config_cap(text)


def _register(store: Store, url: str, name: str, base_branch: str | None) -> Repository:
    if base_branch is None:
        base_branch = _default_branch(url)
    with store.session() as s:
        repo = s.scalar(select(Repository).where(Repository.name == name))
        if repo is None:
            repo = Repository(name=name, forge="local", url=url, base_branch=base_branch)
            s.add(repo)
        elif repo.url != url:
            raise BacklogError(f"repository name {name!r} is already registered for {repo.url}; pass --name")
        else:
            repo.base_branch = base_branch
        s.flush()
        return repo


def _default_branch(url: str) -> str:
    """The branch the repository's HEAD points at (``main`` when it cannot be told)."""
    try:
        out = run_git(["ls-remote", "--symref", url, "HEAD"])
    except GitError as exc:
        raise BacklogError(f"{url}: cannot read the repository: {exc}") from None
    for line in out.splitlines():
        if line.startswith("ref: refs/heads/"):
            return line.split()[1].removeprefix("refs/heads/")
    return "main"


def store_repository_config(store: Store, name: str, config_yaml: str | None) -> None:
    """Keep (or with None, drop) the repository's configuration in the store; a committed
    ``.shipyard.yml`` still wins over it."""
    with store.session() as s:
        repo = s.scalar(select(Repository).where(Repository.name == name))
        if repo is None:
            raise BacklogError(f"repository {name!r} is not registered (see `shipyard init`)")
        repo.config_yaml = config_yaml
        repo.config_max_running_jobs = _config_cap(config_yaml)


def _config_cap(config_yaml: str | None) -> int | None:
    """The cap a stored configuration sets; an invalid one sets none (its job blocks with the reason)."""
    from workflows.repo_config import ConfigError, parse_repo_config

    try:
        return parse_repo_config(config_yaml).queue.max_running_jobs if config_yaml else None
    except ConfigError:
        return None


def add_ticket(
    store: Store,
    *,
    repo: str,
    title: str,
    body: str = "",
    labels: list[str] | None = None,
    cassette: Path | None = None,
) -> Ticket:
    """Add a ticket to the backlog (the caller queues it when ``wants_agent(labels)``)."""
    if not title.strip():
        raise BacklogError("ticket title: must not be empty")
    if cassette is not None:
        cassette = cassette.expanduser().resolve()
        if not cassette.is_file():
            raise BacklogError(f"--cassette {cassette}: no such file")
        from agents.cassette import CassetteError, load_cassette

        try:
            recorded = load_cassette(cassette)  # refused now, not after the job has been queued
        except CassetteError as exc:
            raise BacklogError(f"--cassette: {exc}") from None
        if recorded.triage is None and recorded.plan is None and not any(recorded.code):
            raise BacklogError(
                f"--cassette: {cassette.name}: records nothing to replay (no triage, plan or code turns)"
            )
    labels = sorted(set(labels or []))
    with store.session() as s:
        repository = s.scalar(select(Repository).where(Repository.name == repo))
        if repository is None:
            known = ", ".join(s.scalars(select(Repository.name))) or "none — run `shipyard init PATH`"
            raise BacklogError(f"--repo {repo}: no such repository (registered: {known})")
        ticket = Ticket(
            repository_id=repository.id,
            title=title.strip(),
            body=body,
            labels=labels,
            cassette=str(cassette) if cassette else None,
        )
        s.add(ticket)
        s.flush()
        return ticket


def upsert_external_ticket(
    session, repository_id: int, source: str, external_id: str, *, title: str, body: str, labels: list[str]
) -> int:
    """The ticket of an external issue, created or refreshed in one statement (``INSERT … ON CONFLICT DO UPDATE``):
    concurrent deliveries about the same issue make one ticket."""
    values = {"title": title, "body": body, "labels": sorted(set(labels))}
    stmt = insert_or_skip(session, Ticket).values(
        repository_id=repository_id, source=source, external_id=external_id, **values
    )
    stmt = stmt.on_conflict_do_update(index_elements=["repository_id", "source", "external_id"], set_=values)
    return session.scalar(stmt.returning(Ticket.id))


def claim_delivery(session, delivery_id: str) -> bool:
    """Record a webhook delivery id; False when it was seen before (the delivery has already had its effect)."""
    stmt = insert_or_skip(session, WebhookDelivery).values(delivery_id=delivery_id).on_conflict_do_nothing()
    return session.scalar(stmt.returning(WebhookDelivery.delivery_id)) is not None


def issue_event_key(payload: dict) -> str:
    """An ``issues`` event's own identity: repository, issue, action, label and the issue's
    ``updated_at``. GitHub signs only the body, so a replay with a fresh ``X-GitHub-Delivery``
    header is still the same event."""
    issue = payload.get("issue") or {}
    parts = [
        "issues",
        str((payload.get("repository") or {}).get("full_name") or ""),
        str(issue.get("id") or issue.get("number") or ""),
        str(payload.get("action") or ""),
        str((payload.get("label") or {}).get("name") or ""),
        str(issue.get("updated_at") or ""),
    ]
    return ":".join(parts)[:400]


def pull_event_key(event: str, payload: dict) -> str | None:
    """The identity of a review, comment or pull-request event (its object id, or the pull
    request's ``updated_at``); None when the payload carries neither."""
    repo = str((payload.get("repository") or {}).get("full_name") or "")
    action = str(payload.get("action") or "")
    for name in ("review", "comment"):
        item = payload.get(name) or {}
        if item.get("id"):
            return f"{event}:{repo}:{name}:{item['id']}:{action}:{item.get('updated_at') or ''}"[:400]
    pull = payload.get("pull_request") or {}
    if pull.get("number") and pull.get("updated_at"):
        return f"{event}:{repo}:pull:{pull['number']}:{action}:{pull['updated_at']}"[:400]
    return None


def claim_event(session, event_key: str) -> bool:
    """Record an event identity; False when the same event was handled before (under any delivery id)."""
    stmt = insert_or_skip(session, WebhookEvent).values(event_key=event_key).on_conflict_do_nothing()
    return session.scalar(stmt.returning(WebhookEvent.event_key)) is not None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_github_time(value: object) -> datetime | None:
    """GitHub's ``2024-05-01T12:00:00Z``; None when absent or malformed."""
    try:
        return _utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def requeue_problem(session, repository_id: int, source: str, external_id: str, updated_at: object) -> str | None:
    """Why a trigger must not queue the ticket again, or None: a ticket whose last job was cancelled is
    queued again only by a change made after the cancellation (a newer ``updated_at``)."""
    ticket = session.scalar(
        select(Ticket).where(
            Ticket.repository_id == repository_id, Ticket.source == source, Ticket.external_id == external_id
        )
    )
    last = (
        session.scalar(select(Job).where(Job.ticket_id == ticket.id).order_by(Job.id.desc()).limit(1))
        if ticket
        else None
    )
    if last is None or last.state != JobState.CANCELLED.value or last.finished_at is None:
        return None
    when = parse_github_time(updated_at)
    cancelled = _utc(last.finished_at)
    if when is not None and when > cancelled:
        return None
    return (
        f"job {last.id} of this ticket was cancelled at {cancelled.isoformat(timespec='seconds')}; "
        f"only a labelling after that queues it again (this event's updated_at is {updated_at or 'missing'})"
    )


def wants_agent(labels: list[str]) -> bool:
    return TRIGGER_LABEL in labels


def list_tickets(store: Store) -> list[dict]:
    with store.session() as s:
        rows = s.scalars(select(Ticket).order_by(Ticket.id)).all()
        return [
            {
                "id": t.id,
                "repo": t.repository.name,
                "title": t.title,
                "labels": list(t.labels or []),
                "scripted": bool(t.cassette),
                "last_job": t.jobs[-1].id if t.jobs else None,
                "last_state": t.jobs[-1].state if t.jobs else None,
            }
            for t in rows
        ]
