"""GitHub events on an agent's pull request, turned into review decisions on its waiting job.

- ``pull_request`` closed and merged (a human merged on GitHub) → ``approve``: the job's merge
  step finds the pull request merged and records the merge commit; outcome ``merged``.
- ``pull_request`` closed unmerged → ``reject``: outcome ``closed``.
- ``pull_request_review`` submitted with ``changes_requested`` → ``request_changes`` with the
  review's body and its inline comments (``path:line``): a new attempt on the same branch.
- ``issue_comment`` created on the pull request starting with ``/shipyard`` → ``request_changes``
  with the rest of the comment.

A review or comment counts only from a sender with the trigger permission (asked through the
API); a merge or close is GitHub's own record of what a maintainer did.
"""

from __future__ import annotations

from sqlalchemy import select

from orchestrator.domain.jobs import JobError
from orchestrator.store.tables import Job, PullRequest, Repository, Ticket

COMMAND = "/shipyard"
HANDLED_EVENTS = frozenset({"pull_request", "pull_request_review", "issue_comment"})


def _job_of_pull(ship, full_name: str, number: int) -> int | None:
    with ship.store.session() as s:
        return s.scalar(
            select(Job.id)
            .join(PullRequest, PullRequest.job_id == Job.id)
            .join(Ticket)
            .join(Repository)
            .where(Repository.url == full_name, Repository.forge == "github", PullRequest.number == number)
            .order_by(Job.id.desc())
            .limit(1)
        )


def _inline_comments(full_name: str, number: int, review_id: int) -> list[str]:
    from orchestrator.forges.github import GitHubForge, GitHubSettings

    settings = GitHubSettings()
    if not settings.configured:
        return []
    return [
        f"{c['path']}:{c['line']}: {c['body']}"
        for c in GitHubForge(settings).review_comments(full_name, number, review_id)
    ]


def decision_of(event: str, payload: dict) -> tuple[int | None, str, str, str] | str:
    """``(pr_number, decision, comment, reviewer)`` for a handled event, or the reason it is ignored."""
    action = payload.get("action")
    sender = (payload.get("sender") or {}).get("login", "?")
    full_name = (payload.get("repository") or {}).get("full_name") or ""
    if event == "pull_request":
        pr = payload.get("pull_request") or {}
        if action != "closed":
            return f"pull_request action {action!r} is not handled"
        if pr.get("merged"):
            who = (pr.get("merged_by") or {}).get("login") or sender
            return pr.get("number"), "approve", f"merged on GitHub by {who} ({pr.get('merge_commit_sha') or '?'})", who
        return pr.get("number"), "reject", f"pull request closed on GitHub by {sender}", sender
    if event == "pull_request_review":
        review, pr = payload.get("review") or {}, payload.get("pull_request") or {}
        if action != "submitted" or str(review.get("state", "")).lower() != "changes_requested":
            return f"review {action!r}/{review.get('state')!r} is not a request for changes"
        notes = (
            _inline_comments(full_name, pr.get("number"), review.get("id")) if isinstance(review.get("id"), int) else []
        )
        comment = "\n".join([str(review.get("body") or "").strip(), *notes]).strip()
        return pr.get("number"), "request_changes", comment or "(changes requested without a comment)", sender
    issue, body = payload.get("issue") or {}, str((payload.get("comment") or {}).get("body") or "").strip()
    if action != "created" or "pull_request" not in issue or not body.startswith(COMMAND):
        return f"comment is not a {COMMAND!r} command on a pull request"
    return issue.get("number"), "request_changes", body[len(COMMAND) :].strip() or "(no instructions given)", sender


def handle_pull_event(ship, event: str, payload: dict) -> dict:
    """Apply one pull-request event; returns the webhook's JSON reply."""
    from orchestrator.intake.github_sender import sender_problem

    full_name = (payload.get("repository") or {}).get("full_name") or ""
    found = decision_of(event, payload)
    if isinstance(found, str):
        return {"action": "ignored", "reason": found}
    number, decision, comment, reviewer = found
    if not isinstance(number, int) or not full_name:
        return {"action": "ignored", "reason": "payload has no repository full_name or pull request number"}
    if event != "pull_request":
        problem = sender_problem(payload)
        if problem:
            return {"action": "ignored", "reason": problem}
    job_id = _job_of_pull(ship, full_name, number)
    if job_id is None:
        return {"action": "ignored", "reason": f"{full_name}#{number} is not a Shipyard pull request"}
    try:
        ship.decide(job_id, decision, comment=comment, reviewer=f"github:{reviewer}")
    except JobError as exc:
        return {"action": "ignored", "job_id": job_id, "reason": str(exc)}
    return {"action": decision, "job_id": job_id}
