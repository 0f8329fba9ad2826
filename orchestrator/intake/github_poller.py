"""Polling instead of webhooks: open issues labelled ``shipyard`` on each GitHub repository
become tickets and queued jobs; an issue that left the list (label removed, issue closed)
cancels its queued job, and an issue edited while its job is queued updates the ticket's text.

Conditional requests (``If-None-Match`` with the last ETag) make an unchanged list a 304, which
GitHub does not count against the rate limit. Requests go through PyGithub's requester, so rate
limits (403/429 with ``Retry-After`` or ``X-RateLimit-Reset``) are waited out and 5xx retried.
"""

from __future__ import annotations

import json
import re
import time

from github import GithubException
from sqlalchemy import select

from orchestrator.domain import jobs
from orchestrator.domain.backlog import TRIGGER_LABEL, requeue_problem
from orchestrator.forges.github import GitHubForge, GitHubSettings
from orchestrator.forges.local_git import ForgeError
from orchestrator.intake.github_sender import permission_problem
from orchestrator.store.tables import Job, JobState, Repository, Ticket

ACTIVE = [state.value for state in JobState if not state.is_final]
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
MAX_PAGES = 50
"""At 100 issues a page: a repository with more labelled issues is listed partially and cancels nothing."""


class GitHubPoller:
    """One deployment's poller; keeps the ETag of each repository's labelled-issue list."""

    def __init__(self, ship, settings: GitHubSettings | None = None):
        self.ship = ship
        self.settings = settings or GitHubSettings()
        self.forge = GitHubForge(self.settings)
        self.etags: dict[str, str] = {}
        self.not_modified = 0
        """Polls answered 304 (free against the rate limit)."""
        self.ignored: list[str] = []
        """Why labelled issues were not queued (who applied the label may not trigger work)."""

    def poll_once(self) -> list[int]:
        """Apply every repository's labelled-issue list; returns the ids of newly queued jobs."""
        with self.ship.store.session() as s:
            repos = [(r.id, r.url) for r in s.scalars(select(Repository).where(Repository.forge == "github"))]
        created: list[int] = []
        for repo_id, full in repos:
            listed = self._labelled_issues(full)
            if listed is None:
                continue
            issues, complete = listed
            for issue in issues:
                job_id = self._enqueue(repo_id, full, issue)
                if job_id is not None:
                    created.append(job_id)
            if complete:
                self._cancel_unlisted(repo_id, full, {str(i["number"]) for i in issues})
        return created

    def _get(self, url: str, headers: dict | None = None) -> tuple[int, dict, str]:
        try:
            status, head, body = self.forge._gh.requester.requestJson("GET", url, headers=headers or {})
        except GithubException as exc:
            raise ForgeError(f"polling {url}: GitHub answered {exc.status} {_message(exc.data)}") from None
        if status >= 400:
            raise ForgeError(f"polling {url}: GitHub answered {status} {_message(body)}")
        return status, {k.lower(): v for k, v in head.items()}, body

    def _labelled_issues(self, full: str) -> tuple[list[dict], bool] | None:
        """The open labelled issues (and whether every page was read), or None when unchanged (304)."""
        url = f"/repos/{full}/issues?labels={TRIGGER_LABEL}&state=open&per_page=100"
        conditional = {"If-None-Match": self.etags[full]} if full in self.etags else {}
        status, head, body = self._get(url, conditional)
        if status == 304:
            self.not_modified += 1
            return None
        if head.get("etag"):
            self.etags[full] = head["etag"]
        items, pages = json.loads(body or "[]"), 1
        while (nxt := _NEXT.search(head.get("link", ""))) and pages < MAX_PAGES:
            _, head, body = self._get(nxt.group(1))
            items += json.loads(body or "[]")
            pages += 1
        return [i for i in items if "pull_request" not in i], not _NEXT.search(head.get("link", ""))

    def _labeler_problem(self, full: str, number: str) -> str | None:
        """Why whoever last applied the trigger label may not trigger work (asked as for a webhook's sender)."""
        _, head, body = self._get(f"/repos/{full}/issues/{number}/events?per_page=100")
        events, pages = json.loads(body or "[]"), 1
        while (
            nxt := _NEXT.search(head.get("link", ""))
        ) and pages < MAX_PAGES:  # oldest first: the last label is on the last page
            _, head, body = self._get(nxt.group(1))
            events += json.loads(body or "[]")
            pages += 1
        labelled = [
            e for e in events if e.get("event") == "labeled" and (e.get("label") or {}).get("name") == TRIGGER_LABEL
        ]
        if not labelled:
            return f"{full}#{number}: no record of who applied the label {TRIGGER_LABEL!r}"
        login = (labelled[-1].get("actor") or {}).get("login") or ""
        problem = permission_problem(self.forge, self.settings, full, login)
        return f"{full}#{number}: {problem}" if problem else None

    def _enqueue(self, repo_id: int, full: str, issue: dict) -> int | None:
        number = str(issue["number"])
        with self.ship.store.session() as s:
            ticket = s.scalar(
                select(Ticket).where(
                    Ticket.repository_id == repo_id, Ticket.source == "github", Ticket.external_id == number
                )
            )
            active = ticket is not None and s.scalar(
                select(Job.id).where(Job.ticket_id == ticket.id, Job.state.in_(ACTIVE))
            )
        if not active:
            problem = self._labeler_problem(full, number)
            if problem:
                self.ignored.append(problem)
                return None
        with self.ship.store.session() as s:
            ticket = s.scalar(
                select(Ticket).where(
                    Ticket.repository_id == repo_id, Ticket.source == "github", Ticket.external_id == number
                )
            )
            if ticket is None:
                ticket = Ticket(repository_id=repo_id, source="github", external_id=number, title="", body="")
                s.add(ticket)
            queued = ticket.id is not None and s.scalar(
                select(Job.id).where(Job.ticket_id == ticket.id, Job.state == JobState.QUEUED.value)
            )
            if ticket.id is None or queued:  # a running job keeps the text its plan was made from
                self._update_text(s, ticket, issue, queued)
            ticket.labels = sorted({lbl["name"] for lbl in issue.get("labels") or []} | {TRIGGER_LABEL})
            if queued:  # a priority label changed since it was queued moves the job; a running job keeps its place
                jobs.follow_priority_labels(s, s.get(Job, queued), ticket.labels, "labels seen on GitHub by polling")
            s.flush()
            ticket_id = ticket.id
            if requeue_problem(s, repo_id, "github", number, issue.get("updated_at")):
                return None  # cancelled, and the issue has not changed since: the label alone is no new request
        job_id, created = self.ship.enqueue_ticket(ticket_id)
        if not created:
            return None
        with self.ship.store.session() as s:
            jobs.add_event(
                s, job_id, "trigger", f"GitHub issue {full}#{number} found labelled {TRIGGER_LABEL!r} by polling"
            )
        return job_id

    @staticmethod
    def _update_text(s, ticket: Ticket, issue: dict, queued_job: int | None) -> None:
        title = str(issue.get("title") or f"issue #{issue['number']}")
        body = str(issue.get("body") or "")
        if queued_job and (title, body) != (ticket.title, ticket.body):
            jobs.add_event(s, queued_job, "ticket", "issue edited on GitHub (seen by polling); ticket text updated")
        ticket.title, ticket.body = title, body

    def _cancel_unlisted(self, repo_id: int, full: str, listed: set[str]) -> None:
        """Queued jobs whose issue is no longer open and labelled are cancelled."""
        with self.ship.store.session() as s:
            rows = s.execute(
                select(Job.id, Ticket.external_id)
                .join(Ticket)
                .where(Ticket.repository_id == repo_id, Ticket.source == "github", Job.state == JobState.QUEUED.value)
            ).all()
        for job_id, number in rows:
            if number not in listed:
                jobs.cancel_job(
                    self.ship.store,
                    job_id,
                    reason=f"{full}#{number} is no longer open with the label {TRIGGER_LABEL!r} (seen by polling)",
                )


def _message(body) -> str:
    if isinstance(body, dict):
        return str(body.get("message", ""))
    try:
        return str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError, TypeError):
        return str(body)[:200]


def run_poller(ship, *, interval: float, once: bool, say) -> None:
    """Poll every ``interval`` seconds (once with ``once``), printing each queued job. A failed
    round is reported and the next one tried (only ``once`` raises)."""
    from orchestrator.domain.reverts import record_reverts

    poller = GitHubPoller(ship)
    while True:
        try:
            for job_id in poller.poll_once():
                say(f"queued job {job_id}")
            for reason in poller.ignored:
                say(f"ignored {reason}")
            poller.ignored.clear()
            for job_id in record_reverts(ship):
                say(f"job {job_id}: its merged pull request was reverted")
        except ForgeError as exc:
            if once:
                raise
            say(f"poll failed, trying again in {interval:.0f}s: {exc}")
        if once:
            return
        time.sleep(interval)
