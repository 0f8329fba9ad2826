"""JSON shapes of the emulator's objects, field for field as api.github.com returns them
(checked against githubkit's models of GitHub's OpenAPI description in the tests)."""

from __future__ import annotations

import base64
import hashlib

STAMP = "2026-01-01T00:00:00Z"
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
    "hooks_url": "/hooks",
}


def number_id(text: str, digits: int = 7) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:digits], 16)


def node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


def user(login: str, base: str) -> dict:
    api = f"{base}/api/v3/users/{login}"
    uid = number_id(login, 6)
    return {
        "login": login,
        "id": uid,
        "node_id": node_id("User", uid),
        "avatar_url": f"{base}/avatars/u/{uid}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{base}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "site_admin": False,
    }


def repository(base: str, full: str, default_branch: str = "main") -> dict:
    owner, name = full.split("/")
    api = f"{base}/api/v3/repos/{full}"
    rid = number_id(full)
    host = base.split("://", 1)[-1]
    out = {
        "id": rid,
        "node_id": node_id("Repository", rid),
        "name": name,
        "full_name": full,
        "owner": user(owner, base),
        "private": True,
        "html_url": f"{base}/{full}",
        "description": None,
        "fork": False,
        "url": api,
        "git_url": f"git://{host}/{full}.git",
        "ssh_url": f"git@{host}:{full}.git",
        "clone_url": f"{base}/{full}.git",
        "svn_url": f"{base}/{full}",
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "license": None,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 1,
        "default_branch": default_branch,
        "open_issues_count": 0,
        "open_issues": 0,
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private",
        "pushed_at": STAMP,
        "created_at": STAMP,
        "updated_at": STAMP,
        "subscribers_count": 1,
        "network_count": 0,
        "topics": [],
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    }
    return out | {key: api + suffix for key, suffix in _REPO_URLS.items()}


def branch(base: str, full: str, name: str, sha: str) -> dict:
    """One entry of ``GET /repos/{owner}/{repo}/branches``."""
    return {
        "name": name,
        "commit": {"sha": sha, "url": f"{base}/api/v3/repos/{full}/commits/{sha}"},
        "protected": False,
    }


def _ref(base: str, full: str, ref: str, sha: str | None) -> dict:
    owner = full.split("/")[0]
    return {
        "label": f"{owner}:{ref}",
        "ref": ref,
        "sha": sha or "0" * 40,
        "user": user(owner, base),
        "repo": repository(base, full),
    }


def pull(base: str, full: str, pr: dict, head_sha: str | None, base_sha: str | None) -> dict:
    api = f"{base}/api/v3/repos/{full}"
    n, html = pr["number"], f"{base}/{full}/pull/{pr['number']}"
    links = {
        "self": f"{api}/pulls/{n}",
        "html": html,
        "issue": f"{api}/issues/{n}",
        "comments": f"{api}/issues/{n}/comments",
        "review_comments": f"{api}/pulls/{n}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{n}/commits",
        "statuses": f"{api}/statuses/{head_sha or '0' * 40}",
    }
    closed = STAMP if pr["state"] == "closed" else None
    return {
        "url": links["self"],
        "id": pr["id"],
        "node_id": node_id("PullRequest", pr["id"]),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": n,
        "state": pr["state"],
        "locked": False,
        "title": pr["title"],
        "user": user("shipyard[bot]", base),
        "body": pr["body"],
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": STAMP,
        "updated_at": STAMP,
        "closed_at": closed,
        "merged_at": closed if pr["merged"] else None,
        "merge_commit_sha": pr.get("merge_commit_sha"),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _ref(base, full, pr["head"], head_sha),
        "base": _ref(base, full, pr["base"], base_sha),
        "_links": {k: {"href": v} for k, v in links.items()},
        "author_association": "NONE",
        "auto_merge": None,
        "draft": pr.get("draft", False),
        "merged": pr["merged"],
        "mergeable": True,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": user(pr["merged_by"], base) if pr.get("merged_by") else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 1,
        "deletions": 1,
        "changed_files": 1,
    }


def issue(base: str, full: str, number: int, item: dict, author: str = "octocat") -> dict:
    api = f"{base}/api/v3/repos/{full}"
    return {
        "id": item["id"],
        "node_id": node_id("Issue", item["id"]),
        "url": f"{api}/issues/{number}",
        "repository_url": api,
        "labels_url": f"{api}/issues/{number}/labels{{/name}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "events_url": f"{api}/issues/{number}/events",
        "html_url": f"{base}/{full}/issues/{number}",
        "number": number,
        "state": item["state"],
        "title": item["title"],
        "body": item["body"],
        "user": user(author, base),
        "labels": [label(base, full, lbl) for lbl in item.get("labels", [])],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": 0,
        "closed_at": STAMP if item["state"] == "closed" else None,
        "created_at": STAMP,
        "updated_at": item.get("updated_at", STAMP),
        "author_association": "MEMBER",
        "reactions": reactions(f"{api}/issues/{number}/reactions"),
    }


def reactions(url: str) -> dict:
    return {
        "url": url,
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


def label(base: str, full: str, lbl: dict) -> dict:
    lid = lbl.get("id") or number_id(lbl["name"], 6)
    return {
        "id": lid,
        "node_id": node_id("Label", lid),
        "url": f"{base}/api/v3/repos/{full}/labels/{lbl['name']}",
        "name": lbl["name"],
        "color": lbl.get("color", "ededed"),
        "default": False,
        "description": None,
        "archived_at": None,
        "archived_by": None,
    }


def installation(base: str, iid: int, app_id: int, permissions: dict, all_repos: bool, owner: str = "acme") -> dict:
    """A GitHub App installation (``GET /app/installations/{id}``)."""
    account = user(owner, base)
    return {
        "id": iid,
        "account": account,
        "repository_selection": "all" if all_repos else "selected",
        "access_tokens_url": f"{base}/api/v3/app/installations/{iid}/access_tokens",
        "repositories_url": f"{base}/api/v3/installation/repositories",
        "html_url": f"{base}/settings/installations/{iid}",
        "app_id": app_id,
        "app_slug": "shipyard",
        "target_id": account["id"],
        "target_type": "Organization",
        "permissions": dict(permissions),
        "events": ["issues", "issue_comment", "pull_request", "pull_request_review"],
        "created_at": STAMP,
        "updated_at": STAMP,
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def issue_event(base: str, full: str, ev: dict) -> dict:
    """An issue event (``labeled``/``unlabeled``) as ``GET /repos/{owner}/{repo}/issues/{n}/events`` lists it."""
    api = f"{base}/api/v3/repos/{full}"
    return {
        "id": ev["id"],
        "node_id": node_id("LabeledEvent", ev["id"]),
        "url": f"{api}/issues/events/{ev['id']}",
        "actor": user(ev["actor"], base),
        "event": ev["event"],
        "commit_id": None,
        "commit_url": None,
        "created_at": STAMP,
        "label": {"name": ev["label"], "color": "ededed"},
        "performed_via_github_app": None,
    }
