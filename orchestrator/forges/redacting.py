"""The forge's egress seam: every text a forge publishes passes the deployment's redactor.

Wraps any forge (local, GitHub): pull-request titles and bodies, comments, questions to the
author and check-run text are redacted before the forge sees them, and so are the branch names
pushed, opened and deleted (a ref name is as public as a title); everything else passes through.
File names and symlink targets are scrubbed where commits are made (``GitRepo.commit_worktree``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from workflows.ports import CheckRun, Forge, PullRequestInfo, Redaction


class RedactingForge:
    """``forge`` with every published text redacted; a :class:`~workflows.ports.Forge` itself."""

    def __init__(self, forge: Forge, redactor: Redaction):
        self._forge = forge
        self._redact = redactor.text
        self._ref = redactor.name
        self.name = forge.name
        self.drafts = forge.drafts

    @property
    def wrapped(self) -> Forge:
        return self._forge

    def clone(self, repo: str, base_branch: str, dest_git_dir: Path, worktree: Path) -> str:
        return self._forge.clone(repo, base_branch, dest_git_dir, worktree)

    def push_branch(self, repo: str, git_dir: Path, branch: str, sha: str) -> None:
        self._forge.push_branch(repo, git_dir, self._ref(branch), sha)

    def push_job_ref(self, repo: str, git_dir: Path, job_id: int, sha: str) -> None:
        self._forge.push_job_ref(repo, git_dir, job_id, sha)

    def fetch_job_ref(self, repo: str, git_dir: Path, job_id: int) -> str | None:
        return self._forge.fetch_job_ref(repo, git_dir, job_id)

    def delete_job_ref(self, repo: str, job_id: int) -> None:
        self._forge.delete_job_ref(repo, job_id)

    def delete_branch(self, repo: str, branch: str) -> None:
        self._forge.delete_branch(repo, self._ref(branch))

    def job_ref_ids(self, repo: str) -> list[int]:
        return self._forge.job_ref_ids(repo)

    def open_pull_request(
        self, repo: str, *, branch: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        return self._forge.open_pull_request(
            repo,
            branch=self._ref(branch),
            base=base,
            title=self._redact(title),
            body=self._redact(body),
            draft=draft,
        )

    def update_pull_request(self, repo: str, number: int, *, body: str) -> None:
        self._forge.update_pull_request(repo, number, body=self._redact(body))

    def merge_pull_request(self, repo: str, number: int) -> str:
        return self._forge.merge_pull_request(repo, number)

    def close_pull_request(self, repo: str, number: int) -> None:
        self._forge.close_pull_request(repo, number)

    def comment(self, repo: str, number: int, body: str) -> bool:
        return self._forge.comment(repo, number, self._redact(body))

    def ask_author(self, repo: str, number: int, question: str) -> bool:
        return self._forge.ask_author(repo, number, self._redact(question))

    def report_check(self, repo: str, sha: str, check: CheckRun) -> int | None:
        return self._forge.report_check(
            repo, sha, replace(check, title=self._redact(check.title), summary=self._redact(check.summary))
        )
