"""Reading a repository's committed tree (a local path or any git URL) without a work tree."""

from __future__ import annotations

from pathlib import Path

from orchestrator.onboarding.detect import RepoFiles
from workflows.gitops import GitError, GitRepo, run_git
from workflows.repo_config import CONFIG_FILE


class InspectError(ValueError):
    """The repository cannot be read; the message names it and says why."""


def default_branch(url: str) -> str:
    """The branch the repository's HEAD points at (``main`` when it cannot be told)."""
    try:
        out = run_git(["ls-remote", "--symref", url, "HEAD"])
    except GitError as exc:
        raise InspectError(f"{url}: cannot read the repository: {exc}") from None
    for line in out.splitlines():
        if line.startswith("ref: refs/heads/"):
            return line.split()[1].removeprefix("refs/heads/")
    return "main"


def committed_tree(url: str, branch: str, scratch: Path) -> tuple[RepoFiles, bytes | None]:
    """The files of ``branch``'s tip, and its committed ``.shipyard.yml`` (None when absent)."""
    git = GitRepo(scratch / "inspect.git")
    run_git(["init", "-q", "--bare", str(git.git_dir)])
    try:
        git.git("fetch", "-q", "--depth=1", "--no-tags", url, f"+refs/heads/{branch}:refs/heads/{branch}")
    except GitError as exc:
        raise InspectError(f"{url}: cannot fetch branch {branch!r}: {exc}") from None
    sha = git.rev_parse(branch)
    paths = {p for p in git.git("ls-tree", "-r", "-z", "--name-only", sha).split("\0") if p}

    def read(path: str) -> str:
        data = git.show_file(sha, path)
        return data.decode("utf-8", "replace") if data is not None else ""

    return RepoFiles(paths=paths, read=read), git.show_file(sha, CONFIG_FILE)
