"""The seams between the workflow and the control plane.

The workflow never imports the store, Celery or the web; the orchestrator hands it these
small interfaces through LangGraph's run config (``config["configurable"]["services"]``),
so checkpoints hold plain data only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agents.observers import SpendingGuard
from agents.resilience import RetryPolicy
from sandboxes.base import Sandbox, SandboxProvider

if TYPE_CHECKING:
    from agents.accounting import UsageRecord
    from agents.router import RoutedModel


class MergeRefused(RuntimeError):
    """The forge refused a merge for a reason a person can fix (a dirty checkout, a conflict):
    the pull request stays open and the job goes back to waiting for review with the reason."""


class ChecksRefused(RuntimeError):
    """The forge refused to publish a check run for lack of permission: the pull request stands
    (its body carries the gate report) and the job goes on; the reason is recorded on the job."""


@dataclass(frozen=True)
class PullRequestInfo:
    number: int
    url: str
    branch: str
    state: str
    """``open``, ``merged`` or ``closed``."""


JOB_REFS = "refs/shipyard/jobs"
"""Where a job's work lives on the forge between hosts: a hidden ref per job (not under ``refs/heads``,
so no branch list, clone or forge page shows it)."""


def job_ref(job_id: int) -> str:
    """The hidden ref holding job ``job_id``'s last snapshot commit (its ancestors: base and earlier attempts)."""
    return f"{JOB_REFS}/{int(job_id)}"


def job_ids_of_refs(listing: str) -> list[int]:
    """Job ids from ``git ls-remote``/``for-each-ref`` lines (``<sha> <ref>`` or ``<ref>``) naming job refs."""
    found = set()
    for fields in map(str.split, listing.splitlines()):
        name = fields[-1] if fields else ""
        tail = name.removeprefix(f"{JOB_REFS}/")
        if tail != name and tail.isdigit() and tail.isascii():
            found.add(int(tail))
    return sorted(found)


CheckConclusion = Literal["success", "failure", "neutral"]


@dataclass(frozen=True)
class CheckRun:
    """The gate's verdict as a forge shows it beside a commit (the ``shipyard/gate`` check run)."""

    conclusion: CheckConclusion
    title: str
    summary: str
    """The gate report (Markdown)."""
    uncovered: dict[str, list[str]] = field(default_factory=dict)
    """Changed line ranges the tests did not cover, by file (``"12-14"``), annotated on the check."""


