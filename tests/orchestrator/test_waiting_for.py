"""What a paused job waits for, from the gate node through the checkpoint to the runner: the workflow
is brought to each gate in the real checkpointer, a worker's run leaves the job in that gate's state
with the reason it shows, the wait reads back as its typed value, and a decision resumes it there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from orchestrator.domain.jobs import record_decision
from orchestrator.store.tables import Job, JobState
from orchestrator.worker.job_runner import JobRunner, ticket_graph
from tests.pipeline.harness import ASSETS, queue_ticket
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from workflows.nodes import human
from workflows.repo_config import RepoConfig

PLAN = "1. Collapse runs of dashes in slugify.\n2. Test it."
BUDGET = "job budget $0.50 reached"
OUTAGE = "code: provider openai (model small-1 at http://gpu-box:8000/v1) did not answer after 4 tries"
REFUSED = "approved, but the merge was refused: branch main is checked out with uncommitted changes"


@dataclass(frozen=True)
class Gate:
    after: str
    """The node whose update brings the workflow to the gate."""
    update: dict[str, Any]
    waits_for: human.WaitingFor
    state: JobState
    reason: str
    """The job's reason while it waits; ``{job}`` is its id."""
    reject: str | None = None
    """The job's final reason once a human rejects it (None: not tried here)."""


GATES = {
    "plan": Gate(
        "plan",
        {
            "plan": PLAN,
            "complexity": "high",
            "config": RepoConfig.model_validate({"agent": {"plan_approval": "always"}}).model_dump(mode="json"),
        },
        human.PlanApproval(plan=PLAN),
        JobState.AWAITING_PLAN_APPROVAL,
        "waiting for a human to approve the plan",
        reject="plan rejected by the reviewer: not like this",
    ),
    "budget": Gate(
        "triage",
        {"paused": {"kind": "budget", "step": "triage", "reason": BUDGET}},
        human.BudgetExtension(reason=BUDGET),
        JobState.AWAITING_BUDGET,
        f"{BUDGET}: approve +$X (`shipyard review approve {{job}} --extra-usd X`) or stop",
        reject=f"budget reached and not extended: {BUDGET}",
    ),
    "provider": Gate(
        "code",
        {"paused": {"kind": "provider", "step": "code", "reason": OUTAGE}},
        human.ProviderOutage(reason=OUTAGE),
        JobState.AWAITING_PROVIDER,
        f"{OUTAGE} — resumes by itself once the provider answers; "
        "`shipyard review approve {job}` retries now, reject stops the job",
        reject=f"stopped by a human while waiting for the provider (not like this): {OUTAGE}",
    ),
    "review": Gate(
        "open_pr",
        {"gate_passed": True, "pr_number": 7, "pr_url": "local://textkit/pull/7"},
        human.PullRequestReview(pr_number=7, pr_url="local://textkit/pull/7"),
        JobState.AWAITING_REVIEW,
        "pull request open, waiting for review",
    ),
    "refused merge": Gate(
        "merge",
        {"pr_number": 7, "pr_url": "local://textkit/pull/7", "merge_refused": REFUSED},
        human.PullRequestReview(pr_number=7, pr_url="local://textkit/pull/7", merge_refused=REFUSED),
        JobState.AWAITING_REVIEW,
        f"{REFUSED} (`shipyard review approve {{job}}` once fixed)",
    ),
}


@pytest.mark.parametrize("name", GATES)
def test_a_job_paused_at_a_gate_shows_what_it_waits_for_and_resumes_there(ship, name):
    gate = GATES[name]
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, ASSETS / "cassettes" / "slugify-dashes.yml")
    graph = ticket_graph(ship.settings)
    config: Any = {"configurable": {"thread_id": str(job_id)}}
    graph.update_state(config, gate.update, as_node=gate.after)
    runner = JobRunner(ship.settings, ship.store)

    assert runner.run(job_id) == gate.state.value
    assert job_reason(ship, job_id) == gate.reason.format(job=job_id)
    assert human.waiting_for(graph.get_state(config)) == gate.waits_for
    assert human.waiting_for(graph.get_state(config)).gate == {"review": "pr", "refused merge": "pr"}.get(name, name)

    if gate.reject is not None:
        record_decision(ship.store, job_id, "reject", comment="not like this")
        final = JobState.CLOSED if name == "plan" else JobState.BLOCKED
        assert runner.run(job_id) == final.value
        assert job_reason(ship, job_id) == gate.reject
        assert human.waiting_for(graph.get_state(config)) is None


def job_reason(ship, job_id: int) -> str | None:
    with ship.store.session() as s:
        return s.get(Job, job_id).reason
