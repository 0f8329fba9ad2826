"""The whole path: a labelled ticket → queue → worker process → sandbox → agent → gate → PR → review."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from orchestrator.store.tables import PullRequest
from tests.pipeline.conftest import CASSETTES
from tests.pipeline.harness import ASSETS, queue_ticket, running_worker, wait_for_attempts, wait_for_job
from tests.web.logins import api_client
from workflows.gitops import run_git

SLUG_TITLE = "slugify leaves repeated dashes"
SLUG_BODY = "`slugify('Hello,  World!')` returns `hello---world`; it should be `hello-world`."


def repo_file(ship, path: str, ref: str = "main") -> str:
    with ship.store.session() as s:
        from orchestrator.store.tables import Repository

        url = s.scalars(select(Repository.url)).one()
    return run_git(["show", f"{ref}:{path}"], cwd=url)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.xdist_group("docker-sweep")  # its worker sweeps leaked containers host-wide (see the reaper test)
def test_labelled_ticket_becomes_a_gated_pull_request_and_approval_merges_it(make_ship, docker_engine):
    ship = make_ship(sandbox_backend="docker")
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, ASSETS / "cassettes" / "slugify-dashes.yml")
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert job["state"] == "awaiting_review", job["reason"]
        assert job["sandbox"] == "docker"
        assert job["gate_passed"] is True and job["diff_coverage"] == 100.0
        pr = job["pr"]
        assert pr["branch"].startswith(f"shipyard/{job['ticket_id']}-slugify-leaves-repeated-dashes")
        # The branch is on the forge, the base branch is untouched until a human approves.
        assert "test_slugify_collapses_repeated_separators" in repo_file(ship, "tests/test_slug.py", pr["branch"])
        assert "collapses" not in repo_file(ship, "tests/test_slug.py")
        body = job["pr_body"]
        assert "Scripted model" in body and "Resolves ticket" in body
        assert "diff coverage" in body.lower() and "scripted:slugify-dashes" in body

        ship.decide(job_id, "approve", reviewer="test")
        job = wait_for_job(ship, job_id, {"merged", "failed", "blocked"}, worker=worker)
    assert job["state"] == "merged", job["reason"]
    assert "test_slugify_collapses_repeated_separators" in repo_file(ship, "tests/test_slug.py")
    kinds = [e["kind"] for e in job["events"]]
    for step in ("prepare", "triage", "plan", "attempt", "tool", "gate", "pull_request", "review", "merged", "done"):
        assert step in kinds, f"no {step} event in the timeline: {kinds}"


@pytest.mark.slow
@pytest.mark.workers
def test_request_changes_sends_the_comments_back_as_a_new_attempt_on_the_same_branch(make_ship):
    ship = make_ship(sandbox_backend="local")
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, CASSETTES / "slugify-review.yml")
    with running_worker(ship.settings) as worker:
        first = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert first["state"] == "awaiting_review", first["reason"]
        ship.decide(
            job_id,
            "request_changes",
            comment="Please make the docstring describe how separators collapse.",
            line_comments=[{"path": "textkit/slug.py", "line": 8, "body": "say 'one separator' here"}],
        )
        second = wait_for_attempts(ship, job_id, 2, worker=worker)
    assert second["state"] == "awaiting_review", second["reason"]
    assert second["attempts"] == 2
    assert second["pr"]["number"] == first["pr"]["number"] and second["pr"]["branch"] == first["pr"]["branch"]
    slug = repo_file(ship, "textkit/slug.py", second["pr"]["branch"])
    assert "becomes one separator" in slug
    assert "collapses" in repo_file(ship, "tests/test_slug.py", second["pr"]["branch"])  # attempt 1's work kept
    feedback_event = [e for e in second["events"] if e["kind"] == "review"]
    assert "docstring" in feedback_event[0]["message"]
    assert "on lines: textkit/slug.py:8: say 'one separator' here" in feedback_event[0]["message"]
    # The job page shows what attempt 2 changed on top of attempt 1, and why it ran.
    page = api_client(ship).get(f"/jobs/{job_id}").text
    change = page[page.index('id="attempt-2-change"') :]
    change = change[: change.index("</details>\n")]
    assert (
        "What changed since attempt 1 (1 file(s)) — after: pull request changes requested: Please make the docstring"
        in change
    )
    assert "becomes one separator" in change and "test_slugify_collapses" not in change  # attempt 1's test is not in it
    with ship.store.session() as s:
        assert len(s.scalars(select(PullRequest)).all()) == 1


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.workers
def test_redis_broker_and_postgres_store_run_the_same_path_to_a_merge(make_ship, redis_db_url, postgres_url):
    ship = make_ship(sandbox_backend="local", broker_url=redis_db_url, database_url=postgres_url)
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, ASSETS / "cassettes" / "slugify-dashes.yml")
    with running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert job["state"] == "awaiting_review", job["reason"]
        ship.decide(job_id, "reject", comment="Not now.")
        job = wait_for_job(ship, job_id, {"closed", "failed", "blocked", "merged"}, worker=worker)
    assert job["state"] == "closed"
    assert job["reason"] == "pull request rejected by the reviewer: Not now."
    assert job["pr"]["state"] == "closed"
    assert "collapses" not in repo_file(ship, "tests/test_slug.py")


@pytest.mark.slow
@pytest.mark.workers
def test_plan_approval_pauses_before_coding_and_a_rejected_plan_closes_the_job(make_ship, tmp_path):
    ship = make_ship(sandbox_backend="local")
    repo = tmp_path / "textkit"
    config = (repo / ".shipyard.yml").read_text() + "\n"
    (repo / ".shipyard.yml").write_text(config.replace("agent:\n", "agent:\n  plan_approval: always\n"))
    run_git(["commit", "-qam", "plans need approval"], cwd=repo)
    cassette = ASSETS / "cassettes" / "slugify-dashes.yml"
    approved = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, cassette)
    rejected = queue_ticket(ship, "textkit", SLUG_TITLE + " (again)", SLUG_BODY, cassette)
    with running_worker(ship.settings) as worker:
        for job_id in (approved, rejected):
            job = wait_for_job(
                ship, job_id, {"awaiting_plan_approval", "awaiting_review", "blocked", "failed"}, worker=worker
            )
            assert job["state"] == "awaiting_plan_approval", job["reason"]
            assert job["attempts"] == 0 and not any(e["kind"] == "tool" for e in job["events"])  # nothing coded yet
        ship.decide(approved, "approve")
        ship.decide(rejected, "reject", comment="Out of scope this quarter.")
        job = wait_for_job(ship, approved, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert job["state"] == "awaiting_review" and job["pr"] is not None, job["reason"]
        job = wait_for_job(ship, rejected, {"closed", "blocked", "failed", "awaiting_review"}, worker=worker)
    assert job["state"] == "closed"
    assert job["reason"] == "plan rejected by the reviewer: Out of scope this quarter."
    assert job["pr"] is None and job["attempts"] == 0


@pytest.mark.slow
@pytest.mark.workers
def test_an_attempt_that_changes_nothing_for_the_reviewer_is_a_failed_attempt_not_a_ready_pr(make_ship, tmp_path):
    ship = make_ship(sandbox_backend="local")
    cassette = yaml.safe_load((CASSETTES / "slugify-review.yml").read_text())
    ignored = [{"tool": "finish", "args": {"summary": "Addressed the review."}}]  # claims it, changes nothing
    cassette["code"] = [cassette["code"][0], ignored, cassette["code"][1]]
    (tmp_path / "ignores-review-once.yml").write_text(yaml.safe_dump(cassette))
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, tmp_path / "ignores-review-once.yml")
    with running_worker(ship.settings) as worker:
        first = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert first["state"] == "awaiting_review", first["reason"]
        ship.decide(job_id, "request_changes", comment="Please make the docstring describe how separators collapse.")
        second = wait_for_attempts(ship, job_id, 3, worker=worker)
    assert second["state"] == "awaiting_review", second["reason"]
    attempts = {a["number"]: a for a in second["attempt_list"]}
    assert attempts[2]["outcome"] == "no_change" and attempts[2]["gate"] is None  # not gated, not shown as ready
    assert attempts[3]["gate"]["passed"] is True
    assert any(
        e["kind"] == "review" and "the agent made no change for your comments" in e["message"] for e in second["events"]
    )
    assert "becomes one separator" in repo_file(ship, "textkit/slug.py", second["pr"]["branch"])