class Forge(Protocol):
    """Where branches are pushed and pull requests live (local git, GitHub).

    Every capability the workflow and the control plane use is named here, and every backend
    implements each one; a backend without a capability says so through the documented value
    (``drafts`` False, ``ask_author`` False, ``report_check`` None) rather than lacking the method."""

    name: str
    """The value of ``Repository.forge`` the backend serves (``local``, ``github``)."""
    drafts: bool
    """The forge has draft pull requests: ``open_pull_request(draft=True)`` opens one. False: ``draft`` is
    ignored and every pull request is ready for review."""

    def clone(self, repo: str, base_branch: str, dest_git_dir: Path, worktree: Path) -> str:
        """Check out ``base_branch`` of ``repo`` into ``worktree`` (git dir kept apart); returns the base SHA."""
        ...

    def push_branch(self, repo: str, git_dir: Path, branch: str, sha: str) -> None:
        """Point ``branch`` at ``sha`` on the forge. Idempotent."""
        ...

    def push_job_ref(self, repo: str, git_dir: Path, job_id: int, sha: str) -> None:
        """Point the job's hidden ref (``job_ref(job_id)``: not a branch) at ``sha`` on the forge. Force, idempotent."""
        ...

    def fetch_job_ref(self, repo: str, git_dir: Path, job_id: int) -> str | None:
        """Fetch the job's hidden ref into ``git_dir`` (kept there under the same name); its SHA, or None when
        absent."""
        ...

    def delete_job_ref(self, repo: str, job_id: int) -> None:
        """Remove the job's hidden ref from the forge. Idempotent (absent is fine)."""
        ...

    def delete_branch(self, repo: str, branch: str) -> None:
        """Remove ``branch`` from the forge (a branch pushed by a job that ended with no pull request).
        Idempotent (absent is fine)."""
        ...

    def job_ref_ids(self, repo: str) -> list[int]:
        """The ids of the jobs whose hidden refs the forge holds (names that are not a job id are skipped)."""
        ...

    def open_pull_request(
        self, repo: str, *, branch: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        """Open a PR for ``branch``, or update and return the one already open for it (idempotent).
        ``draft`` (forges with ``drafts``): open it as a draft; False marks a draft found open ready for review."""
        ...

    def update_pull_request(self, repo: str, number: int, *, body: str) -> None:
        """Replace the PR description (new attempt after requested changes)."""
        ...

    def merge_pull_request(self, repo: str, number: int) -> str:
        """Merge an approved PR into its base branch; returns the merge commit SHA. Idempotent."""
        ...

    def close_pull_request(self, repo: str, number: int) -> None:
        """Close a rejected PR without merging. Idempotent."""
        ...

    def comment(self, repo: str, number: int, body: str) -> bool:
        """Post ``body`` on issue or pull request ``number``; False when the forge has no comments (nothing posted)."""
        ...

    def ask_author(self, repo: str, number: int, question: str) -> bool:
        """Ask the author of issue ``number`` for what the ticket lacks (a comment, and the ``shipyard:needs-info``
        label); False when the forge has no issues to ask on (nothing posted)."""
        ...

    def report_check(self, repo: str, sha: str, check: CheckRun) -> int | None:
        """Show the gate's verdict as the ``shipyard/gate`` check run on ``sha`` (annotating its ``uncovered``
        line ranges); returns its id, or None when the forge has no check runs (nothing published). Raises
        ``ChecksRefused`` when the credentials may not publish checks."""
        ...


class JobRecorder(Protocol):
    """The job's timeline and ledgers, written by the workflow as it goes."""

    def event(self, kind: str, message: str, /, **data: Any) -> None:
        """Append to the job's timeline (shown in CLI and web). Secrets are redacted by the recorder."""
        ...

    def usage(self, record: UsageRecord) -> None:
        """Store one priced model call (``agents.accounting.UsageRecord``)."""
        ...

    def gate_result(self, attempt: int, report: Any) -> None:
        """Store the gate report of an attempt (``workflows.gates.GateReport``)."""
        ...

    def attempt_started(self, attempt: int, model: str, reason: str) -> None: ...

    def attempt_finished(self, attempt: int, outcome: str, summary: str, head_sha: str | None = None) -> None:
        """Record how an attempt ended and the commit it left (None: it changed nothing)."""
        ...

    def pull_request(self, info: PullRequestInfo, *, title: str = "", body: str = "") -> None:
        """Record the job's pull request as the forge reports it (opened, merged, closed)."""
        ...

    def set_job(self, **fields: Any) -> None:
        """Record what the workflow learned about the job (complexity, kind, shas, branch)."""
        ...

    def repository_cap(self, max_running_jobs: int | None) -> None:
        """Record the repository's cap on jobs worked at once, as its configuration sets it."""
        ...

    def cost_markdown(self) -> str:
        """The job's model cost so far, by model, as a markdown table (for the PR body)."""
        ...


class Redaction(Protocol):
    """The orchestrator's egress redactor (``orchestrator.redaction.Redactor``)."""

    def text(self, value: str) -> str: ...

    def bytes(self, value: bytes) -> bytes: ...

    def name(self, value: str) -> str:
        """A file or ref name with secrets masked, still usable as one."""
        ...


class ModelRouting(Protocol):
    """Picks and builds the chat model for a role (``agents.router.ModelRouter``)."""

    def use_overrides(self, overrides: dict[str, str], source: str = ...) -> None:
        """Apply a repository's per-role model overrides."""
        ...

    def for_role(self, role: str, *, complexity: str = "low", attempt: int = 1, failures: int = 0) -> RoutedModel: ...

    def fallback_for(self, routed: RoutedModel, role: str, *, attempt: int = 1, why: str = "") -> RoutedModel | None:
        """The model to switch to when ``routed``'s provider does not answer, or None (the job pauses)."""
        ...


@dataclass
class LiveResources:
    """What one run of a job holds while it runs; never checkpointed."""

    sandbox: Sandbox | None = None
    """The coding sandbox, started on first use in the run."""
    image: str | None = None
    """The repository's sandbox image built from its Dockerfile (Docker backend), once looked up."""

    def close(self) -> None:
        """Release the coding sandbox (the image stays in the engine's cache)."""
        sandbox, self.sandbox = self.sandbox, None
        if sandbox is not None:
            sandbox.close()


@dataclass
class JobServices:
    """Everything a ticket workflow run may touch, injected per run."""

    recorder: JobRecorder
    forge: Forge
    sandboxes: SandboxProvider
    job_dir: Path
    """Per-job scratch directory on the orchestrator's host (git dir, logs)."""
    models: ModelRouting
    """Picks and builds the chat model for a role."""
    cache_dir: Path
    """Shared cache (gate baselines per base SHA)."""
    sandbox_image: str = "shipyard-sandbox:latest"
    attempt_time_limit_s: float = 3600.0
    """Wall-clock limit of one coding attempt; the agent is told to wrap up shortly before."""
    budget: SpendingGuard | None = None
    """Checked before every model call (None: unlimited)."""
    live: LiveResources = field(default_factory=LiveResources)
    """Live resources of this run (the coding sandbox); never checkpointed."""
    cancel_check: Callable[[], bool] | None = None
    """True once the job has been cancelled; asked before every model call and tool call."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """How each model call retries a provider's transient failures before the job pauses
    (``awaiting_provider``)."""
    redactor: Redaction | None = None
    """Scrubs secrets from every commit (message and changed files) before git stores it."""

    def cancelled(self) -> str | None:
        """Why the run must stop now (the job was cancelled), or None."""
        if self.cancel_check is not None and self.cancel_check():
            return "the job was cancelled"
        return None

    def close(self) -> None:
        """Release live resources at the end of a run (or at an interrupt)."""
        self.live.close()
