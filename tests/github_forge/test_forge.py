"""The GitHub forge against the emulator: real HTTP, real git smart HTTP, PyGithub in between."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.emulators.github.asgi import State
from orchestrator.forges.github import GitHubForge, GitHubSettings
from orchestrator.forges.local_git import ForgeError
from tests.github_forge.conftest import REPO, TOKEN, open_issue
from workflows.gitops import GitRepo, run_git
from workflows.ports import CheckRun, MergeRefused


def _clone_and_commit(forge: GitHubForge, tmp_path: Path) -> tuple[GitRepo, str, str]:
    git_dir, work = tmp_path / "job.git", tmp_path / "work"
    base = forge.clone(REPO, "main", git_dir, work)
    (work / "app.py").write_text("def add(a, b):\n    return a + b\n")
    git = GitRepo(git_dir)
    sha = git.commit_worktree(work, base, "Fix add")
    return git, base, sha


def test_push_open_check_merge_comment(forge: GitHubForge, emulator: State, tmp_path: Path):
    git, base, sha = _clone_and_commit(forge, tmp_path)
    forge.push_branch(REPO, git.git_dir, "shipyard/issue-7", sha)
    assert run_git(["rev-parse", "refs/heads/shipyard/issue-7"], cwd=emulator.repo_path(REPO)).strip() == sha

    body = "Closes #7\n\n## Plan\nfix add\n\n## Gate report\nall green\n\n## Cost\n$0.01"
    pr = forge.open_pull_request(REPO, branch="shipyard/issue-7", base="main", title="Fix add", body=body)
    again = forge.open_pull_request(
        REPO, branch="shipyard/issue-7", base="main", title="Fix add", body=body + "\nagain"
    )
    assert again.number == pr.number and pr.state == "open"
    assert pr.url == f"{emulator.base}/{REPO}/pull/{pr.number}"
    assert [p["body"] for p in emulator.pulls.values()] == [body + "\nagain"]

    run_id = forge.report_check(
        REPO, sha, CheckRun(conclusion="success", title="Gates passed", summary="tests: 1 passed")
    )
    (run,) = emulator.check_runs
    assert (run["id"], run["name"], run["head_sha"], run["conclusion"]) == (run_id, "shipyard/gate", sha, "success")

    forge.comment(REPO, pr.number, "Plan ready for review")
    assert [c["body"] for c in emulator.comments] == ["Plan ready for review"]

    merged = forge.merge_pull_request(REPO, pr.number)
    bare = emulator.repo_path(REPO)
    assert run_git(["rev-parse", "refs/heads/main"], cwd=bare).strip() == merged
    assert run_git(["rev-parse", f"{merged}^2"], cwd=bare).strip() == sha
    assert forge.merge_pull_request(REPO, pr.number) == merged  # idempotent


def test_merge_blocked_carries_githubs_message(forge: GitHubForge, emulator: State, tmp_path: Path):
    emulator.required_approvals = 1
    git, _, sha = _clone_and_commit(forge, tmp_path)
    forge.push_branch(REPO, git.git_dir, "b", sha)
    pr = forge.open_pull_request(REPO, branch="b", base="main", title="t", body="Closes #1")
    with pytest.raises(MergeRefused, match="At least 1 approving review is required"):
        forge.merge_pull_request(REPO, pr.number)
    forge.close_pull_request(REPO, pr.number)
    assert emulator.pulls[(REPO, pr.number)]["state"] == "closed"


def test_token_never_in_git_config_or_argv_or_errors(forge: GitHubForge, emulator: State, tmp_path: Path):
    git, _, sha = _clone_and_commit(forge, tmp_path)
    forge.push_branch(REPO, git.git_dir, "b", sha)
    config = (git.git_dir / "config").read_text()
    assert TOKEN not in config and "extraheader" not in config.lower()
    for path in git.git_dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 1_000_000:
            assert TOKEN.encode() not in path.read_bytes(), path
    emulator.faults.expired_tokens.add(TOKEN)
    with pytest.raises(ForgeError) as err:
        forge.push_branch(REPO, git.git_dir, "c", sha)
    assert TOKEN not in str(err.value)


def test_wrong_token_is_refused_with_reason(emulator: State, tmp_path: Path):
    bad = GitHubForge(GitHubSettings(api_url=f"{emulator.base}/api/v3", git_url=emulator.base, token="nope"))
    with pytest.raises(ForgeError, match="401 Bad credentials"):
        bad.open_pull_request(REPO, branch="b", base="main", title="t", body="")
    with pytest.raises(ForgeError, match="GitHub refused the credentials"):
        bad.clone(REPO, "main", tmp_path / "g.git", tmp_path / "w")


def test_missing_credentials_named():
    with pytest.raises(ForgeError, match="SHIPYARD_GITHUB_TOKEN"):
        GitHubForge(GitHubSettings(token=None))


def test_check_run_annotates_the_lines_missing_coverage(forge: GitHubForge, emulator: State, tmp_path: Path):
    git, _, sha = _clone_and_commit(forge, tmp_path)
    forge.push_branch(REPO, git.git_dir, "b", sha)
    forge.report_check(
        REPO,
        sha,
        CheckRun(
            conclusion="failure",
            title="Quality gate failed",
            summary="diff coverage 50%",
            uncovered={"app.py": ["2", "4-5", "bogus"]},
        ),
    )
    (run,) = emulator.check_runs
    spans = [(a["path"], a["start_line"], a["end_line"], a["annotation_level"]) for a in run["output"]["annotations"]]
    assert spans == [("app.py", 2, 2, "warning"), ("app.py", 4, 5, "warning")]
    assert run["conclusion"] == "failure"


def test_ask_author_comments_and_labels_the_issue(forge: GitHubForge, emulator: State):
    open_issue(emulator, 3, "do things", labels=["shipyard"])
    forge.ask_author(REPO, 3, "Which module?")
    assert [c["body"] for c in emulator.comments] == ["Which module?"]
    assert [lbl["name"] for lbl in emulator.issues[(REPO, 3)]["labels"]] == ["shipyard", "shipyard:needs-info"]
