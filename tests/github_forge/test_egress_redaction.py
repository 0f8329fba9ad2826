"""The GitHub forge behind the egress redactor: a pushed commit, the pull request, its check run,
comments and questions to the author reach GitHub with every configured secret masked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

from orchestrator.emulators.github.asgi import State
from orchestrator.forges import make_forge
from orchestrator.redaction import egress_redactor
from orchestrator.settings import Settings
from tests.github_forge.conftest import REPO, TOKEN, open_issue, token_env
from workflows.gitops import GitRepo
from workflows.ports import CheckRun

QUOTED = "staging passphrase 9c1e"
"""A secrets-file value between quotes that looks like no credential."""


def test_everything_published_on_github_is_redacted(emulator: State, tmp_path: Path, monkeypatch, scrub_env):
    for key, value in token_env(emulator).items():
        monkeypatch.setenv(key, value)
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"STAGING_NOTE='{QUOTED}'\n")
    settings = Settings(data_dir=tmp_path / "data", secrets_file=secrets_file)
    forge = make_forge(settings, SimpleNamespace(forge="github", base_branch="main"), 1, store=None)
    open_issue(emulator, 3, labels=["shipyard"])
    leak = f"{QUOTED} and {TOKEN}"

    git_dir, work = tmp_path / "job.git", tmp_path / "work"
    base = forge.clone(REPO, "main", git_dir, work)
    (work / "app.py").write_text(f"# {leak}\ndef add(a, b):\n    return a + b\n")
    sha = GitRepo(git_dir).commit_worktree(work, base, f"Fix add ({leak})", scrub=egress_redactor(settings))
    forge.push_branch(REPO, git_dir, "shipyard/3-fix", sha)
    pr = forge.open_pull_request(
        REPO, branch="shipyard/3-fix", base="main", title=f"Fix {QUOTED}", body=f"## Plan\n{leak}"
    )
    forge.update_pull_request(REPO, pr.number, body=f"## Plan v2\n{leak}")
    forge.report_check(REPO, sha, CheckRun(conclusion="failure", title=f"failed: {QUOTED}", summary=f"output: {leak}"))
    forge.comment(REPO, pr.number, f"note: {leak}")
    forge.ask_author(REPO, 3, f"Which key, {QUOTED}?")

    published = json.dumps([list(emulator.pulls.values()), emulator.check_runs, emulator.comments], default=str)
    bare = emulator.repo_path(REPO)
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=bare, capture_output=True
    ).stdout
    for secret in (QUOTED, TOKEN):
        assert secret not in published, f"{secret!r} reached GitHub's API"
        assert secret.encode() not in objects, f"{secret!r} reached GitHub's git objects"
    assert "## Plan v2\\n[REDACTED] and [REDACTED]" in published and "Which key, [REDACTED]?" in published
    assert b"Fix add ([REDACTED] and [REDACTED])" in objects and b"# [REDACTED] and [REDACTED]\ndef add" in objects
