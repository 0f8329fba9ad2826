"""The forge protocol: the workflow's ``Forge`` plus what a hosted forge adds (comments, checks)."""

from __future__ import annotations

from typing import Literal, Protocol

from workflows.ports import Forge, PullRequestInfo

__all__ = ["Forge", "PullRequestInfo", "HostedForge", "CHECK_NAME"]

CHECK_NAME = "shipyard/gate"
"""Name of the check run a hosted forge shows on the pull request's head commit."""


class HostedForge(Forge, Protocol):
    """A forge with issue comments and check runs (GitHub)."""

    def comment(self, repo: str, number: int, body: str) -> None:
        """Post ``body`` on issue or pull request ``number``."""
        ...

    def report_check(
        self, repo: str, sha: str, *, conclusion: Literal["success", "failure", "neutral"], title: str, summary: str,
        uncovered: dict[str, list[str]] | None = None,
    ) -> int:
        """Create the ``shipyard/gate`` check run on ``sha`` (annotating ``uncovered`` line ranges); returns its id."""
        ...
