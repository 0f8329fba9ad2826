"""Webhook payloads built from the emulator's state, shaped after GitHub's (octokit/webhooks
``payload-examples/api.github.com``): the top-level keys and the fields Shipyard reads, as GitHub
sends them (``sender``, ``repository.full_name``, ``issue``/``pull_request``/``review``)."""

from __future__ import annotations

from orchestrator.github_emulator.app import State, _user, pull_json, repo_json


def _envelope(st: State, repo: str, action: str, sender: str) -> dict:
    return {"action": action, "repository": repo_json(st, repo), "sender": _user(sender, st.base),
            "installation": {"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}}


def issue_labeled(st: State, repo: str, number: int, *, sender: str, association: str = "MEMBER") -> dict:
    issue = st.issues[(repo, number)]
    api = f"{st.base}/api/v3/repos/{repo}"
    body = {"id": issue["id"], "number": number, "title": issue["title"], "body": issue["body"], "state": issue["state"],
            "labels": issue.get("labels", []), "author_association": association, "user": _user("octocat", st.base),
            "url": f"{api}/issues/{number}", "html_url": f"{st.base}/{repo}/issues/{number}", "comments": 0,
            "locked": False, "assignee": None, "assignees": [], "milestone": None}
    label = next(lbl for lbl in issue.get("labels", []) if lbl["name"] == "shipyard")
    return _envelope(st, repo, "labeled", sender) | {"issue": body, "label": label}


def _pull(st: State, repo: str, number: int) -> dict:
    pr = st.pulls[(repo, number)]
    out = pull_json(st, repo, pr)
    merged_by = _user(pr["merged_by"], st.base) if pr.get("merged_by") else None
    return out | {"merged_by": merged_by, "draft": False, "locked": False, "author_association": "NONE"}


def review_submitted(st: State, repo: str, number: int, review_id: int, sender: str) -> dict:
    review = next(r for r in st.reviews if r["id"] == review_id)
    api = f"{st.base}/api/v3/repos/{repo}"
    body = {"id": review_id, "user": _user(sender, st.base), "body": review["body"], "state": review["state"].lower(),
            "commit_id": _pull(st, repo, number)["head"]["sha"], "author_association": "MEMBER",
            "html_url": f"{st.base}/{repo}/pull/{number}#pullrequestreview-{review_id}", "pull_request_url": f"{api}/pulls/{number}",
            "submitted_at": "2026-11-29T03:40:00Z"}
    return _envelope(st, repo, "submitted", sender) | {"review": body, "pull_request": _pull(st, repo, number)}


def pull_closed(st: State, repo: str, number: int, sender: str) -> dict:
    return _envelope(st, repo, "closed", sender) | {"number": number, "pull_request": _pull(st, repo, number)}


def pr_comment(st: State, repo: str, number: int, text: str, sender: str) -> dict:
    api = f"{st.base}/api/v3/repos/{repo}"
    issue = {"number": number, "title": st.pulls[(repo, number)]["title"], "state": "open",
             "pull_request": {"url": f"{api}/pulls/{number}", "html_url": f"{st.base}/{repo}/pull/{number}"}}
    comment = {"id": 1, "body": text, "user": _user(sender, st.base), "author_association": "MEMBER"}
    return _envelope(st, repo, "created", sender) | {"issue": issue, "comment": comment}
