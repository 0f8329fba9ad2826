"""The store's schema on SQLite and PostgreSQL, and the local forge's pull requests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator.domain.backlog import BacklogError, add_ticket, register_repository
from orchestrator.domain.jobs import JobError, create_job, record_decision
from orchestrator.forges.local_git import ForgeError, LocalForge, check_local_repository
from orchestrator.store import Store
from orchestrator.store.tables import Job, JobState, PullRequest
from tests.orchestrator.gitrepo import head, make_repo
from workflows.gitops import GitRepo, run_git


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    s.migrate()
    return s


def _job(store: Store, repo_path) -> int:
    register_repository(store, repo_path, name="lib")
    ticket = add_ticket(store, repo="lib", title="Add a greeting", labels=["shipyard"])
    job_id, created = create_job(store, ticket.id)
    assert created
    return job_id


@pytest.mark.postgres
def test_migrations_create_the_same_schema_on_postgres(postgres_url, tmp_path):
    store = Store(postgres_url)
    store.migrate()
    store.migrate()  # idempotent
    repo = make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    job_id = _job(store, repo)
    with store.session() as s:
        assert s.get(Job, job_id).state == JobState.QUEUED.value
    store.dispose()


def test_a_duplicate_trigger_does_not_create_a_second_job(store, tmp_path):
    repo = make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    job_id = _job(store, repo)
    with store.session() as s:
        ticket_id = s.get(Job, job_id).ticket_id
    again, created = create_job(store, ticket_id)
    assert (again, created) == (job_id, False)


def test_registering_a_directory_that_is_not_a_git_repository_says_so(store, tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(ForgeError, match="not a git repository"):
        register_repository(store, tmp_path / "plain")
    with pytest.raises(ForgeError, match="no such directory"):
        check_local_repository(tmp_path / "missing")


def test_an_empty_ticket_or_unknown_repository_is_refused_with_the_field(store, tmp_path):
    make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    register_repository(store, tmp_path / "lib", name="lib")
    with pytest.raises(BacklogError, match="ticket title: must not be empty"):
        add_ticket(store, repo="lib", title="   ")
    with pytest.raises(BacklogError, match="--repo nope: no such repository"):
        add_ticket(store, repo="nope", title="x")


def test_a_decision_for_a_job_not_waiting_is_refused(store, tmp_path):
    job_id = _job(store, make_repo(tmp_path / "lib", {"a.py": "x = 1\n"}))
    with pytest.raises(JobError, match="not waiting for a human decision"):
        record_decision(store, job_id, "approve")


def test_local_pull_request_is_idempotent_and_approve_merges_into_a_checked_out_base(store, tmp_path):
    repo = make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    job_id = _job(store, repo)
    forge = LocalForge(store, job_id, "main")
    git_dir, work = tmp_path / "job-git", tmp_path / "work"
    base = forge.clone(str(repo), "main", git_dir, work)
    assert base == head(repo)
    (work / "b.py").write_text("y = 2\n")
    sha = GitRepo(git_dir).commit_worktree(work, base, "add b")
    forge.push_branch(str(repo), git_dir, "shipyard/1-add-b", sha)
    forge.push_branch(str(repo), git_dir, "shipyard/1-add-b", sha)  # a re-run pushes again, harmlessly
    first = forge.open_pull_request(str(repo), branch="shipyard/1-add-b", base="main", title="Add b", body="one")
    second = forge.open_pull_request(str(repo), branch="shipyard/1-add-b", base="main", title="Add b", body="two")
    assert first.number == second.number
    with store.session() as s:
        assert len(s.scalars(select(PullRequest)).all()) == 1
    assert head(repo, "shipyard/1-add-b") == sha

    merged = forge.merge_pull_request(str(repo), first.number)
    assert head(repo, "main") == merged
    assert (repo / "b.py").read_text() == "y = 2\n"  # the user's checkout follows the merge
    assert forge.merge_pull_request(str(repo), first.number) == merged  # idempotent


def _open_pr(store: Store, repo) -> tuple[LocalForge, object, str, str]:
    """A job whose candidate (adding b.py) is pushed and has an open PR: (forge, pr, base, candidate)."""
    job_id = _job(store, repo)
    forge = LocalForge(store, job_id, "main")
    git_dir, work = repo.parent / "job-git", repo.parent / "work"
    base = forge.clone(str(repo), "main", git_dir, work)
    (work / "b.py").write_text("y = 2\n")
    sha = GitRepo(git_dir).commit_worktree(work, base, "add b")
    forge.push_branch(str(repo), git_dir, "shipyard/1-b", sha)
    pr = forge.open_pull_request(str(repo), branch="shipyard/1-b", base="main", title="b", body="")
    return forge, pr, base, sha


def test_merge_refuses_a_dirty_checkout_and_leaves_the_users_changes(store, tmp_path):
    repo = make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    forge, pr, base, _ = _open_pr(store, repo)
    (repo / "a.py").write_text("x = 'mine'\n")
    with pytest.raises(ForgeError, match="uncommitted changes"):
        forge.merge_pull_request(str(repo), pr.number)
    assert (repo / "a.py").read_text() == "x = 'mine'\n"
    assert head(repo, "main") == base


def test_merge_into_a_base_branch_that_is_not_checked_out(store, tmp_path):
    repo = make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    run_git(["checkout", "-q", "-b", "elsewhere"], cwd=repo)
    forge, pr, _, _ = _open_pr(store, repo)
    merged = forge.merge_pull_request(str(repo), pr.number)
    assert run_git(["show", f"{merged}:b.py"], cwd=repo) == "y = 2\n"
    forge.close_pull_request(str(repo), pr.number)  # closing a merged PR changes nothing
    with store.session() as s:
        assert s.scalars(select(PullRequest)).one().state == "merged"


def test_migrations_match_the_models(tmp_path):
    """A model change without its migration would break every existing deployment."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from orchestrator.store.tables import Base

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_cancelling_a_job_closes_the_pull_request_it_opened(tmp_path, scrub_env):
    from orchestrator.deployment import Shipyard
    from orchestrator.settings import Settings

    ship = Shipyard.load(Settings(data_dir=tmp_path / "data"))
    repo = make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    _forge, pr, _, _ = _open_pr(ship.store, repo)
    with ship.store.session() as s:
        job = s.scalars(select(Job)).one()
        job.state = JobState.AWAITING_REVIEW.value
        job_id = job.id
    ship.cancel(job_id)
    with ship.store.session() as s:
        assert s.get(Job, job_id).state == "cancelled"
        assert s.scalars(select(PullRequest)).one().state == "closed"


