"""The GitHub forge: branches pushed over HTTPS, pull requests, checks and comments through the REST API.

The token lives only in memory: git receives it as an ``http.extraHeader`` passed through
``GIT_CONFIG_*`` environment variables of that one git command (never in a URL, a config file,
argv or a log line), and every error message is scrubbed of it before it leaves this module.
"""

from __future__ import annotations

import base64
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import requests
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestrator.forges.local_git import ForgeError, MergeRefusedError
from orchestrator.forges.protocol import CHECK_NAME
from workflows.gitops import GitError, GitRepo, open_bare_repository, run_git
from workflows.ports import JOB_REFS, CheckRun, ChecksRefused, PullRequestInfo, job_ids_of_refs, job_ref


class GitHubSettings(BaseSettings):
    """How Shipyard reaches GitHub (``SHIPYARD_GITHUB_*``): a fine-grained token, or a GitHub App."""

    model_config = SettingsConfigDict(env_prefix="SHIPYARD_GITHUB_", extra="forbid")

    api_url: str = "https://api.github.com"
    """REST API base; GitHub Enterprise Server: ``https://HOST/api/v3``."""
    git_url: str = "https://github.com"
    """Base of clone URLs (``<git_url>/owner/name.git``)."""
    token: SecretStr | None = None
    """Fine-grained personal access token (contents, pull requests, issues, checks: read/write)."""
    app_id: int | None = None
    """GitHub App id (instead of a token); needs ``private_key`` and ``installation_id``."""
    private_key: SecretStr | None = None
    """The App's PEM private key."""
    installation_id: int | None = None
    """The App's installation on the repository's owner."""
    trigger_permission: Literal["triage", "write", "maintain", "admin"] = "write"
    """Least repository permission (asked through the API) of a webhook's sender for work to start."""
    merge_method: Literal["merge", "squash", "rebase"] = "merge"
    """How ``shipyard review approve`` merges a pull request through the API."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Per-request timeout."""
    retries: int = Field(default=5, ge=0)
    """Retries of a request answered 5xx or with a rate limit (waits ``Retry-After``)."""
    max_rate_limit_wait_s: float = Field(default=120.0, ge=0)
    """Longest wait for a rate limit to lift before the operation fails."""

    @property
    def configured(self) -> bool:
        return self.token is not None or self.app_id is not None

    def auth(self) -> Auth.Auth:
        if self.app_id is not None:
            if self.private_key is None or self.installation_id is None:
                raise ForgeError(
                    "SHIPYARD_GITHUB_APP_ID needs SHIPYARD_GITHUB_PRIVATE_KEY and SHIPYARD_GITHUB_INSTALLATION_ID"
                )
            app = Auth.AppAuth(self.app_id, self.private_key.get_secret_value())
            return app.get_installation_auth(self.installation_id)
        if self.token is None:
            raise ForgeError("GitHub needs SHIPYARD_GITHUB_TOKEN (or SHIPYARD_GITHUB_APP_ID with a private key)")
        return Auth.Token(self.token.get_secret_value())


