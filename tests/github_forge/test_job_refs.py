"""A job's hidden ref on GitHub (through the emulator: real git smart HTTP, PyGithub for the listing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from github import Auth, Github

from orchestrator.emulators.github.asgi import State
from orchestrator.forges.github import GitHubForge
from orchestrator.forges.local_git import ForgeError
from tests.github_forge.conftest import REPO, TOKEN
from workflows.gitops import GitRepo, run_git


def _branches(emulator: State) -> list[str]:
    gh = Github(auth=Auth.Token(TOKEN), base_url=f"{emulator.base}/api/v3")
    return [b.name for b in gh.get_repo(REPO).get_branches()]


def test_a_job_ref_carries_the_commits_to_another_host_is_no_branch_and_is_deleted(
    forge: GitHubForge, emulator: State, tmp_path: Path
):
    # Host A: the job's clone and one attempt's commit, saved under the job's hidden ref.
    git_a, work = tmp_path / "a" / "git", tmp_path / "a" / "work"
    base = forge.clone(REPO, "main", git_a, work)
    (work / "app.py").write_text("def add(a, b):\n    return a + b\n")
    sha = GitRepo(git_a).commit_worktree(work, base, "attempt 1")
    forge.push_job_ref(REPO, git_a, 42, sha)
    forge.push_job_ref(REPO, git_a, 42, sha)  # idempotent
    bare = emulator.repo_path(REPO)
    assert run_git(["rev-parse", "refs/shipyard/jobs/42"], cwd=bare).strip() == sha
    assert _branches(emulator) == ["main"]  # GitHub's branch list does not show it

    # Host B, with nothing of A's: base branch, then the job ref, brings the attempt's commit.
    git_b = tmp_path / "b" / "git"
    forge.clone(REPO, "main", git_b, tmp_path / "b" / "work")
    assert forge.fetch_job_ref(REPO, git_b, 42) == sha
    assert GitRepo(git_b).show_file(sha, "app.py") == b"def add(a, b):\n    return a + b\n"
    assert forge.fetch_job_ref(REPO, git_b, 43) is None  # a job that saved nothing

    # The sweep's listing: job ids only, whatever else sits under refs/shipyard/jobs.
    forge.push_job_ref(REPO, git_a, 7, base)
    run_git(["update-ref", "refs/shipyard/jobs/notes", base], cwd=bare)
    assert forge.job_ref_ids(REPO) == [7, 42]
    run_git(["update-ref", "-d", "refs/shipyard/jobs/notes"], cwd=bare)

    forge.delete_job_ref(REPO, 42)
    forge.delete_job_ref(REPO, 42)  # idempotent
    forge.delete_job_ref(REPO, 7)
    assert run_git(["for-each-ref", "refs/shipyard"], cwd=bare).strip() == ""
    assert forge.job_ref_ids(REPO) == []

    # A branch a job pushed and never opened its pull request on goes the same way.
    forge.push_branch(REPO, git_a, "shipyard/9-orphan", sha)
    assert _branches(emulator) == ["main", "shipyard/9-orphan"]
    forge.delete_branch(REPO, "shipyard/9-orphan")
    forge.delete_branch(REPO, "shipyard/9-orphan")  # idempotent
    assert _branches(emulator) == ["main"]


def test_job_ref_pushes_keep_the_token_out_of_the_git_dir_and_errors(
    forge: GitHubForge, emulator: State, tmp_path: Path
):
    git_dir, work = tmp_path / "git", tmp_path / "work"
    base = forge.clone(REPO, "main", git_dir, work)
    forge.push_job_ref(REPO, git_dir, 7, base)
    assert forge.fetch_job_ref(REPO, git_dir, 7) == base
    forge.delete_job_ref(REPO, 7)
    kept = "\n".join(
        p.read_text(errors="replace") for p in git_dir.rglob("*") if p.is_file() and p.stat().st_size < 100_000
    )
    assert TOKEN not in kept and "x-access-token" not in kept
    with pytest.raises(ForgeError) as refused:
        forge.push_job_ref("acme/missing", git_dir, 7, base)
    assert TOKEN not in str(refused.value) and "acme/missing" in str(refused.value)
