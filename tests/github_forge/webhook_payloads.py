"""Webhook payloads built from the emulator's state, shaped after GitHub's (octokit/webhooks
``payload-examples/api.github.com``): the top-level keys and the fields Shipyard reads, as GitHub
sends them (``sender``, ``repository.full_name``, ``issue``/``pull_request``/``review``)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from orchestrator.emulators.github import shapes
from orchestrator.emulators.github.asgi import State, _user, pull_json, repo_json
from tests.web.store_rows import sign


def _envelope(st: State, repo: str, action: str, sender: str) -> dict:
    return {
        "action": action,
        "repository": repo_json(st, repo),
        "sender": _user(sender, st.base),
        "installation": {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="},
    }


def issue_labeled(st: State, repo: str, number: int, *, sender: str, association: str = "MEMBER") -> dict:
    issue = shapes.issue(st.base, repo, number, st.issues[(repo, number)]) | {"author_association": association}
    label = next(lbl for lbl in issue["labels"] if lbl["name"] == "shipyard")
    return _envelope(st, repo, "labeled", sender) | {"issue": issue, "label": label}


def _pull(st: State, repo: str, number: int) -> dict:
    return pull_json(st, repo, st.pulls[(repo, number)])


def review_submitted(st: State, repo: str, number: int, review_id: int, sender: str) -> dict:
    review = next(r for r in st.reviews if r["id"] == review_id)
    pr = _pull(st, repo, number)
    body = {
        "id": review_id,
        "node_id": shapes.node_id("PullRequestReview", review_id),
        "user": _user(sender, st.base),
        "body": review["body"],
        "state": review["state"].lower(),
        "commit_id": pr["head"]["sha"],
        "author_association": "MEMBER",
        "html_url": f"{pr['html_url']}#pullrequestreview-{review_id}",
        "pull_request_url": pr["url"],
        "submitted_at": shapes.STAMP,
        "_links": {
            "html": {"href": f"{pr['html_url']}#pullrequestreview-{review_id}"},
            "pull_request": {"href": pr["url"]},
        },
    }
    return _envelope(st, repo, "submitted", sender) | {"review": body, "pull_request": pr}


def pull_closed(st: State, repo: str, number: int, sender: str) -> dict:
    return _envelope(st, repo, "closed", sender) | {"number": number, "pull_request": _pull(st, repo, number)}


def pr_comment(st: State, repo: str, number: int, text: str, sender: str) -> dict:
    pr = _pull(st, repo, number)
    item = {"id": pr["id"], "title": pr["title"], "body": pr["body"], "state": pr["state"]}
    issue = shapes.issue(st.base, repo, number, item) | {
        "pull_request": {
            "url": pr["url"],
            "html_url": pr["html_url"],
            "diff_url": pr["diff_url"],
            "patch_url": pr["patch_url"],
            "merged_at": None,
        }
    }
    cid = 9_000_000 + number
    comment = {
        "id": cid,
        "node_id": shapes.node_id("IssueComment", cid),
        "url": f"{issue['url'].rsplit('/', 1)[0]}/comments/{cid}",
        "html_url": f"{pr['html_url']}#issuecomment-{cid}",
        "issue_url": issue["url"],
        "body": text,
        "user": _user(sender, st.base),
        "created_at": shapes.STAMP,
        "updated_at": shapes.STAMP,
        "author_association": "MEMBER",
        "reactions": shapes.reactions(f"{pr['url']}/comments/{cid}/reactions"),
        "performed_via_github_app": None,
    }
    return _envelope(st, repo, "created", sender) | {"issue": issue, "comment": comment}


def deliver(client: TestClient, event: str, payload: dict, delivery: str) -> dict:
    """``payload`` posted to the webhook as GitHub's Hookshot sends it (signed); returns the reply, accepted (202)."""
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
    }
    response = client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()