class GitHubForge:
    """Pull requests of one job on GitHub (``repo`` is ``owner/name``)."""

    name = "github"
    drafts = True

    def __init__(self, settings: GitHubSettings):
        self.settings = settings
        self._auth = settings.auth()
        self._gh = Github(
            auth=self._auth,
            base_url=settings.api_url,
            timeout=int(settings.timeout_s),
            retry=github_retry(settings),
        )

    # -- git over HTTPS -------------------------------------------------------------------------
    def _token(self) -> str:
        return self._auth.token  # installation tokens refresh themselves before expiry

    def _git(self, git: GitRepo, *args: str) -> str:
        token = self._token()
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
        try:
            return run_git(["--git-dir", str(git.git_dir.resolve()), *args], env=env)
        except GitError as exc:
            msg = self._scrub(str(exc))
            if "could not read Username" in msg or "Authentication failed" in msg or " 401" in msg:
                msg = (
                    f"GitHub refused the credentials for git over HTTPS (token expired or lacks contents access): {msg}"
                )
            raise ForgeError(msg) from None

    def _scrub(self, text: str) -> str:
        token = self._token()
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return text.replace(token, "***").replace(basic, "***")

    def _clone_url(self, repo: str) -> str:
        return f"{self.settings.git_url.rstrip('/')}/{repo}.git"

    def fetch_branch(self, repo: str, branch: str, git_dir: Path) -> str:
        """Fetch ``branch`` of ``repo`` into the bare repository ``git_dir`` (made when absent); returns its tip."""
        git = open_bare_repository(git_dir)
        self._git(git, "fetch", "-q", "--no-tags", self._clone_url(repo), f"+refs/heads/{branch}:refs/heads/{branch}")
        return git.rev_parse(branch)

    def can_push(self, repo: str, git_dir: Path, sha: str) -> str | None:
        """None when the credentials may push to ``repo``, else git's refusal. A dry run: nothing is sent."""
        try:
            self._git(
                GitRepo(git_dir),
                "push",
                "--dry-run",
                "-q",
                self._clone_url(repo),
                f"{sha}:refs/heads/shipyard/doctor-probe",
            )
        except ForgeError as exc:
            return str(exc)
        return None

    def clone(self, repo: str, base_branch: str, dest_git_dir: Path, worktree: Path) -> str:
        sha = self.fetch_branch(repo, base_branch, dest_git_dir)
        GitRepo(dest_git_dir).checkout(sha, worktree)
        return sha

    def push_branch(self, repo: str, git_dir: Path, branch: str, sha: str) -> None:
        git = GitRepo(git_dir)
        git.git("update-ref", f"refs/heads/{branch}", sha)
        self._git(git, "push", "-q", "--force", self._clone_url(repo), f"refs/heads/{branch}:refs/heads/{branch}")

    def push_job_ref(self, repo: str, git_dir: Path, job_id: int, sha: str) -> None:
        """A ref outside ``refs/heads``: GitHub keeps it (and its commits) but lists it as no branch."""
        ref = job_ref(job_id)
        git = GitRepo(git_dir)
        git.git("update-ref", ref, sha)
        self._git(git, "push", "-q", "--force", self._clone_url(repo), f"{ref}:{ref}")

    def fetch_job_ref(self, repo: str, git_dir: Path, job_id: int) -> str | None:
        ref = job_ref(job_id)
        git = GitRepo(git_dir)
        if not self._git(git, "ls-remote", self._clone_url(repo), ref).strip():
            return None
        self._git(git, "fetch", "-q", "--no-tags", self._clone_url(repo), f"+{ref}:{ref}")
        return git.rev_parse(ref)

    @contextlib.contextmanager
    def _scratch_git(self) -> Iterator[GitRepo]:
        """An empty bare repository to run git against the forge from (no job's git dir needed)."""
        with tempfile.TemporaryDirectory() as scratch:
            run_git(["init", "-q", "--bare", scratch])
            yield GitRepo(Path(scratch))

    def delete_job_ref(self, repo: str, job_id: int) -> None:
        """Deleted by a push of nothing to it (deleting an absent ref is not an error: ``ls-remote`` first)."""
        ref = job_ref(job_id)
        with self._scratch_git() as git:
            if self._git(git, "ls-remote", self._clone_url(repo), ref).strip():
                self._git(git, "push", "-q", self._clone_url(repo), f":{ref}")

    def delete_branch(self, repo: str, branch: str) -> None:
        """Deleted by a push of nothing to it, when present (``ls-remote`` first)."""
        ref = f"refs/heads/{branch}"
        with self._scratch_git() as git:
            if self._git(git, "ls-remote", self._clone_url(repo), ref).strip():
                self._git(git, "push", "-q", self._clone_url(repo), f":{ref}")

    def job_ref_ids(self, repo: str) -> list[int]:
        with self._scratch_git() as git:
            return job_ids_of_refs(self._git(git, "ls-remote", self._clone_url(repo), f"{JOB_REFS}/*"))

    # -- REST -----------------------------------------------------------------------------------
    def _repo(self, repo: str):
        try:
            return self._gh.get_repo(repo)
        except _FAILURES as exc:
            raise ForgeError(f"{repo}: {_message(exc)}") from None

    def open_pull_request(
        self, repo: str, *, branch: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        """Open (or update) the PR of ``branch``; ``draft`` opens it as a draft, and a draft found open
        for the branch is marked ready for review when ``draft`` is False."""
        r = self._repo(repo)
        owner = repo.split("/")[0]
        try:
            existing = list(r.get_pulls(state="open", head=f"{owner}:{branch}"))
            if existing:
                pr = existing[0]
                pr.edit(title=title, body=body)
                if pr.draft and not draft:
                    pr.mark_ready_for_review()
            else:
                pr = self._create_pull(r, owner, title=title, body=body, head=branch, base=base, draft=draft)
        except _FAILURES as exc:
            raise ForgeError(f"{repo}: cannot open a pull request for {branch}: {_message(exc)}") from None
        return PullRequestInfo(number=pr.number, url=pr.html_url, branch=branch, state="open")

    @staticmethod
    def _create_pull(r, owner: str, **fields):
        """Create the PR; when a retried request finds it created by the first one (422), that one."""
        try:
            return r.create_pull(**fields)
        except GithubException as exc:
            existing = list(r.get_pulls(state="open", head=f"{owner}:{fields['head']}")) if exc.status == 422 else []
            if not existing:
                raise
            return existing[0]

    def update_pull_request(self, repo: str, number: int, *, body: str) -> None:
        try:
            self._repo(repo).get_pull(number).edit(body=body)
        except _FAILURES as exc:
            raise ForgeError(f"{repo}#{number}: {_message(exc)}") from None

    def merge_pull_request(self, repo: str, number: int) -> str:
        try:
            pr = self._repo(repo).get_pull(number)
            if pr.merged:
                return pr.merge_commit_sha
            status = pr.merge(merge_method=self.settings.merge_method)
        except GithubException as exc:
            if exc.status in MERGE_REFUSALS:  # branch protection, conflicts, a stale head: a person can fix it
                raise MergeRefusedError(f"{repo}#{number}: GitHub refused the merge: {_message(exc)}") from None
            raise ForgeError(f"{repo}#{number}: GitHub refused the merge: {_message(exc)}") from None
        except requests.RequestException as exc:
            raise ForgeError(f"{repo}#{number}: GitHub refused the merge: {_message(exc)}") from None
        return status.sha

    def close_pull_request(self, repo: str, number: int) -> None:
        try:
            pr = self._repo(repo).get_pull(number)
            if pr.state == "open":
                pr.edit(state="closed")
        except _FAILURES as exc:
            raise ForgeError(f"{repo}#{number}: {_message(exc)}") from None

    def comment(self, repo: str, number: int, body: str) -> bool:
        try:
            self._repo(repo).get_issue(number).create_comment(body)
        except _FAILURES as exc:
            raise ForgeError(f"{repo}#{number}: cannot comment: {_message(exc)}") from None
        return True

    def ask_author(self, repo: str, number: int, question: str) -> bool:
        """Post ``question`` on issue ``number`` and label it ``shipyard:needs-info``."""
        try:
            issue = self._repo(repo).get_issue(number)
            issue.create_comment(question)
            issue.add_to_labels(NEEDS_INFO)
        except _FAILURES as exc:
            raise ForgeError(f"{repo}#{number}: cannot ask the author: {_message(exc)}") from None
        return True

    def review_comments(self, repo: str, number: int, review_id: int) -> list[dict]:
        """The inline comments of one review: ``[{"path", "line", "body"}]``."""
        try:
            comments = self._repo(repo).get_pull(number).get_single_review_comments(review_id)
            return [{"path": c.path, "line": c.line or c.original_line, "body": c.body} for c in comments]
        except _FAILURES as exc:
            raise ForgeError(f"{repo}#{number}: cannot read review {review_id}: {_message(exc)}") from None

    def default_branch(self, repo: str) -> str:
        try:
            return self._repo(repo).default_branch
        except _FAILURES as exc:
            raise ForgeError(f"{repo}: {_message(exc)}") from None

    def permission(self, repo: str, login: str) -> str:
        """``login``'s permission on ``repo`` (``admin``, ``maintain``, ``write``, ``triage``, ``read``, ``none``)."""
        try:
            return self._repo(repo).get_collaborator_permission(login)
        except _FAILURES as exc:
            raise ForgeError(f"{repo}: cannot read {login}'s permission: {_message(exc)}") from None

    def report_check(self, repo: str, sha: str, check: CheckRun) -> int:
        output: dict[str, Any] = {"title": check.title, "summary": check.summary[:65000]}
        annotations = coverage_annotations(check.uncovered)
        if annotations:
            output["annotations"] = annotations
        try:
            run = self._repo(repo).create_check_run(
                name=CHECK_NAME,
                head_sha=sha,
                status="completed",
                conclusion=check.conclusion,
                output=output,
            )
        except GithubException as exc:
            if exc.status == 403 and not isinstance(
                exc, RateLimitExceededException
            ):  # fine-grained tokens cannot be given checks: write (GitHub Apps only)
                raise ChecksRefused(
                    f"{repo}: GitHub refused the {CHECK_NAME} check run: {_message(exc)}"
                    f"{_needs(exc)}; only a GitHub App can publish check runs"
                ) from None
            raise ForgeError(f"{repo}@{sha[:12]}: cannot report {CHECK_NAME}: {_message(exc)}") from None
        except requests.RequestException as exc:
            raise ForgeError(f"{repo}@{sha[:12]}: cannot report {CHECK_NAME}: {_message(exc)}") from None
        return run.id


_FAILURES = (GithubException, requests.RequestException)
RETRIED_STATUSES = [429, *range(500, 600)]
"""Retried besides the 403s GithubRetry recognises as rate limits (it waits for ``Retry-After`` or
``X-RateLimit-Reset``)."""


class RateLimitRetry(GithubRetry):
    """GithubRetry, plus a 429 without ``Retry-After`` (GitHub's other answer to an exhausted primary
    limit) waited out until ``X-RateLimit-Reset``, as GithubRetry does for a 403."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        headers = response.headers if response is not None else {}
        reset = headers.get("X-RateLimit-Reset", "")
        if response is not None and response.status == 429 and "Retry-After" not in headers and reset.isdigit():
            wait = max(int(reset) - time.time(), 0) + 1
            if self.max_rate_limit_wait is not None and wait > self.max_rate_limit_wait:
                raise GithubException(
                    429,
                    {"message": f"rate limit resets in {wait:.0f}s, beyond SHIPYARD_GITHUB_MAX_RATE_LIMIT_WAIT_S"},
                    dict(headers),
                )
            retry.get_backoff_time = lambda: wait
        return retry


def github_retry(settings: GitHubSettings) -> GithubRetry:
    """Retries of 5xx and of primary (403/429 + ``X-RateLimit-Reset``) and secondary (``Retry-After``) rate limits."""
    return RateLimitRetry(
        total=settings.retries,
        backoff_factor=0.2,
        status_forcelist=list(RETRIED_STATUSES),
        secondary_rate_wait=settings.max_rate_limit_wait_s,
        max_rate_limit_wait=settings.max_rate_limit_wait_s,
    )


def _needs(exc: GithubException) -> str:
    """GitHub's own statement of the permission a refused request needed."""
    accepted = (exc.headers or {}).get("x-accepted-github-permissions") or (exc.headers or {}).get(
        "X-Accepted-GitHub-Permissions"
    )
    return f" (needs {accepted})" if accepted else ""


MERGE_REFUSALS = frozenset({405, 409, 422})
"""Statuses of a merge GitHub refuses for a reason on the pull request (protection, conflicts, head moved)."""
NEEDS_INFO = "shipyard:needs-info"
"""Label of an issue triage found not ready: the author's reply re-triages it."""
MAX_ANNOTATIONS = 50
"""GitHub takes at most 50 annotations per check-run request."""


def coverage_annotations(uncovered: dict[str, list[str]]) -> list[dict]:
    """One warning annotation per uncovered line range (``"3-5"`` or ``"9"``) of the gate's diff coverage."""
    out: list[dict] = []
    for path, ranges in sorted(uncovered.items()):
        for r in ranges:
            start, _, end = str(r).partition("-")
            if not start.isdigit() or (end and not end.isdigit()):
                continue
            out.append(
                {
                    "path": path,
                    "start_line": int(start),
                    "end_line": int(end or start),
                    "annotation_level": "warning",
                    "title": "diff_coverage",
                    "message": f"changed line(s) {r} not run by any test",
                }
            )
    return out[:MAX_ANNOTATIONS]


def _message(exc: Exception) -> str:
    if not isinstance(exc, GithubException):
        return f"GitHub did not answer: {exc}"
    data = exc.data if isinstance(exc.data, dict) else {}
    return f"{exc.status} {data.get('message') or exc.data}"
