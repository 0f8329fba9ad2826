"""GitHub end to end through the queue and a worker process: a labelled issue's webhook → job →
pull request with a check run on the local GitHub → changes requested in a review → a new attempt
on the same branch → a human merges on GitHub → outcome ``merged`` with the merge commit.

The token must appear nowhere Shipyard writes: store, events, worker log, PR body, job workspace.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from github import Auth, Github
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.emulators.github.asgi import State
from orchestrator.intake.github_poller import GitHubPoller
from orchestrator.intake.github_repository import register_github_repository
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, Job, PullRequest, Ticket
from tests.github_forge.conftest import TOKEN, open_issue, serve_emulator, token_env
from tests.github_forge.webhook_payloads import deliver, issue_labeled, pull_closed, review_submitted
from tests.pipeline.conftest import CASSETTES
from tests.pipeline.harness import running_worker, sample_repository, wait_for_attempts, wait_for_job
from tests.web.logins import api_client
from tests.web.store_rows import WEBHOOK_SECRET
from workflows.gitops import run_git

REPO = "acme/textkit"
HUMAN = "github_pat_11HUMANreviewer000000000000"


@pytest.fixture
def github(tmp_path: Path, monkeypatch, scrub_env):
    seed = sample_repository(tmp_path / "seed")
    with serve_emulator(tmp_path / "github", seed, repo=REPO) as st:
        st.tokens.add(HUMAN)
        st.permissions.update({"alice": "write", "rita": "maintain"})
        env = token_env(st)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield st, env


def assert_no_token(ship: Shipyard, worker_log: str, emulator: State) -> None:
    with ship.store.session() as s:
        rows = [e.message + json.dumps(e.data) for e in s.scalars(select(Event))]
        rows += [p.body for p in s.scalars(select(PullRequest))]
    for where, text in [
        ("events", "\n".join(rows)),
        ("worker log", worker_log),
        ("PR bodies on GitHub", "\n".join(p["body"] for p in emulator.pulls.values())),
    ]:
        assert TOKEN not in text, f"the token leaked into the {where}"
    for path in [*ship.settings.data_dir.rglob("*")]:
        if path.is_file() and path.stat().st_size < 20_000_000:
            assert TOKEN.encode() not in path.read_bytes(), f"the token leaked into {path}"


@pytest.mark.slow
@pytest.mark.workers
def test_labelled_issue_to_merged_pull_request_on_github(tmp_path: Path, github):
    emulator, env = github
    ship = Shipyard.load(
        Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=30, webhook_secret=WEBHOOK_SECRET)
    )
    register_github_repository(ship.store, f"github:{REPO}")
    open_issue(
        emulator,
        7,
        "slugify leaves repeated dashes",
        "`slugify('Hello,  World!')` returns `hello---world`; it should be `hello-world`.",
        labels=["shipyard"],
        repo=REPO,
    )
    with api_client(ship) as client:
        reply = deliver(client, "issues", issue_labeled(emulator, REPO, 7, sender="alice"), "d-label")
        assert reply["action"] == "queued", reply
        job_id = reply["job_id"]
        with ship.store.session() as s:  # the scripted model stands in for a live one
            s.get(Job, job_id).ticket.cassette = str(CASSETTES / "slugify-review.yml")
        with running_worker(ship.settings, env=env) as worker:
            first = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
            assert first["state"] == "awaiting_review", first["reason"]
            number = first["pr"]["number"]
            pr = emulator.pulls[(REPO, number)]
            assert pr["head"] == first["pr"]["branch"] and pr["state"] == "open"
            assert pr["body"].startswith("Closes #7") and "## Plan" in pr["body"] and "## Cost" in pr["body"]
            assert "coverage" in pr["body"].lower()
            head = emulator_sha(emulator, pr["head"])
            (check,) = [c for c in emulator.check_runs if c["head_sha"] == head]
            assert (check["name"], check["conclusion"]) == ("shipyard/gate", "success")
            # The job's commits are on GitHub under its hidden ref, which GitHub lists as no branch.
            assert run_git(["rev-parse", f"refs/shipyard/jobs/{job_id}"], cwd=emulator.repo_path(REPO)).strip() == head
            gh = Github(auth=Auth.Token(HUMAN), base_url=f"{emulator.base}/api/v3")
            assert sorted(b.name for b in gh.get_repo(REPO).get_branches()) == sorted(["main", pr["head"]])

            review = (
                gh.get_repo(REPO)
                .get_pull(number)
                .create_review(
                    body="Please make the docstring describe how separators collapse.",
                    event="REQUEST_CHANGES",
                    comments=[{"path": "textkit/slug.py", "line": 1, "body": "say that runs of separators become one"}],
                )
            )
            reply = deliver(
                client, "pull_request_review", review_submitted(emulator, REPO, number, review.id, "rita"), "d-review"
            )
            assert reply["action"] == "request_changes", reply
            second = wait_for_attempts(ship, job_id, 2, worker=worker)
            assert second["state"] == "awaiting_review", second["reason"]
            assert second["attempts"] == 2 and second["pr"]["number"] == number
            feedback = [e["message"] for e in second["events"] if e["kind"] == "review"]
            assert "textkit/slug.py:1: say that runs of separators become one" in feedback[0]
            assert emulator_sha(emulator, pr["head"]) != head  # the new attempt is pushed to the same branch

            merged = gh.get_repo(REPO).get_pull(number).merge(merge_method="merge")
            reply = deliver(client, "pull_request", pull_closed(emulator, REPO, number, "rita"), "d-merge")
            assert reply["action"] == "approve", reply
            done = wait_for_job(ship, job_id, {"merged", "failed", "blocked", "closed"}, worker=worker)
            assert done["state"] == "merged", done["reason"]
            again = deliver(client, "pull_request", pull_closed(emulator, REPO, number, "rita"), "d-merge")
            assert again["action"] == "duplicate"
            assert wait_for_no_job_refs(emulator), "the merged job's refs/shipyard/jobs ref is still on GitHub"
        log = worker.log_path.read_text(errors="replace")
    (event,) = [e for e in done["events"] if e["kind"] == "merged"]
    assert merged.sha[:10] in event["message"]
    with ship.store.session() as s:
        assert s.scalar(select(PullRequest)).state == "merged"
        assert s.scalar(select(Ticket)).external_id == "7"
    assert_no_token(ship, log, emulator)


def wait_for_no_job_refs(emulator: State, timeout: float = 10) -> bool:
    """The job refs go right after the worker lets go of a final job."""
    from workflows.gitops import run_git

    deadline = time.monotonic() + timeout
    while run_git(["for-each-ref", "refs/shipyard"], cwd=emulator.repo_path(REPO)).strip():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def emulator_sha(emulator: State, branch: str) -> str:
    from workflows.gitops import run_git

    return run_git(["rev-parse", f"refs/heads/{branch}"], cwd=emulator.repo_path(REPO)).strip()


def wait_for_reason(ship, job_id: int, text: str, worker, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed", "merged"}, worker=worker)
        if text in (job["reason"] or "") or job["state"] != "awaiting_review":
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} reason never mentioned {text!r}: {job['reason']}")


@pytest.mark.slow
@pytest.mark.workers
def test_outsider_ignored_polled_issue_rate_limit_waited_out_blocked_merge_explained_and_close_recorded(
    tmp_path: Path, github
):
    emulator, env = github
    ship = Shipyard.load(
        Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=30, webhook_secret=WEBHOOK_SECRET)
    )
    register_github_repository(ship.store, f"github:{REPO}")
    emulator.permissions["mallory"] = "read"
    open_issue(
        emulator, 9, "slugify leaves repeated dashes", "`slugify('a  b')` gives `a--b`.", labels=["shipyard"], repo=REPO
    )
    with api_client(ship) as client:
        outsider = deliver(client, "issues", issue_labeled(emulator, REPO, 9, sender="mallory"), "d-outsider")
        assert outsider["action"] == "ignored" and "'read' permission" in outsider["reason"]
        emulator.label_issue(REPO, 9, "shipyard", "rita")  # a maintainer applies the label again
        (job_id,) = GitHubPoller(ship).poll_once()  # the same issue picked up by polling instead of a webhook
        with ship.store.session() as s:
            s.get(Job, job_id).ticket.cassette = str(CASSETTES / "slugify-review.yml")
        emulator.faults.rate_limited = 2  # the worker's first API calls meet GitHub's secondary rate limit
        emulator.required_approvals = 1  # branch protection: a merge needs an approving review
        with running_worker(ship.settings, env=env) as worker:
            first = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
            assert first["state"] == "awaiting_review", first["reason"]
            assert [r for r in emulator.requests if r.get("status") == 403] and emulator.faults.rate_limited == 0

            ship.decide(job_id, "approve", reviewer="test")  # `shipyard review approve`
            refused = wait_for_reason(ship, job_id, "At least 1 approving review is required", worker)
            assert refused["state"] == "awaiting_review", refused["reason"]
            assert "GitHub refused the merge: 405" in refused["reason"]
            assert emulator.pulls[(REPO, first["pr"]["number"])]["state"] == "open"

            gh = Github(auth=Auth.Token(HUMAN), base_url=f"{emulator.base}/api/v3")
            gh.get_repo(REPO).get_pull(first["pr"]["number"]).edit(state="closed")
            reply = deliver(
                client, "pull_request", pull_closed(emulator, REPO, first["pr"]["number"], "rita"), "d-close"
            )
            assert reply["action"] == "reject", reply
            done = wait_for_job(ship, job_id, {"merged", "failed", "blocked", "closed"}, worker=worker)
    assert done["state"] == "closed", done["reason"]
    assert "closed on GitHub by rita" in done["reason"]
    with ship.store.session() as s:
        assert s.scalar(select(PullRequest)).state == "closed"
