"""Human decisions through the forms and the JSON API; cancel and retry."""

from __future__ import annotations

import re

from sqlalchemy import select

from orchestrator.store.tables import Job, Review


def csrf_of(client, job_id: int) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(f"/jobs/{job_id}").text).group(1)


def reviews(ship, job_id: int) -> list[Review]:
    with ship.store.session() as s:
        return list(s.scalars(select(Review).where(Review.job_id == job_id)))


def queued_messages(ship) -> int:
    folder = ship.settings.queue_dir / "messages"
    return sum(1 for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0


def test_approve_from_the_form_records_the_decision_and_requeues(client, ship, add_job):
    job_id = add_job(state="awaiting_review", pr_state="open")
    before = queued_messages(ship)

    response = client.post(
        f"/jobs/{job_id}/decision", data={"csrf": csrf_of(client, job_id), "decision": "approve", "comment": "ship it"}
    )

    assert response.status_code == 200 and response.url.path == f"/jobs/{job_id}"  # followed the redirect
    assert "Approved: decision on the pull request recorded" in response.text
    [review] = reviews(ship, job_id)
    assert (review.gate, review.decision, review.comment, review.reviewer) == (
        "pr",
        "approve",
        "ship it",
        "admin (API token)",
    )
    assert queued_messages(ship) == before + 1  # the workflow's resume is on the queue
    assert "Approved" not in client.get(f"/jobs/{job_id}").text  # the flash is shown once


def test_request_changes_without_comment_is_refused_with_the_reason(client, ship, add_job):
    job_id = add_job(state="awaiting_plan_approval")
    response = client.post(
        f"/jobs/{job_id}/decision", data={"csrf": csrf_of(client, job_id), "decision": "request_changes"}
    )
    assert response.status_code == 200
    assert "Decision not recorded: request-changes needs a comment" in response.text
    assert reviews(ship, job_id) == []


def test_budget_extension_needs_a_positive_amount(client, ship, add_job):
    job_id = add_job(state="awaiting_budget", reason="job budget $2.00 spent")
    token = csrf_of(client, job_id)
    bad = client.post(f"/jobs/{job_id}/decision", data={"csrf": token, "decision": "approve", "extra_usd": "lots"})
    assert "extra USD: must be a number, got &#39;lots&#39;" in bad.text
    zero = client.post(f"/jobs/{job_id}/decision", data={"csrf": token, "decision": "approve", "extra_usd": ""})
    assert "needs --extra-usd greater than 0" in zero.text
    ok = client.post(f"/jobs/{job_id}/decision", data={"csrf": token, "decision": "approve", "extra_usd": "1.50"})
    assert "decision on the budget extension recorded" in ok.text
    [review] = reviews(ship, job_id)
    assert review.extra_usd == 1.5


def test_forms_without_the_job_token_are_refused(client, ship, add_job):
    job_id = add_job(state="awaiting_review")
    other = add_job(state="awaiting_review")
    for data in ({"decision": "approve"}, {"decision": "approve", "csrf": csrf_of(client, other)}):
        response = client.post(f"/jobs/{job_id}/decision", data=data)
        assert response.status_code == 403 and "reload the page" in response.text
    assert client.post(f"/jobs/{job_id}/cancel", data={}).status_code == 403
    assert reviews(ship, job_id) == []


def test_api_decision_at_the_wrong_state_is_409_with_the_reason(client, ship, add_job):
    job_id = add_job(state="queued")
    response = client.post(f"/api/jobs/{job_id}/decision", json={"decision": "approve"})
    assert response.status_code == 409
    assert response.json() == {"error": f"job {job_id} is queued, not waiting for a human decision"}


def test_api_decision_then_a_second_one_conflicts(client, ship, add_job):
    job_id = add_job(state="awaiting_review")
    first = client.post(
        f"/api/jobs/{job_id}/decision", json={"decision": "request-changes", "comment": "add a test for None"}
    )
    assert first.status_code == 200 and first.json()["gate"] == "pr"
    second = client.post(f"/api/jobs/{job_id}/decision", json={"decision": "approve"})
    assert second.status_code == 409 and "already has a decision waiting" in second.json()["error"]
    [review] = reviews(ship, job_id)
    assert review.decision == "request_changes"


def test_api_decision_bad_requests(client, add_job):
    job_id = add_job(state="awaiting_review")
    assert client.post("/api/jobs/999/decision", json={"decision": "approve"}).status_code == 404
    form_post = client.post(f"/api/jobs/{job_id}/decision", data={"decision": "approve"})
    assert form_post.status_code == 400 and "application/json" in form_post.json()["error"]
    unknown = client.post(f"/api/jobs/{job_id}/decision", json={"decision": "merge"})
    assert (  # the request is malformed, whatever the job's state: 422, not a state conflict
        unknown.status_code == 422
        and "decision must be one of approve, reject, request_changes" in unknown.json()["error"]
    )


def test_cancel_then_retry_from_the_job_page(client, ship, add_job):
    job_id = add_job(state="running")
    cancelled = client.post(f"/jobs/{job_id}/cancel", data={"csrf": csrf_of(client, job_id)})
    assert f"Job {job_id} cancelled." in cancelled.text
    with ship.store.session() as s:
        assert s.get(Job, job_id).state == "cancelled"
    again = client.post(f"/jobs/{job_id}/cancel", data={"csrf": csrf_of(client, job_id)})
    assert f"Not cancelled: job {job_id} is already cancelled" in again.text

    retried = client.post(f"/jobs/{job_id}/retry", data={"csrf": csrf_of(client, job_id)})
    new_id = int(retried.url.path.rsplit("/", 1)[1])
    assert new_id != job_id and f"Job {new_id} queued to retry job {job_id}." in retried.text
    assert client.get(f"/api/jobs/{new_id}").json()["state"] == "queued"


def test_api_jobs_and_detail(client, add_job):
    job_id = add_job(state="merged", usage=[("small", 0.1)])
    add_job(state="running")
    assert [j["id"] for j in client.get("/api/jobs?state=merged").json()] == [job_id]
    assert client.get("/api/jobs?state=nope").status_code == 400
    detail = client.get(f"/api/jobs/{job_id}").json()
    assert detail["cost_by_model"][0]["model"] == "small"
    assert client.get("/api/jobs/999").status_code == 404
    assert client.get(f"/api/jobs/{job_id}/status").json()["state"] == "merged"
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "live_workers": 0}


def test_a_job_waiting_for_its_provider_offers_resume_now_and_stop(client, ship, add_job):
    reason = "triage: provider openai (model small-1 at http://gpu-box:8000/v1) did not answer after 4 tries"
    job_id = add_job(state="awaiting_provider", reason=reason)
    page = client.get(f"/jobs/{job_id}").text
    assert "Your decision: provider outage" in page and reason in page
    assert 'id="approve">Resume now</button>' in page and ">Stop</button>" in page and "request-changes" not in page
    response = client.post(f"/jobs/{job_id}/decision", data={"csrf": csrf_of(client, job_id), "decision": "approve"})
    assert "decision on the provider outage recorded" in response.text
    [review] = reviews(ship, job_id)
    assert (review.gate, review.decision) == ("provider", "approve")
