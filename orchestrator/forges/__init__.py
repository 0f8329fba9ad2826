"""Forges: where branches and pull requests live. One module per backend."""

from __future__ import annotations


def make_forge(settings, repo_row, job_id: int, *, store):
    """The forge of ``repo_row`` (a store ``Repository``) for job ``job_id``.

    ``settings`` is the deployment's ``Settings``; GitHub credentials come from ``SHIPYARD_GITHUB_*``."""
    if repo_row.forge == "github":
        from orchestrator.forges.github import GitHubForge, GitHubSettings

        return GitHubForge(GitHubSettings())
    from orchestrator.forges.local import LocalForge

    return LocalForge(store, job_id, repo_row.base_branch)
