"""The ticket workflow's state: plain data only, so every checkpoint can be stored and resumed
in another process days later."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

Gate = Literal["plan", "budget", "provider", "pr"]
"""A human gate the workflow can wait at: plan approval, budget extension, provider outage, PR review.
The name is also what the store keeps with a decision (``Review.gate``)."""

Verdict = Literal["approve", "reject", "request_changes"]

PausingStep = Literal["triage", "plan", "code"]
"""The steps that may pause for the budget or the model's provider (and run again on resume)."""


class TicketInput(TypedDict):
    id: int
    title: str
    body: str
    labels: list[str]
    cassette: str | None
    """Path of a scripted-model cassette (every model call is a replay), or None."""
    source: NotRequired[str]
    """Where the ticket came from: ``local`` or ``github`` (an issue of the repository)."""
    external_id: NotRequired[str | None]
    """The ticket's id at its source (the issue number for ``github``), or None."""


class RepoInput(TypedDict):
    name: str
    url: str
    """A path for the local forge, ``owner/name`` for GitHub."""
    base_branch: str
    config: NotRequired[str | None]
    """The ``.shipyard.yml`` text kept in the store (``shipyard init``); a committed file wins over it."""


class LineComment(TypedDict):
    """A reviewer's comment on one line of the diff (line numbers in the changed file)."""

    path: str
    line: int
    body: str


class Decision(TypedDict, total=False):
    """A human decision at a gate: what the runner resumes the workflow with (without ``gate``),
    kept in the state with the gate it answered."""

    gate: Gate
    decision: Verdict
    comment: str
    extra_usd: float
    """The budget extension approved (budget gate)."""
    line_comments: list[LineComment]


class Pause(TypedDict):
    """A step stopped without an outcome; it runs again once the job resumes."""

    kind: Literal["budget", "provider"]
    """``budget``: a spending limit was reached (a human extends it); ``provider``: the model's
    provider stopped answering (a worker's probe or a human resumes it)."""
    step: PausingStep
    reason: str
    """For a human: the limit reached, or the provider, model and URL that did not answer."""


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
    paused: Pause | None
    """Set when a step paused (budget or provider); cleared once that step runs through again."""
    merge_refused: str
    """Why the forge refused the approved merge (the job waits for review again); empty otherwise."""
    no_change: bool
    """The last attempt answered a reviewer's comments without changing a file (another attempt follows)."""
    decision: Decision
    """The last human decision, with the gate it answered."""
    pr_number: int
    pr_url: str
    outcome: str
    """Final outcome: merged | closed | blocked | failed."""
    reason: str
    """Why the job ended (blocked/failed/closed), for a human."""


def pause_reason(state: TicketState) -> str:
    """Why the state's step paused (empty when it did not)."""
    pause = state.get("paused")
    return pause["reason"] if pause else ""
