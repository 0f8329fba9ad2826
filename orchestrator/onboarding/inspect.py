"""Reading a repository's committed tree (a local path or any git URL) without a work tree."""

from __future__ import annotations

from pathlib import Path

from orchestrator.onboarding.detect import RepoFiles
from workflows.gitops import GitError, GitRepo, run_git
from workflows.repo_config import CONFIG_FILE


class InspectError(ValueError):
    """The repository cannot be read; the message names it and says why."""


def fetch_branch(url: str, branch: str, git_dir: Path, *, shallow: bool = False) -> tuple[GitRepo, str]:
    """A new bare repository at ``git_dir`` holding ``branch`` of ``url``; returns it and the tip's SHA."""
    git = GitRepo(git_dir)
    run_git(["init", "-q", "--bare", str(git.git_dir)])
    try:
        git.git(
            "fetch",
            "-q",
            *(["--depth=1"] if shallow else []),
            "--no-tags",
            url,
            f"+refs/heads/{branch}:refs/heads/{branch}",
        )
    except GitError as exc:
        raise InspectError(f"{url}: cannot fetch branch {branch!r}: {exc}") from None
    return git, git.rev_parse(branch)


def tracked_paths(git: GitRepo, sha: str) -> set[str]:
    return {p for p in git.git("ls-tree", "-r", "-z", "--name-only", sha).split("\0") if p}


def committed_tree(url: str, branch: str, scratch: Path) -> tuple[RepoFiles, bytes | None]:
    """The files of ``branch``'s tip, and its committed ``.shipyard.yml`` (None when absent)."""
    git, sha = fetch_branch(url, branch, scratch / "inspect.git", shallow=True)
    return tree_at(git, sha)


def tree_at(git: GitRepo, sha: str) -> tuple[RepoFiles, bytes | None]:
    """The files of commit ``sha`` in ``git``, and its committed ``.shipyard.yml`` (None when absent)."""
    paths = tracked_paths(git, sha)

    def read(path: str) -> str:
        data = git.show_file(sha, path)
        return data.decode("utf-8", "replace") if data is not None else ""

    return RepoFiles(paths=paths, read=read), git.show_file(sha, CONFIG_FILE)
