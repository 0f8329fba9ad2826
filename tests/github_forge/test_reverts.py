"""A later commit on the base branch reverting an agent PR's merge commit is found on GitHub
(git over HTTP from the emulator) and recorded once on the outcome ledger."""

from __future__ import annotations

from pathlib import Path

from orchestrator.deployment import Shipyard
from orchestrator.domain.reverts import record_reverts
from orchestrator.emulators.github.asgi import State
from orchestrator.forges.github import GitHubForge
from orchestrator.intake.github_repository import register_github_repository
from orchestrator.reporting.outcomes import outcome_metrics
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, Job, Repository, Ticket
from tests.github_forge.conftest import REPO, token_env
from workflows.gitops import GitRepo, run_git


def _merged_agent_pr(forge: GitHubForge, tmp_path: Path) -> str:
    git_dir, work = tmp_path / "job.git", tmp_path / "work"
    base = forge.clone(REPO, "main", git_dir, work)
    (work / "app.py").write_text("def add(a, b):\n    return a + b\n")
    sha = GitRepo(git_dir).commit_worktree(work, base, "Fix add")
    forge.push_branch(REPO, git_dir, "shipyard/1-fix-add", sha)
    pr = forge.open_pull_request(REPO, branch="shipyard/1-fix-add", base="main", title="Fix add", body="Closes #1")
    return forge.merge_pull_request(REPO, pr.number)


def _job(ship: Shipyard, merge_commit: str) -> int:
    with ship.store.session() as s:
        repo = s.query(Repository).one()
        ticket = Ticket(repository_id=repo.id, source="github", external_id="1", title="Fix add", body="")
        s.add(ticket)
        s.flush()
        job = Job(ticket_id=ticket.id, state="merged")
        s.add(job)
        s.flush()
        s.add(Event(job_id=job.id, kind="merged", message="merged", data={"merge_commit": merge_commit}))
        return job.id


def test_revert_of_a_merged_agent_pr_is_recorded_once(
    emulator: State, forge: GitHubForge, tmp_path: Path, monkeypatch, scrub_env
):
    for key, value in token_env(emulator).items():
        monkeypatch.setenv(key, value)
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data"))
    register_github_repository(ship.store, f"github:{REPO}")
    merge = _merged_agent_pr(forge, tmp_path)
    job_id = _job(ship, merge)
    assert record_reverts(ship) == []

    human = tmp_path / "human"  # someone presses "Revert" and merges the revert
    run_git(["clone", "-q", str(emulator.repo_path(REPO)), str(human)])
    run_git(
        ["-c", "user.name=Rita", "-c", "user.email=rita@example.com", "revert", "--no-edit", "-m", "1", merge],
        cwd=human,
    )
    run_git(["push", "-q", "origin", "main"], cwd=human)

    assert record_reverts(ship) == [job_id]
    assert record_reverts(ship) == []  # recorded once
    with ship.store.session() as s:
        (event,) = s.query(Event).filter(Event.kind == "reverted").all()
        assert event.data["merge_commit"] == merge and event.message.startswith(
            f"merge commit {merge[:10]} was reverted"
        )
    figures = outcome_metrics(ship.store).real
    assert (figures.merged, figures.reverted, figures.revert_rate) == (1, 1, 1.0)
