"""The ticket workflow's state: plain data only, so every checkpoint can be stored and resumed
in another process days later."""

from __future__ import annotations

from typing import Any, TypedDict


class TicketInput(TypedDict):
    id: int
    title: str
    body: str
    labels: list[str]
    cassette: str | None


class RepoInput(TypedDict):
    name: str
    url: str
    base_branch: str


class TicketState(TypedDict, total=False):
    job_id: int
    ticket: TicketInput
    repo: RepoInput
    base_sha: str
    head_sha: str
    branch: str
    config: dict[str, Any]
    """The validated ``.shipyard.yml`` of the base commit (``RepoConfig.model_dump()``)."""
    complexity: str
    kind: str
    plan: str
    attempt: int
    """Code attempts made so far."""
    gate_failures: int
    feedback: str
    """What the next code attempt must address: the gate's summary or a reviewer's comments."""
    feedback_from: str
    """Who wrote ``feedback``: ``gate`` or ``review`` (the prompt says so)."""
    gate_passed: bool
    gate_markdown: str
    gate_uncovered: dict[str, list[str]]
    """Changed lines the gate's tests did not run, by file (``{"pkg/a.py": ["3-5", "9"]}``)."""
    budget_paused: str
    """Set when a step stopped at a budget limit (the reason)."""
    provider_paused: str
    """Set when a step's model provider stopped answering (the reason names provider, model, URL)."""
    merge_refused: str
    """Why the forge refused the approved merge (the job waits for review again); empty otherwise."""
    no_change: bool
    """The last attempt answered a reviewer's comments without changing a file (another attempt follows)."""
    paused_at: str
    """The node that paused (budget or provider); it runs again once the job resumes."""
    decision: dict[str, Any]
    """The last human decision: ``{"gate", "decision", "comment", "extra_usd"}``."""
    pr_number: int
    pr_url: str
    outcome: str
    """Final outcome: merged | closed | blocked | failed."""
    reason: str
    """Why the job ended (blocked/failed/closed), for a human."""
