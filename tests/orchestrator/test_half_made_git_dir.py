"""A worker killed inside ``git init`` leaves a job's git directory with ``HEAD`` and little else;
the worker that takes the job over fetches into it as if it were new, instead of blocking the job
with "not a git repository"."""

from __future__ import annotations

from pathlib import Path

from workflows.gitops import GitRepo, open_bare_repository, run_git


def _origin(tmp_path: Path) -> tuple[Path, str]:
    origin = tmp_path / "origin"
    origin.mkdir()
    run_git(["init", "-q", "-b", "main"], cwd=origin)
    (origin / "a.txt").write_text("a\n")
    run_git(["add", "a.txt"], cwd=origin)
    run_git(["commit", "-qm", "first"], cwd=origin)
    return origin, run_git(["rev-parse", "HEAD"], cwd=origin).strip()


def test_a_git_dir_left_half_made_is_made_again_and_fetches(tmp_path):
    origin, sha = _origin(tmp_path)
    half = tmp_path / "jobs" / "1" / "git"
    half.mkdir(parents=True)
    (half / "HEAD").write_text("ref: refs/heads/main\n")  # what a cut-short `git init` leaves

    git = open_bare_repository(half)
    git.git("fetch", "-q", str(origin), "+refs/heads/main:refs/heads/main")

    assert git.rev_parse("main") == sha


def test_a_whole_git_dir_is_kept_with_what_it_holds(tmp_path):
    origin, sha = _origin(tmp_path)
    gdir = tmp_path / "git"
    open_bare_repository(gdir).git("fetch", "-q", str(origin), "+refs/heads/main:refs/heads/main")

    again = open_bare_repository(gdir)

    assert isinstance(again, GitRepo) and again.rev_parse("main") == sha
