"""Polling GitHub for labelled issues, with ETags: an unchanged list is a 304 and queues nothing;
whoever applied the label needs the trigger permission, as a webhook's sender does."""

from __future__ import annotations

from datetime import UTC

from orchestrator.forges.github import GitHubSettings
from orchestrator.intake.github_poller import GitHubPoller
from tests.github_forge.conftest import REPO, TOKEN, open_issue
from tests.web.test_webhook import jobs_of


def test_poll_queues_labelled_issues_once_and_uses_etags(ship, github_repo, emulator):
    emulator.permissions["alice"] = "write"
    open_issue(emulator, 3, "Fix add", "add subtracts", labels=["bug"])
    emulator.label_issue(REPO, 3, "shipyard", "alice")
    open_issue(emulator, 4, "Not for us")
    poller = GitHubPoller(ship, GitHubSettings(api_url=f"{emulator.base}/api/v3", token=TOKEN))
    first = poller.poll_once()
    assert len(first) == 1 and jobs_of(ship) == [(first[0], "queued", "3")]
    assert poller.poll_once() == []  # unchanged: 304
    statuses = [r for r in emulator.requests if r["path"] == f"/api/v3/repos/{REPO}/issues"]
    assert [r["status"] for r in statuses] == [200, 304] and REPO in poller.etags


def test_a_label_applied_without_write_access_is_ignored_until_a_writer_applies_it(ship, github_repo, emulator):
    emulator.permissions.update({"trina": "triage", "alice": "write"})
    open_issue(emulator, 5, "Delete the tests")
    emulator.label_issue(REPO, 5, "shipyard", "trina")
    poller = GitHubPoller(ship, GitHubSettings(api_url=f"{emulator.base}/api/v3", token=TOKEN))
    assert poller.poll_once() == [] and jobs_of(ship) == []
    assert poller.ignored == [f"{REPO}#5: trina has 'triage' permission on {REPO}; triggering needs 'write' or more"]
    emulator.issues[(REPO, 5)]["labels"] = []
    emulator.label_issue(REPO, 5, "shipyard", "alice")
    emulator.issues[(REPO, 5)]["title"] = "Delete the flaky test"  # the list changed: no 304
    (job_id,) = poller.poll_once()
    assert jobs_of(ship) == [(job_id, "queued", "5")]


def test_poll_command_once(emulator, tmp_path):
    import subprocess

    from tests.github_forge.test_init_and_factory import SHIPYARD, _env

    env = _env(emulator, tmp_path / "data")
    assert (
        subprocess.run([SHIPYARD, "init", "github:acme/widgets"], env=env, capture_output=True, timeout=120).returncode
        == 0
    )
    emulator.permissions["alice"] = "admin"
    open_issue(emulator, 9)
    emulator.label_issue(REPO, 9, "shipyard", "alice")
    open_issue(emulator, 10, "u", labels=["shipyard"])
    done = subprocess.run([SHIPYARD, "poll", "github", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "queued job 1" in done.stdout
    assert f"ignored {REPO}#10: no record of who applied the label 'shipyard'" in " ".join(done.stdout.split())


def test_a_cancelled_issue_is_polled_again_only_once_it_changed_after_the_cancellation(ship, github_repo, emulator):
    from datetime import datetime, timedelta

    emulator.permissions["alice"] = "write"
    open_issue(emulator, 5, "Fix add", updated_at="2026-01-01T00:00:00Z")
    emulator.label_issue(REPO, 5, "shipyard", "alice")
    settings = GitHubSettings(api_url=f"{emulator.base}/api/v3", token=TOKEN)
    (first,) = GitHubPoller(ship, settings).poll_once()
    ship.cancel(first)
    # A restarted poller (no ETags) sees the same labelled issue: still cancelled, nothing queued.
    assert GitHubPoller(ship, settings).poll_once() == []
    assert jobs_of(ship) == [(first, "cancelled", "5")]
    later = datetime.now(UTC) + timedelta(seconds=2)
    emulator.issues[(REPO, 5)]["updated_at"] = later.strftime("%Y-%m-%dT%H:%M:%SZ")  # labelled again
    (second,) = GitHubPoller(ship, settings).poll_once()
    assert jobs_of(ship) == [(first, "cancelled", "5"), (second, "queued", "5")]


def test_a_priority_label_changed_while_queued_moves_the_job_when_polled_and_not_once_it_runs(
    ship, github_repo, emulator
):
    from orchestrator.domain.scheduling import claim_next
    from orchestrator.store.tables import Job

    emulator.permissions["alice"] = "write"
    for n in (3, 4, 5):
        open_issue(emulator, n, f"Fix {n}")
        emulator.label_issue(REPO, n, "shipyard", "alice")
    poller = GitHubPoller(ship, GitHubSettings(api_url=f"{emulator.base}/api/v3", token=TOKEN))
    job3, job4, job5 = poller.poll_once()
    with ship.store.session() as s:
        s.get(Job, job3).state = "running"
    emulator.label_issue(REPO, 3, "priority:urgent", "alice")
    emulator.label_issue(REPO, 5, "priority:high", "alice")
    assert poller.poll_once() == []
    with ship.store.session() as s:
        assert [s.get(Job, j).priority for j in (job3, job4, job5)] == [0, 0, 1]  # the running job keeps its place
    assert claim_next(ship.store, "test:1:0", 60, None) == job5
    with ship.store.session() as s:
        s.get(Job, job5).lease_owner = None
    emulator.issues[(REPO, 5)]["labels"] = [
        lbl for lbl in emulator.issues[(REPO, 5)]["labels"] if lbl["name"] != "priority:high"
    ]
    poller.poll_once()
    assert claim_next(ship.store, "test:2:0", 60, None) == job4  # back to normal: the older job first