def test_a_branch_pushed_by_a_job_that_failed_before_its_pull_request_is_removed_and_a_pr_branch_kept(
    tmp_path, scrub_env
):
    """A worker killed between the push and the pull request, three times: the job fails, and the
    sweep that fails it removes the branch it pushed; a branch with a pull request stays."""
    from orchestrator.deployment import Shipyard
    from orchestrator.settings import Settings
    from orchestrator.worker.celery_app import MAX_RECOVERIES, make_celery, recover_stale_jobs
    from workflows.nodes.pull_request import branch_name

    ship = Shipyard.load(Settings(data_dir=tmp_path / "data"))
    repo = make_repo(tmp_path / "lib", {"a.py": "x = 1\n"})
    forge, _pr, _, sha = _open_pr(ship.store, repo)  # ticket 1: branch shipyard/1-b with its PR
    ticket = add_ticket(ship.store, repo="lib", title="Fix the greeting", labels=["shipyard"])
    job_id, _ = create_job(ship.store, ticket.id)
    branch = branch_name(ticket.id, ticket.title)
    with ship.store.session() as s:  # what open_pr left when its worker died after the push
        job = s.get(Job, job_id)
        job.state, job.branch, job.recoveries = JobState.RUNNING.value, branch, MAX_RECOVERIES
    run_git(["update-ref", f"refs/heads/{branch}", sha], cwd=repo)

    assert recover_stale_jobs(ship.settings, ship.store, make_celery(ship.settings)) == []
    with ship.store.session() as s:
        assert s.get(Job, job_id).state == "failed"
    left = run_git(["branch", "--list", "shipyard/*", "--format=%(refname:short)"], cwd=repo).split()
    assert left == ["shipyard/1-b"]
    forge.delete_branch(str(repo), branch)  # idempotent: absent is fine
