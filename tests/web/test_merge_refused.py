"""An approve while the local base checkout is dirty leaves the job waiting for review with the
reason (not failed), the PR open, and a second approve merges once the checkout is clean."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.store.tables import PullRequest, Repository
from tests.pipeline.conftest import CASSETTES, make_ship  # noqa: F401 (fixture)
from tests.pipeline.harness import queue_ticket, running_worker, wait_for_job
from workflows.gitops import run_git

TITLE = "slugify leaves repeated dashes"
BODY = "`slugify('Hello,  World!')` returns `hello---world`; it should be `hello-world`."


def wait_until(ship, job_id, worker, done, timeout: float = 120) -> dict:
    """Poll until ``done(job)`` or the job leaves awaiting_review (the worker applies the decision)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = wait_for_job(ship, job_id, {"awaiting_review", "merged", "failed", "blocked"}, worker=worker)
        if done(job) or job["state"] != "awaiting_review":
            return job
        time.sleep(0.3)
    pytest.fail(f"job {job_id} still {job['state']} after {timeout}s: {job['reason']}")


@pytest.mark.slow
@pytest.mark.workers
def test_approve_on_a_dirty_base_checkout_waits_for_review_with_the_reason(make_ship):  # noqa: F811
    ship = make_ship(sandbox_backend="local")
    job_id = queue_ticket(ship, "textkit", TITLE, BODY, CASSETTES / "slugify-review.yml")
    with ship.store.session() as s:
        checkout = s.scalars(select(Repository.url)).one()
    with running_worker(ship.settings) as worker:
        first = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert first["state"] == "awaiting_review", first["reason"]
        readme = Path(checkout) / "textkit" / "slug.py"
        readme.write_text(readme.read_text() + "\n# local edit\n")

        ship.decide(job_id, "approve", reviewer="test")
        refused = wait_until(ship, job_id, worker, lambda j: "merge was refused" in (j["reason"] or ""))
        assert refused["state"] == "awaiting_review", refused["reason"]
        assert "uncommitted changes" in refused["reason"] and f"shipyard review approve {job_id}" in refused["reason"]
        assert refused["pending_decision"] is None  # the decision was applied: buttons are live again
        with ship.store.session() as s:
            assert [p.state for p in s.scalars(select(PullRequest))] == ["open"]
        assert "local edit" in readme.read_text()  # the user's change is left alone

        run_git(["checkout", "--", "textkit/slug.py"], cwd=checkout)
        ship.decide(job_id, "approve", reviewer="test")
        merged = wait_until(ship, job_id, worker, lambda j: j["state"] != "awaiting_review")
    assert merged["state"] == "merged", merged["reason"]
    assert "merge_refused" in [e["kind"] for e in merged["events"]]
