"""Who may trigger work from GitHub: the webhook sender's permission, asked through the API.

Applies when GitHub credentials are configured (``SHIPYARD_GITHUB_*``); the least permission
is ``SHIPYARD_GITHUB_TRIGGER_PERMISSION`` (default ``write``). Without credentials only the
webhook's ``author_association`` check applies.
"""

from __future__ import annotations

from orchestrator.forges.local_git import ForgeError

RANKS = ("none", "read", "triage", "write", "maintain", "admin")


def sender_problem(payload: dict) -> str | None:
    """Why the sender of ``payload`` may not trigger work, or None when they may."""
    from orchestrator.forges.github import GitHubForge, GitHubSettings

    settings = GitHubSettings()
    if not settings.configured:
        return None
    repo = (payload.get("repository") or {}).get("full_name") or ""
    sender = (payload.get("sender") or {}).get("login") or ""
    if not repo or not sender:
        return "payload has no repository full_name or sender login"
    return permission_problem(GitHubForge(settings), settings, repo, sender)


def permission_problem(forge, settings, repo: str, login: str) -> str | None:
    """Why ``login`` may not trigger work on ``repo`` (permission asked through ``forge``), or None."""
    try:
        permission = forge.permission(repo, login)
    except ForgeError as exc:
        return f"could not check {login}'s permission: {exc}"
    rank = RANKS.index(permission) if permission in RANKS else 0
    if rank < RANKS.index(settings.trigger_permission):
        return (
            f"{login} has {permission!r} permission on {repo}; triggering needs {settings.trigger_permission!r} or more"
        )
    return None
