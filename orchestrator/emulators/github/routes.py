"""The emulator's REST routes and git smart HTTP (``git http-backend``)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
from datetime import UTC, datetime, timedelta

import jwt
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from orchestrator.emulators.github import permissions, shapes
from orchestrator.emulators.github.asgi import State, _error, _user, pull_json, repo_json
from orchestrator.emulators.github.permissions import ALL_REPOSITORY
from orchestrator.forges.local_git import ForgeError, merge_branch
from workflows.gitops import run_git


def _etag(body) -> str:
    return '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'


def _json(request: Request, body, status: int = 200) -> Response:
    tag = _etag(body)
    if status == 200 and request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag})
    return JSONResponse(body, status, headers={"ETag": tag})


def _missing(data, *fields: str) -> list[str]:
    return [f for f in fields if not isinstance(data, dict) or not data.get(f)]


def _invalid(resource: str, missing: list[str]) -> JSONResponse:
    """GitHub's 422 for a body without required fields."""
    errors = [{"resource": resource, "code": "missing_field", "field": f} for f in missing]
    return JSONResponse(
        {"message": "Validation Failed", "errors": errors, "documentation_url": "https://docs.github.com/rest"}, 422
    )


class _NotFound(Exception):
    """Raised by a REST route for a missing issue or pull request: answered as GitHub's 404."""


def _actor(st: State, request: Request) -> str:
    """The login behind the request's token (the App's bot when the token names no user)."""
    return st.token_users.get(request.headers.get("authorization", "").split(" ")[-1], "shipyard[bot]")


