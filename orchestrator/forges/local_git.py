"""The local forge: a git repository on disk; a pull request is a branch plus a row.

Approve merges the branch into the base branch (a merge commit); reject closes the row. It has
no drafts, comments, issues or check runs: those capabilities answer "not here" (``drafts`` False,
``comment``/``ask_author`` False, ``report_check`` None) and publish nothing.
If the base branch is checked out in a non-bare repository, the merge runs in its work
tree so the user's checkout stays consistent; a dirty work tree refuses the merge with
the reason rather than touching the user's uncommitted changes.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from orchestrator.store import Store
from orchestrator.store.tables import PullRequest, utcnow
from workflows.gitops import GitError, GitRepo, open_bare_repository, run_git
from workflows.ports import JOB_REFS, CheckRun, MergeRefused, PullRequestInfo, job_ids_of_refs, job_ref


class ForgeError(RuntimeError):
    """A forge operation failed; the message says what and why."""


class MergeRefusedError(ForgeError, MergeRefused):
    """The merge was refused; the pull request stays open."""


def check_local_repository(path: Path) -> Path:
    """Resolve ``path`` to the top of a git repository or raise ``ForgeError`` saying why not."""
    path = path.expanduser().resolve()
    if not path.exists():
        raise ForgeError(f"{path}: no such directory")
    try:
        inside = run_git(["rev-parse", "--is-bare-repository"], cwd=path).strip()
    except GitError:
        raise ForgeError(f"{path}: not a git repository (run `git init` there first)") from None
    if inside == "true":
        return path
    return Path(run_git(["rev-parse", "--show-toplevel"], cwd=path).strip())


class LocalForge:
    """Pull requests of one job on a local repository (``repo`` is the repository's path)."""

    name = "local"
    drafts = False

    def __init__(self, store: Store, job_id: int, base_branch: str, location: str | None = None):
        self.store = store
        self.job_id = job_id
        self.base_branch = base_branch
        self.location = location
        """The repository's path now (its row's location); it wins over a path a checkpoint carried from
        before the data directory was moved or restored elsewhere, and resolves a relative one."""

    def _at(self, repo: str) -> str:
        path = Path(repo)
        if self.location is not None and (not path.is_absolute() or not path.exists()):
            return self.location
        return repo

    def clone(self, repo: str, base_branch: str, dest_git_dir: Path, worktree: Path) -> str:
        git = open_bare_repository(dest_git_dir)
        try:
            git.git("fetch", "-q", "--no-tags", self._at(repo), f"+refs/heads/{base_branch}:refs/heads/{base_branch}")
        except GitError as exc:
            raise ForgeError(f"{repo}: cannot fetch branch {base_branch!r}: {exc}") from None
        sha = git.rev_parse(base_branch)
        git.checkout(sha, worktree)
        return sha

    def push_branch(self, repo: str, git_dir: Path, branch: str, sha: str) -> None:
        git = GitRepo(git_dir)
        git.git("update-ref", f"refs/heads/{branch}", sha)
        try:
            git.git("push", "-q", "--force", self._at(repo), f"refs/heads/{branch}:refs/heads/{branch}")
        except GitError as exc:
            raise ForgeError(f"{repo}: cannot push {branch}: {exc}") from None

    def push_job_ref(self, repo: str, git_dir: Path, job_id: int, sha: str) -> None:
        ref = job_ref(job_id)
        git = GitRepo(git_dir)
        git.git("update-ref", ref, sha)
        try:
            git.git("push", "-q", "--force", self._at(repo), f"{ref}:{ref}")
        except GitError as exc:
            raise ForgeError(f"{repo}: cannot save the job's commits under {ref}: {exc}") from None

    def fetch_job_ref(self, repo: str, git_dir: Path, job_id: int) -> str | None:
        ref = job_ref(job_id)
        git = GitRepo(git_dir)
        try:
            if not git.git("ls-remote", self._at(repo), ref).strip():
                return None
            git.git("fetch", "-q", "--no-tags", self._at(repo), f"+{ref}:{ref}")
        except GitError as exc:
            raise ForgeError(f"{repo}: cannot fetch the job's commits from {ref}: {exc}") from None
        return git.rev_parse(ref)

    def delete_job_ref(self, repo: str, job_id: int) -> None:
        try:
            run_git(["update-ref", "-d", job_ref(job_id)], cwd=Path(self._at(repo)))
        except GitError as exc:
            raise ForgeError(f"{repo}: cannot remove {job_ref(job_id)}: {exc}") from None

    def delete_branch(self, repo: str, branch: str) -> None:
        try:
            run_git(["update-ref", "-d", f"refs/heads/{branch}"], cwd=Path(self._at(repo)))
        except GitError as exc:
            raise ForgeError(f"{repo}: cannot remove branch {branch}: {exc}") from None

    def job_ref_ids(self, repo: str) -> list[int]:
        try:
            return job_ids_of_refs(
                run_git(["for-each-ref", "--format=%(refname)", f"{JOB_REFS}/"], cwd=Path(self._at(repo)))
            )
        except GitError as exc:
            raise ForgeError(f"{repo}: cannot list {JOB_REFS}: {exc}") from None

    def open_pull_request(
        self, repo: str, *, branch: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        """``draft`` is ignored: a local pull request is always ready for review."""
        with self.store.session() as s:
            pr = s.scalar(select(PullRequest).where(PullRequest.job_id == self.job_id))
            if pr is None:
                pr = PullRequest(job_id=self.job_id, number=0, url="", branch=branch, title=title, body=body)
                s.add(pr)
                s.flush()
                pr.number = pr.id
                pr.url = f"local://{Path(repo).name}/pull/{pr.id}"
            elif pr.state != "open":
                pr.state, pr.closed_at = "open", None
            pr.body, pr.title, pr.branch = body, title, branch
            return _info(pr)

    def update_pull_request(self, repo: str, number: int, *, body: str) -> None:
        with self.store.session() as s:
            self._row(s, number).body = body

    def merge_pull_request(self, repo: str, number: int) -> str:
        with self.store.session() as s:
            pr = self._row(s, number)
            branch, state = pr.branch, pr.state
        if state == "merged":
            return run_git(["rev-parse", self.base_branch], cwd=Path(self._at(repo))).strip()
        sha = merge_branch(
            Path(self._at(repo)), branch, self.base_branch, f"Merge pull request #{number} from {branch}"
        )
        with self.store.session() as s:
            pr = self._row(s, number)
            pr.state, pr.closed_at = "merged", utcnow()
        return sha

    def close_pull_request(self, repo: str, number: int) -> None:
        with self.store.session() as s:
            pr = self._row(s, number)
            if pr.state == "open":
                pr.state, pr.closed_at = "closed", utcnow()

    def comment(self, repo: str, number: int, body: str) -> bool:
        """Not here: a local pull request has no discussion (returns False, nothing is posted)."""
        return False

    def ask_author(self, repo: str, number: int, question: str) -> bool:
        """Not here: local tickets have no issue to ask on (returns False, nothing is posted)."""
        return False

    def report_check(self, repo: str, sha: str, check: CheckRun) -> int | None:
        """Not here: a local repository has no check runs (returns None; the PR body carries the gate report)."""
        return None

    def _row(self, s, number: int) -> PullRequest:
        pr = s.scalar(select(PullRequest).where(PullRequest.number == number, PullRequest.job_id == self.job_id))
        if pr is None:
            raise ForgeError(f"pull request #{number} of job {self.job_id} not found")
        return pr


def _info(pr: PullRequest) -> PullRequestInfo:
    return PullRequestInfo(number=pr.number, url=pr.url, branch=pr.branch, state=pr.state)


def merge_branch(repo: Path, branch: str, base: str, message: str) -> str:
    """Merge ``branch`` into ``base`` with a merge commit; returns the new ``base`` SHA.

    Already merged (a re-run after a crash) is a no-op."""
    try:
        run_git(["merge-base", "--is-ancestor", branch, base], cwd=repo)
        return run_git(["rev-parse", base], cwd=repo).strip()
    except GitError:
        pass
    is_bare = run_git(["rev-parse", "--is-bare-repository"], cwd=repo).strip() == "true"
    current = "" if is_bare else run_git(["symbolic-ref", "-q", "--short", "HEAD"], cwd=repo).strip()
    if current == base:
        if run_git(["status", "--porcelain", "--untracked-files=no"], cwd=repo).strip():
            raise MergeRefusedError(
                f"{repo}: branch {base} is checked out with uncommitted changes; "
                "commit or stash them, then approve again"
            )
        try:
            run_git(["merge", "--no-ff", "--no-edit", "-m", message, branch], cwd=repo)
        except GitError as exc:
            if (repo / ".git" / "MERGE_HEAD").exists():
                run_git(["merge", "--abort"], cwd=repo)
            raise MergeRefusedError(f"{repo}: cannot merge {branch} into {base}: {exc}") from None
        return run_git(["rev-parse", "HEAD"], cwd=repo).strip()
    try:
        tree = run_git(["merge-tree", "--write-tree", base, branch], cwd=repo).split()[0]
    except GitError as exc:
        raise MergeRefusedError(f"{repo}: {branch} conflicts with {base}: {exc}") from None
    old = run_git(["rev-parse", base], cwd=repo).strip()
    head = run_git(["rev-parse", branch], cwd=repo).strip()
    sha = run_git(["commit-tree", tree, "-p", old, "-p", head, "-m", message], cwd=repo).strip()
    run_git(["update-ref", f"refs/heads/{base}", sha, old], cwd=repo)
    return sha
