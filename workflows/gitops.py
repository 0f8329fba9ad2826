"""Git operations the orchestrator runs on the host, never inside the sandbox.

A job's git directory is kept apart from its work tree (``git --git-dir X --work-tree W``):
the work tree is the sandbox workspace, and nothing in it (a planted ``.git`` file, hooks,
config) can affect the orchestrator's git commands.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class GitError(RuntimeError):
    """A git command failed; the message carries git's own explanation."""


class OversizedFile(GitError):
    """A work-tree file over the size limit: refused before git (or the scrubber) reads a byte of it."""


DEFAULT_MAX_FILE_BYTES = 50 * 2**20
"""``gates.max_file_mb``'s default, in bytes."""


def over_size_limit(size: int, max_bytes: int) -> str:
    """Why a file is refused, in the words the gate's workspace hygiene uses."""
    return f"file of {size / 2**20:.1f} MB is over the limit of {max_bytes / 2**20:g} MB (gates.max_file_mb)"


_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Shipyard",
    "GIT_AUTHOR_EMAIL": "shipyard@localhost",
    "GIT_COMMITTER_NAME": "Shipyard",
    "GIT_COMMITTER_EMAIL": "shipyard@localhost",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def run_git(
    args: list[str], *, cwd: Path | None = None, input: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    """Run git with a fixed identity and no hooks; returns stdout as text, raises ``GitError``."""
    return run_git_bytes(args, cwd=cwd, input=input, env=env).decode(errors="replace")


def run_git_bytes(
    args: list[str], *, cwd: Path | None = None, input: bytes | None = None, env: dict[str, str] | None = None
) -> bytes:
    """``run_git`` returning stdout's exact bytes (file contents may be binary or not UTF-8)."""
    env = {**os.environ, **_GIT_ENV, **(env or {})}
    cmd = ["git", "-c", "core.hooksPath=/dev/null", "-c", "safe.directory=*", "-c", "core.autocrlf=false", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, input=input, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip() or proc.stdout.decode(errors="replace").strip()
        sub = next((a for a in args if not a.startswith("-") and "/" not in a), "")
        raise GitError(f"git {sub}: {err}")
    return proc.stdout


BUILD_OUTPUTS = (
    ".shipyard/",
    "__pycache__/",
    "*.pyc",
    ".coverage",
    ".coverage.*",
    ".pytest_cache/",
    "node_modules/",
    "coverage/",
    ".nyc_output/",
)


@dataclass(frozen=True)
class ChangedFile:
    status: str
    """Git's letter: A(dded), M(odified), D(eleted), R(enamed)."""
    path: str
    old_path: str | None = None
    """Previous path for renames."""


@dataclass(frozen=True)
class GitRepo:
    """A bare-style git directory whose work trees are checked out elsewhere."""

    git_dir: Path

    def git(
        self, *args: str, worktree: Path | None = None, input: bytes | None = None, index: Path | None = None
    ) -> str:
        pre = ["--git-dir", str(self.git_dir.resolve())]
        if worktree is not None:
            pre += ["--work-tree", str(worktree.resolve())]
        env = {"GIT_INDEX_FILE": str(index)} if index else None
        return run_git([*pre, *args], cwd=worktree, input=input, env=env)

    def exclude_build_outputs(self) -> None:
        """Keep test outputs and caches out of commits, whatever the repo's ``.gitignore`` says."""
        info = self.git_dir / "info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "exclude").write_text("\n".join(BUILD_OUTPUTS) + "\n")

    def rev_parse(self, ref: str) -> str:
        return self.git("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def checkout(self, sha: str, worktree: Path) -> None:
        """Make ``worktree`` hold exactly the tree of ``sha`` (untracked files removed)."""
        worktree.mkdir(parents=True, exist_ok=True)
        index = self._index_for(worktree)
        self.git("read-tree", sha, index=index)
        self.git("checkout-index", "-a", "-f", worktree=worktree, index=index)
        self.git("clean", "-fdxq", worktree=worktree, index=index)

    def commit_worktree(
        self,
        worktree: Path,
        parent: str,
        message: str,
        scrub: Scrubber | None = None,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> str:
        """Snapshot every file in ``worktree`` as a commit on top of ``parent``; returns its SHA.

        With ``scrub``, the message and every file changed since ``parent`` are scrubbed (in the
        work tree too) before git stores a single object, so no secret reaches the object database.
        A file over ``max_bytes`` raises ``OversizedFile`` naming it before anything reads it: the
        agent's workspace may hold a file of terabytes that takes no disk (sparse)."""
        index = self._index_for(worktree)
        self.git("read-tree", parent, index=index)
        self._refuse_oversized(worktree, index, max_bytes)
        if scrub is not None:
            message = scrub.text(message)
            for path in self.changed_paths(worktree, index):
                _scrub_path(worktree, path, scrub)
        self.git("add", "-A", ".", worktree=worktree, index=index)
        tree = self.git("write-tree", index=index).strip()
        return self.git("commit-tree", tree, "-p", parent, "-m", message).strip()

    def changed_paths(self, worktree: Path, index: Path) -> list[str]:
        """Files of ``worktree`` that differ from ``index`` or are new (hashed, never written as objects)."""
        try:
            self.git("update-index", "-q", "--refresh", worktree=worktree, index=index)
        except GitError:
            pass  # exits non-zero when files changed: exactly what diff-files lists next
        changed = self.git("diff-files", "--name-only", "-z", worktree=worktree, index=index).split("\0")
        new = self.git("ls-files", "--others", "--exclude-standard", "-z", worktree=worktree, index=index).split("\0")
        return [p for p in dict.fromkeys(changed + new) if p]

    def _refuse_oversized(self, worktree: Path, index: Path, max_bytes: int) -> None:
        """Raise ``OversizedFile`` for files ``git add -A`` would take that are over ``max_bytes``
        (sizes from ``lstat``: listing and statting read no file's content)."""
        listed = self.git(
            "ls-files", "-z", "--cached", "--others", "--exclude-standard", worktree=worktree, index=index
        )
        big: list[str] = []
        for path in dict.fromkeys(p for p in listed.split("\0") if p):
            try:
                info = os.lstat(worktree / path)
            except OSError:
                continue  # deleted since the index was read: git records the deletion
            if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
                big.append(f"{path}: {over_size_limit(info.st_size, max_bytes)}")
        if big:
            more = f" (and {len(big) - 1} more)" if len(big) > 1 else ""
            raise OversizedFile(
                f"the workspace was not saved: {big[0]}{more}; delete the file or keep it out of "
                "the repository (.gitignore)"
            )

    def _index_for(self, worktree: Path) -> Path:
        # One index per work tree, so several trees (candidate, base, fail-to-pass) coexist.
        digest = hashlib.sha1(str(worktree.resolve()).encode()).hexdigest()[:12]
        return self.git_dir.resolve() / f"shipyard-index-{digest}"

    def diff(self, base: str, head: str, *paths: str) -> str:
        """Unified diff ``base..head`` with zero context lines (binary files named, not dumped)."""
        return self.git("diff", "--no-color", "--no-ext-diff", "-U0", "--find-renames", base, head, "--", *paths)

    def changed_files(self, base: str, head: str) -> list[ChangedFile]:
        out = self.git("diff", "--name-status", "-z", "--find-renames", base, head)
        parts = [p for p in out.split("\0") if p]
        files: list[ChangedFile] = []
        i = 0
        while i < len(parts):
            status = parts[i]
            if status.startswith(("R", "C")):
                files.append(ChangedFile(status[0], parts[i + 2], parts[i + 1]))
                i += 3
            else:
                files.append(ChangedFile(status[0], parts[i + 1]))
                i += 2
        return files

    def show_file(self, sha: str, path: str) -> bytes | None:
        """A file's exact bytes at ``sha`` (binary-safe), or None when it does not exist there."""
        try:
            return run_git_bytes(["--git-dir", str(self.git_dir.resolve()), "cat-file", "blob", f"{sha}:{path}"])
        except GitError:
            return None


class Scrubber(Protocol):
    """Removes secrets from commit text and file content (``orchestrator.redaction.Redactor``)."""

    def text(self, value: str) -> str: ...

    def bytes(self, value: bytes) -> bytes: ...

    def name(self, value: str) -> str: ...


def _scrub_path(worktree: Path, path: str, scrub: Scrubber) -> None:
    """Scrub one changed file: its name (renamed within the work tree), a symlink's target (the link
    made again), or its content. Names and targets become git objects as surely as content does."""
    full = worktree / path
    clean = "/".join(scrub.name(part) for part in path.split("/"))
    if clean != path and (full.is_symlink() or full.exists()):
        target = worktree / clean
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(full, target)
        full = target
    if full.is_symlink():
        link = os.readlink(full)
        cleaned_link = scrub.text(link)
        if cleaned_link != link:
            full.unlink()
            os.symlink(cleaned_link, full)
        return
    _scrub_file(full, scrub)


def _scrub_file(path: Path, scrub: Scrubber) -> None:
    if path.is_symlink() or not path.is_file():
        return
    content = path.read_bytes()
    cleaned = scrub.bytes(content)
    if cleaned != content:
        path.write_bytes(cleaned)


def open_bare_repository(git_dir: Path) -> GitRepo:
    """The bare repository at ``git_dir``, made when absent. One a killed worker left half made (its
    ``git init`` cut short: ``HEAD`` written, the rest not) holds nothing and is made again."""
    git = GitRepo(git_dir)
    if (git_dir / "HEAD").exists():
        try:
            run_git(["--git-dir", str(git_dir), "rev-parse", "--git-dir"])
            return git
        except GitError:
            shutil.rmtree(git_dir)
    run_git(["init", "-q", "--bare", str(git_dir)])
    git.exclude_build_outputs()
    return git