def add_rest_routes(app: FastAPI, st: State) -> None:
    P = "/api/v3/repos/{owner}/{name}"
    app.add_exception_handler(_NotFound, lambda _request, _exc: _error(404, "Not Found"))

    def pull_of(full: str, number: int) -> dict:
        if (full, number) not in st.pulls:
            raise _NotFound
        return st.pulls[(full, number)]

    def issue_of(full: str, number: int) -> dict:
        if (full, number) not in st.issues:
            raise _NotFound
        return st.issues[(full, number)]

    @app.get(P)
    def get_repo(owner: str, name: str, request: Request):
        full = f"{owner}/{name}"
        if not st.repo_path(full).exists():
            return _error(404, "Not Found")
        return _json(request, repo_json(st, full))

    @app.get(P + "/branches")
    def list_branches(owner: str, name: str, request: Request):
        """Branches are ``refs/heads/*`` only: other refs (``refs/shipyard/jobs/<id>``) are not listed, as on GitHub."""
        full = f"{owner}/{name}"
        if not st.repo_path(full).exists():
            return _error(404, "Not Found")
        lines = run_git(
            ["for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads"], cwd=st.repo_path(full)
        )
        return _json(
            request, [shapes.branch(st.base, full, ref, sha) for ref, sha in (ln.split() for ln in lines.splitlines())]
        )

    @app.get(P + "/pulls")
    def list_pulls(owner: str, name: str, request: Request, state: str = "open", head: str = ""):
        full = f"{owner}/{name}"
        out = [
            pull_json(st, full, pr)
            for (r, _), pr in sorted(st.pulls.items())
            if r == full and (state == "all" or pr["state"] == state) and (not head or head == f"{owner}:{pr['head']}")
        ]
        return _json(request, out)

    @app.post(P + "/pulls")
    async def create_pull(owner: str, name: str, request: Request):
        full, data = f"{owner}/{name}", await request.json()
        missing = _missing(data, "title", "head", "base")
        if missing:
            return _invalid("PullRequest", missing)
        with st.lock:
            if any(r == full and p["head"] == data["head"] and p["state"] == "open" for (r, _), p in st.pulls.items()):
                return _error(422, f"A pull request already exists for {owner}:{data['head']}.")
            n = st.next_number(full)
            st.pulls[(full, n)] = {
                "id": next(st.ids),
                "number": n,
                "state": "open",
                "title": data["title"],
                "body": data.get("body", ""),
                "head": data["head"],
                "base": data["base"],
                "merged": False,
                "draft": bool(data.get("draft")),
            }
        return JSONResponse(pull_json(st, full, st.pulls[(full, n)]), 201)

    @app.get(P + "/pulls/{number}")
    def get_pull(owner: str, name: str, number: int, request: Request):
        full = f"{owner}/{name}"
        return _json(request, pull_json(st, full, pull_of(full, number)))

    @app.patch(P + "/pulls/{number}")
    async def edit_pull(owner: str, name: str, number: int, request: Request):
        pr = pull_of(f"{owner}/{name}", number)
        data = await request.json()
        pr.update({k: v for k, v in data.items() if k in ("title", "body", "state")})
        return JSONResponse(pull_json(st, f"{owner}/{name}", pr))

    @app.put(P + "/pulls/{number}/merge")
    def merge_pull(owner: str, name: str, number: int):
        full = f"{owner}/{name}"
        pr = pull_of(full, number)
        if pr["merged"] or pr["state"] != "open":
            return _error(405, "Pull Request is not mergeable")
        if pr.get("draft"):
            return _error(405, "Pull Request is still a draft")
        approvals = sum(1 for r in st.reviews if r["pr"] == (full, number) and r["state"] == "APPROVED")
        if approvals < st.required_approvals:
            return _error(
                405, f"At least {st.required_approvals} approving review is required by reviewers with write access."
            )
        try:
            sha = merge_branch(
                st.repo_path(full), pr["head"], pr["base"], f"Merge pull request #{number} from {owner}/{pr['head']}"
            )
        except ForgeError:
            return _error(405, "Pull Request is not mergeable")
        pr.update(merged=True, state="closed", merge_commit_sha=sha)
        return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    @app.post(P + "/pulls/{number}/reviews")
    async def create_review(owner: str, name: str, number: int, request: Request):
        data = await request.json()
        review = {
            "id": next(st.ids),
            "pr": (f"{owner}/{name}", number),
            "state": {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED"}.get(
                data.get("event"), "COMMENTED"
            ),
            "body": data.get("body", ""),
            "user": _user("reviewer", st.base),
        }
        st.reviews.append(review)
        full = f"{owner}/{name}"
        for c in data.get("comments") or []:
            cid = next(st.ids)
            st.review_comments.append(
                {
                    "id": cid,
                    "pull_request_review_id": review["id"],
                    "path": c["path"],
                    "line": c.get("line"),
                    "original_line": c.get("line"),
                    "side": c.get("side", "RIGHT"),
                    "body": c["body"],
                    "diff_hunk": "",
                    "commit_id": pull_json(st, full, st.pulls[(full, number)])["head"]["sha"],
                    "user": review["user"],
                    "url": f"{st.base}/api/v3/repos/{full}/pulls/comments/{cid}",
                    "html_url": f"{st.base}/{full}/pull/{number}#discussion_r{cid}",
                    "pr": (full, number),
                }
            )
        return {k: v for k, v in review.items() if k != "pr"}

    @app.get(P + "/pulls/{number}/reviews/{review_id}/comments")
    def review_comments(owner: str, name: str, number: int, review_id: int, request: Request):
        out = [
            {k: v for k, v in c.items() if k != "pr"}
            for c in st.review_comments
            if c["pr"] == (f"{owner}/{name}", number) and c["pull_request_review_id"] == review_id
        ]
        return _json(request, out)

    @app.get(P + "/issues")
    def list_issues(owner: str, name: str, request: Request, labels: str = "", state: str = "open"):
        full = f"{owner}/{name}"
        wanted = {x for x in labels.split(",") if x}
        out = [
            shapes.issue(st.base, full, n, i)
            for (r, n), i in sorted(st.issues.items())
            if r == full and i["state"] == state and wanted <= {lbl["name"] for lbl in i.get("labels", [])}
        ]
        return _json(request, out)

    @app.post(P + "/issues")
    async def create_issue(owner: str, name: str, request: Request):
        full, data = f"{owner}/{name}", await request.json()
        missing = _missing(data, "title")
        if missing:
            return _invalid("Issue", missing)
        with st.lock:
            n = st.next_number(full)
            st.issues[(full, n)] = {
                "id": next(st.ids),
                "title": data["title"],
                "body": data.get("body") or "",
                "state": "open",
                "labels": [{"id": next(st.ids), "name": x} for x in data.get("labels") or []],
            }
        return JSONResponse(shapes.issue(st.base, full, n, st.issues[(full, n)]), 201)

    @app.get(P + "/issues/{number}")
    def get_issue(owner: str, name: str, number: int, request: Request):
        full = f"{owner}/{name}"
        issue = st.issues.get((full, number)) or st.pulls.get((full, number))
        if issue is None:
            return _error(404, "Not Found")
        return _json(request, shapes.issue(st.base, full, number, issue))

    @app.post(P + "/issues/{number}/labels")
    async def add_labels(owner: str, name: str, number: int, request: Request):
        full, data = f"{owner}/{name}", await request.json()
        issue = issue_of(full, number)
        wanted = data.get("labels", data) if isinstance(data, dict) else data
        actor = _actor(st, request)
        for label in wanted:
            st.label_issue(full, number, label["name"] if isinstance(label, dict) else label, actor)
        return JSONResponse([shapes.label(st.base, full, lbl) for lbl in issue["labels"]])

    @app.get(P + "/issues/{number}/events")
    def issue_events(owner: str, name: str, number: int, request: Request):
        full = f"{owner}/{name}"
        issue_of(full, number)
        return _json(
            request, [shapes.issue_event(st.base, full, e) for e in st.issue_events if e["issue"] == (full, number)]
        )

    @app.patch(P + "/issues/{number}")
    async def edit_issue(owner: str, name: str, number: int, request: Request):
        full, data = f"{owner}/{name}", await request.json()
        issue = issue_of(full, number)
        issue.update({k: data[k] for k in ("title", "body", "state") if k in data})
        if "labels" in data:
            issue["labels"] = [
                {"id": next(st.ids), "name": x if isinstance(x, str) else x["name"]} for x in data["labels"]
            ]
        return JSONResponse(shapes.issue(st.base, full, number, issue))

    @app.delete(P + "/issues/{number}/labels/{label}")
    def remove_label(owner: str, name: str, number: int, label: str, request: Request):
        full = f"{owner}/{name}"
        issue = st.issues.get((full, number))
        if issue is None or label not in {lbl["name"] for lbl in issue.get("labels", [])}:
            return _error(404, "Label does not exist")
        issue["labels"] = [lbl for lbl in issue["labels"] if lbl["name"] != label]
        st.issue_events.append(
            {
                "id": next(st.ids),
                "issue": (full, number),
                "event": "unlabeled",
                "label": label,
                "actor": _actor(st, request),
            }
        )
        return JSONResponse([shapes.label(st.base, full, lbl) for lbl in issue["labels"]])

    @app.post(P + "/issues/{number}/comments")
    async def create_comment(owner: str, name: str, number: int, request: Request):
        full, data = f"{owner}/{name}", await request.json()
        cid = next(st.ids)
        c = {
            "id": cid,
            "body": data["body"],
            "user": _user("shipyard[bot]", st.base),
            "issue": (full, number),
            "url": f"{st.base}/api/v3/repos/{full}/issues/comments/{cid}",
            "html_url": f"{st.base}/{full}/issues/{number}#issuecomment-{cid}",
        }
        st.comments.append(c)
        return JSONResponse({k: v for k, v in c.items() if k != "issue"}, 201)

    @app.post(P + "/check-runs")
    async def create_check_run(owner: str, name: str, request: Request):
        full, data = f"{owner}/{name}", await request.json()
        missing = _missing(data, "name", "head_sha")
        if missing:
            return _invalid("CheckRun", missing)
        rid = next(st.ids)
        run = {
            "id": rid,
            "name": data["name"],
            "head_sha": data["head_sha"],
            "status": data.get("status", "queued"),
            "conclusion": data.get("conclusion"),
            "output": data.get("output", {}),
            "url": f"{st.base}/api/v3/repos/{full}/check-runs/{rid}",
            "html_url": f"{st.base}/{full}/runs/{rid}",
        }
        st.check_runs.append(run)
        return JSONResponse(run, 201)

    @app.get(P + "/collaborators/{user}/permission")
    def permission(owner: str, name: str, user: str, request: Request):
        perm = st.permissions.get(user, "none")
        return _json(request, {"permission": perm, "role_name": perm, "user": _user(user, st.base)})


