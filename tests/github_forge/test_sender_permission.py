"""With GitHub credentials configured, a labelled issue starts work only when the sender has
write permission or more, asked through the API (the emulator)."""

from __future__ import annotations

from tests.github_forge.conftest import TOKEN
from tests.web.test_webhook import deliver, jobs_of, labeled


def test_sender_without_write_is_refused_and_writer_is_queued(client, ship, github_repo, emulator, monkeypatch):
    monkeypatch.setenv("SHIPYARD_GITHUB_API_URL", f"{emulator.base}/api/v3")
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", TOKEN)
    emulator.permissions["alice"] = "triage"
    refused = deliver(client, labeled()).json()
    assert refused["action"] == "ignored"
    assert refused["reason"] == "alice has 'triage' permission on acme/widgets; triggering needs 'write' or more"
    assert jobs_of(ship) == []
    assert any(r["path"] == "/api/v3/repos/acme/widgets/collaborators/alice/permission" for r in emulator.requests)

    emulator.permissions["alice"] = "write"
    queued = deliver(client, labeled(), delivery="d-2").json()
    assert queued["action"] == "queued"


def test_permission_check_failure_is_named(client, ship, github_repo, emulator, monkeypatch):
    monkeypatch.setenv("SHIPYARD_GITHUB_API_URL", f"{emulator.base}/api/v3")
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", "revoked")
    reply = deliver(client, labeled()).json()
    assert (
        reply["action"] == "ignored"
        and "could not check alice's permission" in reply["reason"]
        and "401" in reply["reason"]
    )
    assert jobs_of(ship) == []


def test_a_priority_label_from_a_sender_without_write_does_not_move_the_job(
    client, ship, github_repo, emulator, monkeypatch
):
    from orchestrator.store.tables import Job
    from tests.github_forge.test_issue_changes import _priority_label

    monkeypatch.setenv("SHIPYARD_GITHUB_API_URL", f"{emulator.base}/api/v3")
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", TOKEN)
    emulator.permissions["alice"] = "write"
    job_id = deliver(client, labeled()).json()["job_id"]
    emulator.permissions["alice"] = "triage"  # may label issues on GitHub, may not trigger (or reorder) work
    urgent = _priority_label(7, "labeled", "urgent", "2026-01-05T10:01:00Z")
    refused = deliver(client, urgent, delivery="p-1").json()
    assert refused == {
        "action": "ignored",
        "reason": "alice has 'triage' permission on acme/widgets; triggering needs 'write' or more",
    }
    with ship.store.session() as s:
        assert s.get(Job, job_id).priority == 0
