"""The emulator cannot drift from the real API unnoticed: its responses (read through PyGithub's
own HTTP calls) and the webhook payloads the tests send are validated against githubkit's models,
generated from GitHub's OpenAPI description."""

from __future__ import annotations

import warnings
from pathlib import Path

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from githubkit.webhooks import parse_obj
    from githubkit_schemas.latest.models import FullRepository, Issue, LabeledIssueEvent, PullRequest

from orchestrator.emulators.github.asgi import State
from orchestrator.forges.github import GitHubForge
from tests.github_forge.conftest import REPO, TOKEN, open_issue
from tests.github_forge.webhook_payloads import issue_labeled, pr_comment, pull_closed, review_submitted
from workflows.gitops import GitRepo


def _get(emulator: State, path: str):
    resp = httpx.get(f"{emulator.base}/api/v3/repos/{REPO}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture
def pull_number(forge: GitHubForge, emulator: State, tmp_path: Path) -> int:
    git_dir, work = tmp_path / "job.git", tmp_path / "work"
    base = forge.clone(REPO, "main", git_dir, work)
    (work / "app.py").write_text("def add(a, b):\n    return a + b\n")
    sha = GitRepo(git_dir).commit_worktree(work, base, "Fix add")
    forge.push_branch(REPO, git_dir, "shipyard/1-fix-add", sha)
    open_issue(emulator, 1, "add subtracts", labels=["shipyard"])
    return forge.open_pull_request(
        REPO, branch="shipyard/1-fix-add", base="main", title="Fix add", body="Closes #1"
    ).number


def test_rest_responses_match_githubs_schema(emulator: State, pull_number: int):
    FullRepository.model_validate(_get(emulator, ""))
    PullRequest.model_validate(_get(emulator, f"/pulls/{pull_number}"))
    for item in _get(emulator, "/pulls"):
        PullRequest.model_validate(item)
    Issue.model_validate(_get(emulator, "/issues/1"))
    emulator.label_issue(REPO, 1, "shipyard", "alice")
    for event in _get(emulator, "/issues/1/events"):
        LabeledIssueEvent.model_validate(event)
    for item in _get(emulator, "/issues?labels=shipyard"):
        Issue.model_validate(item)


def test_webhook_payloads_match_githubs_schema(emulator: State, forge: GitHubForge, pull_number: int):
    parse_obj("issues", issue_labeled(emulator, REPO, 1, sender="alice"))
    review = forge._repo(REPO).get_pull(pull_number).create_review(body="rename it", event="REQUEST_CHANGES")
    parse_obj("pull_request_review", review_submitted(emulator, REPO, pull_number, review.id, "rita"))
    parse_obj("issue_comment", pr_comment(emulator, REPO, pull_number, "/shipyard add a test", "rita"))
    forge.merge_pull_request(REPO, pull_number)
    parse_obj("pull_request", pull_closed(emulator, REPO, pull_number, "rita"))
