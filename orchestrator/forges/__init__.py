"""Forges: where branches and pull requests live. One module per backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.forges.local_git import ForgeError
from workflows.ports import Forge

if TYPE_CHECKING:
    from orchestrator.forges.github import GitHubForge
    from orchestrator.settings import Settings
    from orchestrator.store import Store


class ForgeConfigError(ForgeError):
    """The forge cannot be reached as configured (missing or invalid ``SHIPYARD_GITHUB_*``): the job
    is blocked with the reason, as for any other bad configuration."""


def make_forge(settings: Settings, repo_row: Any, job_id: int, *, store: Store) -> Forge:
    """The forge of ``repo_row`` (a store ``Repository``) for job ``job_id``, behind the egress redactor.

    ``settings`` is the deployment's ``Settings``; GitHub credentials come from ``SHIPYARD_GITHUB_*``."""
    from orchestrator.forges.redacting import RedactingForge
    from orchestrator.redaction import egress_redactor

    return RedactingForge(_backend_forge(settings, repo_row, job_id, store=store), egress_redactor(settings))


def _backend_forge(settings: Settings, repo_row: Any, job_id: int, *, store: Store) -> Forge:
    if repo_row.forge == "github":
        return github_forge()
    from orchestrator.forges.local_git import LocalForge
    from orchestrator.store.paths import resolved_path

    return LocalForge(store, job_id, repo_row.base_branch, location=resolved_path(settings.data_dir, repo_row.url))


def github_forge() -> GitHubForge:
    """The deployment's GitHub forge from ``SHIPYARD_GITHUB_*``; ``ForgeConfigError`` names a missing or bad setting."""
    from pydantic import ValidationError

    from orchestrator.forges.github import GitHubForge, GitHubSettings

    try:
        return GitHubForge(GitHubSettings())
    except ValidationError as exc:
        problems = "; ".join(
            f"SHIPYARD_GITHUB_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ForgeConfigError(f"GitHub settings: {problems}") from None
    except ForgeError as exc:
        raise ForgeConfigError(str(exc)) from None
