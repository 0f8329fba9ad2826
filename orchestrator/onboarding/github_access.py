"""``shipyard doctor`` on a GitHub repository: do the credentials have the permissions jobs need?

A GitHub App's installation states its permissions (``GET /app/installations/{id}``) and
whether it covers the repository (``GET /repos/{owner}/{repo}/installation``). A fine-grained
token states nothing, so each write is probed without writing: GitHub checks a permission
before it validates the request body, so an empty body is answered 422 when the permission is
there and 403 (naming the permission in ``X-Accepted-GitHub-Permissions``) when it is not;
contents are probed with ``git push --dry-run``, which stops after the server's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests
from github import Auth, GithubException, GithubIntegration

from orchestrator.forges.github import GitHubForge, GitHubSettings, github_retry

NEEDED = {"contents": "write", "issues": "write", "pull_requests": "write", "checks": "write", "metadata": "read"}
"""Repository permissions Shipyard's jobs use (metadata: read is implied by any other)."""
USES = {
    "contents": "clone and push the job's branch, merge",
    "issues": "comment and label issues",
    "pull_requests": "open, update and merge pull requests",
    "checks": "publish the shipyard/gate check run",
    "metadata": "read the repository",
}
_PROBES = {"issues": "/issues", "pull_requests": "/pulls", "checks": "/check-runs"}
_LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}


@dataclass
class AccessFinding:
    ok: bool
    what: str
    fix: str = ""
    warning: bool = False


def _app_fix(missing: list[str]) -> str:
    wanted = ", ".join(
        f"{p.replace('_', ' ')}: {'Read and write' if NEEDED[p] == 'write' else 'Read-only'}" for p in missing
    )
    return (
        "in the App's settings (Developer settings → GitHub Apps → your App → Permissions & events), set repository "
        f"permissions {wanted}; then accept the new permissions on the installation (Settings → Integrations)"
    )


def app_findings(settings: GitHubSettings, full: str) -> list[AccessFinding]:
    """The installation's permissions against :data:`NEEDED`, and whether it covers ``full``."""
    auth = Auth.AppAuth(settings.app_id, settings.private_key.get_secret_value())
    app = GithubIntegration(auth=auth, base_url=settings.api_url, retry=github_retry(settings))
    owner, name = full.split("/")
    try:
        granted = app.get_app_installation(settings.installation_id).permissions or {}
        covering = app.get_repo_installation(owner, name).id
    except GithubException as exc:
        if exc.status == 404:
            return [
                AccessFinding(
                    False,
                    f"GitHub App {settings.app_id}: installation {settings.installation_id} not found, "
                    f"or the App is not installed on {full}",
                    f"install the App on {full} (App settings → Install App → choose the repository) and set "
                    "SHIPYARD_GITHUB_INSTALLATION_ID to that installation's id",
                )
            ]
        return [
            AccessFinding(
                False,
                f"GitHub App {settings.app_id}: {exc.status} {_msg(exc)}",
                "check SHIPYARD_GITHUB_APP_ID and SHIPYARD_GITHUB_PRIVATE_KEY",
            )
        ]
    out = []
    if covering != settings.installation_id:
        out.append(
            AccessFinding(
                False,
                f"{full} belongs to installation {covering}, "
                f"not SHIPYARD_GITHUB_INSTALLATION_ID={settings.installation_id}",
                f"set SHIPYARD_GITHUB_INSTALLATION_ID={covering}",
            )
        )
    missing = [p for p, level in NEEDED.items() if _LEVELS.get(granted.get(p, "none"), 0) < _LEVELS[level]]
    for perm in missing:
        have = granted.get(perm, "none")
        out.append(
            AccessFinding(False, f"GitHub App lacks {perm}: {NEEDED[perm]} (has {have}); needed to {USES[perm]}")
        )
    if missing:
        out[-1].fix = _app_fix(missing)
    else:
        out.append(AccessFinding(True, "GitHub App permissions: " + ", ".join(f"{p}: {NEEDED[p]}" for p in NEEDED)))
    return out


def token_findings(forge: GitHubForge, full: str, git_dir: Path, sha: str) -> list[AccessFinding]:
    """Each write permission probed without writing anything."""
    out = []
    refusal = forge.can_push(full, git_dir, sha)
    out.append(
        AccessFinding(
            refusal is None,
            "token may push (contents: write)"
            if refusal is None
            else f"token lacks contents: write, needed to {USES['contents']}: {refusal}",
            "" if refusal is None else "edit the token: Repository permissions → Contents: Read and write",
        )
    )
    requester = forge._gh.requester
    for perm, path in _PROBES.items():
        try:
            status, headers, _ = requester.requestJson("POST", f"/repos/{full}{path}", input={})
        except GithubException as exc:  # PyGithub's retry raises a 403 that is not a rate limit
            status, headers = exc.status, dict(exc.headers or {})
        except requests.RequestException as exc:
            out.append(
                AccessFinding(False, f"{perm}: GitHub did not answer the probe: {exc}", "check SHIPYARD_GITHUB_API_URL")
            )
            continue
        if status == 401:
            return out + [
                AccessFinding(
                    False, "GitHub refused the token (401 Bad credentials)", "give a valid SHIPYARD_GITHUB_TOKEN"
                )
            ]
        if status != 403:
            out.append(AccessFinding(True, f"token may write {perm}"))
            continue
        needs = {k.lower(): v for k, v in headers.items()}.get("x-accepted-github-permissions", f"{perm}=write")
        if perm == "checks":  # not offered to fine-grained tokens at all
            out.append(
                AccessFinding(
                    False,
                    f"token cannot publish check runs (GitHub answered 403, needs {needs}): the gate "
                    "report stays in the PR body, but branch protection cannot require shipyard/gate",
                    "use a GitHub App (SHIPYARD_GITHUB_APP_ID…) with Checks: Read and write",
                    warning=True,
                )
            )
            continue
        out.append(
            AccessFinding(
                False,
                f"token lacks {perm}: write (GitHub answered 403, needs {needs}); needed to {USES[perm]}",
                f"edit the token: Repository permissions → {perm.replace('_', ' ').capitalize()}: Read and write",
            )
        )
    return out


def _msg(exc: GithubException) -> str:
    return exc.data.get("message", "") if isinstance(exc.data, dict) else str(exc.data)
