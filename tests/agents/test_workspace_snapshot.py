"""Snapshots of the agent's workspace (the code node's commit of each attempt, the diff tool) keep
the gate's file size limit: a file over ``gates.max_file_mb`` is refused, named, before anything
reads it."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.agents.conftest import CFG
from workflows.gitops import GitRepo, OversizedFile
from workflows.nodes.code import coding_sandbox, workspace_diff
from workflows.nodes.prepare import git_dir

REFUSAL = (
    "the workspace was not saved: data/huge.bin: file of 61440.0 MB is over the limit of 50 MB "
    "(gates.max_file_mb); delete the file or keep it out of the repository (.gitignore)"
)


def test_a_huge_sparse_file_is_refused_at_once_naming_it_and_the_snapshot_works_without_it(job):
    """Snapshots used to read, scrub and hash every file in full: 60 GB of zeros that take no disk."""
    services, state = job
    workspace = coding_sandbox(services, state, CFG).host_workspace
    (workspace / "data").mkdir()
    subprocess.run(["truncate", "-s", "60G", str(workspace / "data" / "huge.bin")], check=True)
    (workspace / "notes.txt").write_text("small enough\n")
    started = time.monotonic()
    with pytest.raises(OversizedFile) as refused:
        workspace_diff(services, state, services.live.sandbox)  # what the agent's diff tool shows
    assert str(refused.value) == REFUSAL
    with pytest.raises(OversizedFile, match="data/huge.bin: file of 61440.0 MB"):
        GitRepo(git_dir(services.job_dir)).commit_worktree(
            workspace, state["head_sha"], "attempt 1"
        )  # the default limit
    assert time.monotonic() - started < 10

    (workspace / "data" / "huge.bin").unlink()
    assert "+small enough" in workspace_diff(services, state, services.live.sandbox)
