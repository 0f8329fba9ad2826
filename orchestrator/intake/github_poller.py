"""Polling instead of webhooks: open issues labelled ``shipyard`` on each GitHub repository
become tickets and queued jobs. Conditional requests (``If-None-Match`` with the last ETag)
make an unchanged list cost nothing against the rate limit."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from orchestrator.backlog import TRIGGER_LABEL, requeue_problem
from orchestrator.forges.github import GitHubForge, GitHubSettings
from orchestrator.store.models import Event, Repository, Ticket


class GitHubPoller:
    """One deployment's poller; keeps the ETag of each repository's labelled-issue list."""

    def __init__(self, ship, settings: GitHubSettings | None = None):
        self.ship = ship
        self.settings = settings or GitHubSettings()
        self.forge = GitHubForge(self.settings)
        self.etags: dict[str, str] = {}

    def poll_once(self) -> list[int]:
        """Queue a job for every labelled open issue without an active one; returns new job ids."""
        with self.ship.store.session() as s:
            repos = [(r.id, r.url) for r in s.scalars(select(Repository).where(Repository.forge == "github"))]
        created: list[int] = []
        for repo_id, full in repos:
            for issue in self._labelled_issues(full):
                job_id = self._enqueue(repo_id, full, issue)
                if job_id is not None:
                    created.append(job_id)
        return created

    def _labelled_issues(self, full: str) -> list[dict]:
        url = f"{self.settings.api_url.rstrip('/')}/repos/{full}/issues"
        headers = {"Authorization": f"Bearer {self.forge._token()}", "Accept": "application/vnd.github+json"}
        if full in self.etags:
            headers["If-None-Match"] = self.etags[full]
        resp = httpx.get(url, params={"labels": TRIGGER_LABEL, "state": "open"}, headers=headers, timeout=self.settings.timeout_s)
        if resp.status_code == 304:
            return []
        if resp.status_code != 200:
            raise RuntimeError(f"{full}: polling issues failed: {resp.status_code} {resp.json().get('message', '')}")
        if resp.headers.get("etag"):
            self.etags[full] = resp.headers["etag"]
        return [i for i in resp.json() if "pull_request" not in i]

    def _enqueue(self, repo_id: int, full: str, issue: dict) -> int | None:
        number = str(issue["number"])
        with self.ship.store.session() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.repository_id == repo_id, Ticket.source == "github", Ticket.external_id == number))
            if ticket is None:
                ticket = Ticket(repository_id=repo_id, source="github", external_id=number, title="", body="")
                s.add(ticket)
            ticket.title = str(issue.get("title") or f"issue #{number}")
            ticket.body = str(issue.get("body") or "")
            ticket.labels = sorted({lbl["name"] for lbl in issue.get("labels") or []} | {TRIGGER_LABEL})
            s.flush()
            ticket_id = ticket.id
            if requeue_problem(s, repo_id, "github", number, issue.get("updated_at")):
                return None  # cancelled, and the issue has not changed since: the label alone is no new request
        job_id, created = self.ship.enqueue_ticket(ticket_id)
        if not created:
            return None
        with self.ship.store.session() as s:
            s.add(Event(job_id=job_id, kind="trigger", message=f"GitHub issue {full}#{number} found labelled {TRIGGER_LABEL!r} by polling", data={}))
        return job_id


def run_poller(ship, *, interval: float, once: bool, say) -> None:
    """Poll every ``interval`` seconds (once with ``once``), printing each queued job."""
    import time

    from orchestrator.reverts import record_reverts

    poller = GitHubPoller(ship)
    while True:
        for job_id in poller.poll_once():
            say(f"queued job {job_id}")
        for job_id in record_reverts(ship):
            say(f"job {job_id}: its merged pull request was reverted")
        if once:
            return
        time.sleep(interval)
