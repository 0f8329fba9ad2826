"""``shipyard init github:owner/name``: register a GitHub repository after proving the
credentials reach it (the API answers and the default branch is read from it)."""

from __future__ import annotations

import re

from sqlalchemy import select

from orchestrator.forges.local_git import ForgeError
from orchestrator.store import Store
from orchestrator.store.tables import Repository

_FULL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def register_github_repository(
    store: Store, location: str, *, name: str | None = None, base_branch: str | None = None
) -> str:
    """Register ``github:owner/name``; returns a one-line summary. Raises ``ForgeError`` saying why not."""
    from orchestrator.forges.github import GitHubForge, GitHubSettings

    full = location.removeprefix("github:").strip().removesuffix(".git")
    if not _FULL_NAME.match(full):
        raise ForgeError(f"{location!r}: expected github:OWNER/NAME")
    forge = GitHubForge(GitHubSettings())
    branch = base_branch or forge.default_branch(full)
    short = name or full.split("/")[1]
    with store.session() as s:
        row = s.scalar(select(Repository).where(Repository.url == full, Repository.forge == "github"))
        if row is None:
            if s.scalar(select(Repository).where(Repository.name == short)) is not None:
                raise ForgeError(f"a repository named {short!r} is already registered; pass --name")
            s.add(Repository(name=short, forge="github", url=full, base_branch=branch))
        else:
            row.base_branch = branch
    return f"registered GitHub repository {full} as {short!r} (pull requests target {branch})"