def _app_refusal(st: State, request: Request, installation_id: int | None = None) -> JSONResponse | None:
    """GitHub's refusal of a request signed as the App: a JWT it cannot verify or of another App
    (401), or an installation other than the App's (404); None when the request may proceed."""
    bearer = request.headers.get("authorization", "").split(" ")[-1]
    try:
        claims = jwt.decode(bearer, st.app_public_key, algorithms=["RS256"])
    except jwt.PyJWTError as exc:
        return _error(401, f"A JSON web token could not be decoded: {exc}")
    if str(claims.get("iss")) != str(st.app_id):
        return _error(401, "Integration not found")
    if installation_id is not None and installation_id != st.installation_id:
        return _error(404, "Not Found")
    return None


def add_app_routes(app: FastAPI, st: State) -> None:
    @app.post("/api/v3/app/installations/{installation_id}/access_tokens")
    def access_token(installation_id: int, request: Request):
        if refusal := _app_refusal(st, request, installation_id):
            return refusal
        token = "ghs_" + secrets.token_hex(18)
        st.tokens.add(token)
        st.issued_tokens.append(token)
        st.token_permissions[token] = dict(st.app_permissions)
        expires = datetime.now(UTC) + timedelta(seconds=st.token_ttl_s)
        st.token_expiry[token] = expires.timestamp()
        selection = "all" if st.installed_repos is None else "selected"
        return JSONResponse(
            {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": dict(st.app_permissions),
                "repository_selection": selection,
            },
            201,
        )

    @app.get("/api/v3/app/installations/{installation_id}")
    def installation(installation_id: int, request: Request):
        if refusal := _app_refusal(st, request, installation_id):
            return refusal
        return shapes.installation(
            st.base, st.installation_id, st.app_id, st.app_permissions, st.installed_repos is None
        )

    @app.get("/api/v3/repos/{owner}/{name}/installation")
    def repo_installation(owner: str, name: str, request: Request):
        if refusal := _app_refusal(st, request):
            return refusal
        full = f"{owner}/{name}"
        if not st.repo_path(full).exists() or (st.installed_repos is not None and full not in st.installed_repos):
            return _error(404, "Not Found")
        return shapes.installation(
            st.base, st.installation_id, st.app_id, st.app_permissions, st.installed_repos is None
        )


