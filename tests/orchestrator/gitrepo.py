"""Real git repositories for orchestrator tests."""

from __future__ import annotations

from pathlib import Path

from workflows.gitops import run_git


def make_repo(path: Path, files: dict[str, str], branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run_git(["init", "-q", "-b", branch, str(path)])
    for rel, text in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    run_git(["add", "-A"], cwd=path)
    run_git(["commit", "-q", "-m", "initial"], cwd=path)
    return path


def head(path: Path, ref: str = "HEAD") -> str:
    return run_git(["rev-parse", ref], cwd=path).strip()
