"""Making candidate commits on top of a base without touching any work tree (git plumbing)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workflows.gitops import GitRepo, run_git


@dataclass(frozen=True)
class Symlink:
    """A symbolic link to ``target`` (committed with git's symlink mode)."""

    target: str


FileChange = str | bytes | Symlink | None
"""New file content (text or bytes), a symlink, or None to delete the file."""


def init_repo(path: Path, files: dict[str, str | bytes], message: str = "initial") -> str:
    """A fresh git repository at ``path`` holding ``files`` in one commit on ``main``; returns its SHA."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(["init", "-q", "-b", "main", str(path)])
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    run_git(["add", "-A"], cwd=path)
    run_git(["commit", "-q", "-m", message], cwd=path)
    return run_git(["rev-parse", "HEAD"], cwd=path).strip()


def git_repo(path: Path) -> GitRepo:
    """The ``GitRepo`` (git dir) of a repository made by ``init_repo``."""
    return GitRepo(path / ".git")


def _git(git_dir: Path, args: list[str], index: str, data: bytes | None = None) -> str:
    env = {
        **os.environ,
        "GIT_INDEX_FILE": index,
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@localhost",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@localhost",
    }
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], input=data, capture_output=True, env=env, check=True
    )
    return proc.stdout.decode()


def commit_change(repo_path: Path, parent: str, changes: dict[str, FileChange], message: str = "change") -> str:
    """A commit on ``parent`` with ``changes`` applied (HEAD and the work tree stay as they are)."""
    git_dir = repo_path / ".git"
    with tempfile.TemporaryDirectory() as tmp:
        index = str(Path(tmp) / "index")
        _git(git_dir, ["read-tree", parent], index)
        for path, content in changes.items():
            if content is None:
                _git(git_dir, ["update-index", "--force-remove", "--", path], index)
                continue
            mode = "120000" if isinstance(content, Symlink) else "100644"
            data = content.target if isinstance(content, Symlink) else content
            data = data.encode() if isinstance(data, str) else data
            blob = _git(git_dir, ["hash-object", "-w", "--stdin"], index, data).strip()
            _git(git_dir, ["update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}"], index)
        tree = _git(git_dir, ["write-tree"], index).strip()
        return _git(git_dir, ["commit-tree", tree, "-p", parent, "-m", message], index).strip()


def file_at(repo_path: Path, sha: str, path: str) -> str:
    return run_git(["show", f"{sha}:{path}"], cwd=repo_path)