def add_graphql_routes(app: FastAPI, st: State) -> None:
    """The one GraphQL mutation Shipyard uses (REST cannot take a PR out of draft), at GHES's ``/api/graphql``."""

    @app.post("/api/graphql")
    async def graphql(request: Request):
        token = request.headers.get("authorization", "").split(" ")[-1]
        if not st.token_valid(token):
            return _error(401, "Bad credentials")
        data = await request.json()
        query, node = data.get("query", ""), ((data.get("variables") or {}).get("input") or {}).get("pullRequestId")
        if "markPullRequestReadyForReview" not in query:
            return JSONResponse({"errors": [{"message": "the emulator answers only markPullRequestReadyForReview"}]})
        if not permissions.allows(st.token_permissions.get(token, ALL_REPOSITORY), [{"pull_requests": "write"}]):
            return JSONResponse(
                {
                    "data": {"markPullRequestReadyForReview": None},
                    "errors": [{"type": "FORBIDDEN", "message": permissions.refusal(token)}],
                }
            )
        pr = next((p for p in st.pulls.values() if shapes.node_id("PullRequest", p["id"]) == node), None)
        if pr is None:
            return JSONResponse(
                {
                    "errors": [
                        {"type": "NOT_FOUND", "message": f"Could not resolve to a node with the global id of '{node}'"}
                    ]
                }
            )
        pr["draft"] = False
        return {
            "data": {"markPullRequestReadyForReview": {"clientMutationId": None, "pullRequest": {"isDraft": False}}}
        }


def add_git_routes(app: FastAPI, st: State) -> None:
    @app.api_route("/{owner}/{name}.git/{rest:path}", methods=["GET", "POST"])
    async def git_http(owner: str, name: str, rest: str, request: Request):
        auth = request.headers.get("authorization", "")
        token = ""
        if auth.lower().startswith("basic "):
            token = base64.b64decode(auth[6:]).decode(errors="replace").partition(":")[2]
        if not st.token_valid(token):
            return Response("Authentication failed", 401, headers={"WWW-Authenticate": 'Basic realm="GitHub"'})
        service = request.query_params.get("service") or rest.rsplit("/", 1)[-1]
        if not permissions.allows(st.token_permissions.get(token, ALL_REPOSITORY), permissions.git_sets(service)):
            return Response(f"Permission to {owner}/{name}.git denied to x-access-token.", 403)
        body = await request.body()
        env = {
            "GIT_PROJECT_ROOT": str(st.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{owner}/{name}.git/{rest}",
            "QUERY_STRING": request.url.query,
            "REQUEST_METHOD": request.method,
            "REMOTE_USER": "x-access-token",
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GIT_CONFIG_NOSYSTEM": "1",
            "PATH": "/usr/bin:/bin",
        }
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers[key] = value
        return Response(payload, status, headers=headers)
