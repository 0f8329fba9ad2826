"""open_pr: push the branch and open (or update) the pull request — idempotent on re-run."""

from __future__ import annotations

import re

from langchain_core.runnables import RunnableConfig

from workflows.nodes import services_of
from workflows.nodes.prepare import git_dir
from workflows.ports import CheckRun, ChecksRefused, Forge, JobServices, Redaction
from workflows.state import TicketState

SCRIPTED_NOTE = "> **Scripted model:** this change was replayed from a cassette, not written by a live model."


def branch_name(ticket_id: int, title: str, redactor: Redaction | None = None) -> str:
    """``shipyard/<ticket>-<slug of the title>``; a secret in the title (in any case or spelling,
    before or after slugging) becomes ``redacted``: ref names leave the orchestrator too."""

    def slugged(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")

    slug = slugged(redactor.name(title) if redactor is not None else title)
    if redactor is not None and redactor.name(slug) != slug:
        slug = slugged(redactor.name(slug))
    return f"shipyard/{ticket_id}-{slug or 'change'}"


def pr_body(state: TicketState, services: JobServices) -> str:
    ticket = state["ticket"]
    parts = [f"Resolves ticket #{ticket['id']}: {ticket['title']}"]
    if ticket.get("source") == "github" and ticket.get("external_id"):
        parts[0] = f"Closes #{ticket['external_id']}\n\n" + parts[0]
    if ticket.get("cassette"):
        parts.append(SCRIPTED_NOTE)
    if state.get("plan"):
        parts.append("## Plan\n" + state["plan"])
    parts.append(state.get("gate_markdown", ""))
    parts.append(f"## Cost\nAttempts: {state['attempt']}\n\n" + services.recorder.cost_markdown())
    return "\n\n".join(p for p in parts if p)


def drafts_first(state: TicketState, forge: Forge) -> bool:
    """The repository asks for a draft PR before the gate passes, and the forge has drafts."""
    return bool(((state.get("config") or {}).get("pull_request") or {}).get("draft")) and forge.drafts


def open_pr(state: TicketState, config: RunnableConfig) -> TicketState:
    """Push and open the PR once the gate passed; with ``pull_request.draft``, also after a failed
    gate, as a draft (marked ready for review when a later attempt passes)."""
    services = services_of(config)
    passed, drafts = bool(state.get("gate_passed")), drafts_first(state, services.forge)
    if not passed and (not drafts or (state.get("outcome") and not state.get("pr_number"))):
        return {}  # no draft on a forge without drafts, nor a first draft for a job that is ending
    ticket, repo = state["ticket"], state["repo"]
    branch = state.get("branch") or branch_name(ticket["id"], ticket["title"], services.redactor)
    services.recorder.set_job(branch=branch)  # before the push: a job that ends without its PR removes it
    services.forge.push_branch(repo["url"], git_dir(services.job_dir), branch, state["head_sha"])
    body = pr_body(state, services)
    info = services.forge.open_pull_request(
        repo["url"],
        branch=branch,
        base=repo["base_branch"],
        title=ticket["title"],
        body=body,
        draft=drafts and not passed,
    )
    if drafts:
        services.recorder.event(
            "pull_request",
            f"pull request #{info.number} "
            + ("ready for review: the gate passed" if passed else "is a draft until the gate passes"),
        )
    services.recorder.pull_request(info, title=ticket["title"], body=body)
    publish_check(state, services, repo["url"])
    return {"branch": branch, "pr_number": info.number, "pr_url": info.url}


def publish_check(state: TicketState, services: JobServices, repo: str) -> None:
    """Show the gate's verdict as a check run on the head commit (forges with checks only)."""
    passed = bool(state.get("gate_passed"))
    try:
        check = CheckRun(
            conclusion="success" if passed else "failure",
            title="Quality gate passed" if passed else "Quality gate failed",
            summary=state.get("gate_markdown") or "No gate report.",
            uncovered=state.get("gate_uncovered") or {},
        )
        run_id = services.forge.report_check(repo, state["head_sha"], check)
    except ChecksRefused as exc:
        services.recorder.event("check", f"gate not published as a check run (the PR body has the report): {exc}")
        return
    if run_id is None:  # the forge has no check runs: the PR body carries the report
        return
    services.recorder.event(
        "check", f"gate published as check run {run_id} on {state['head_sha'][:10]}", check_run=run_id
    )
