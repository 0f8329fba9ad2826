"""``pull_request.draft: true`` in a repository's .shipyard.yml, through the queue and a worker
process against the local GitHub (served at Enterprise Server's ``/api/v3`` and ``/api/graphql``):
the first attempt fails the gate and is shown as a draft PR with a failing check run; the second
passes and the same PR is marked ready for review."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.github_forge.conftest import queue_labelled_issue, serve_emulator, token_env
from tests.github_forge.test_pipeline_github import REPO, assert_no_token
from tests.pipeline.harness import ASSETS, running_worker, sample_repository, wait_for_job
from workflows.gitops import run_git

CASSETTE = ASSETS / "cassettes" / "word-count-dashes.yml"  # attempt 1 fails the gate, attempt 2 passes


@pytest.mark.slow
@pytest.mark.workers
def test_draft_until_the_gate_passes_then_ready_for_review(tmp_path: Path, monkeypatch, scrub_env):
    seed = sample_repository(tmp_path / "seed")
    with open(seed / ".shipyard.yml", "a") as f:
        f.write("pull_request:\n  draft: true\n")
    run_git(["commit", "-qam", "PRs open as drafts"], cwd=seed)
    with serve_emulator(tmp_path / "github", seed, repo=REPO) as emulator:
        env = token_env(emulator)
        issue = (REPO, 4, "word_count counts dashes as words", "`word_count('wait - what?')` returns 3.")
        ship, job_id = queue_labelled_issue(tmp_path, monkeypatch, emulator, env, issue, CASSETTE)
        with running_worker(ship.settings, env=env) as worker:
            deadline = time.monotonic() + 240
            while not (any(p.get("draft") for p in emulator.pulls.values()) and emulator.check_runs):
                assert time.monotonic() < deadline and worker.proc.poll() is None, (
                    f"no draft PR was opened:\n{worker.log()}"
                )
                time.sleep(0.1)
            ((key, draft),) = emulator.pulls.items()
            failing = [c["conclusion"] for c in emulator.check_runs]
            done = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
            log = worker.log_path.read_text(errors="replace")
    assert failing == ["failure"]  # the draft showed the failed gate as its check run
    assert done["state"] == "awaiting_review", done["reason"]
    assert done["attempts"] == 2 and done["pr"]["number"] == key[1]
    assert list(emulator.pulls) == [key] and emulator.pulls[key]["draft"] is False  # the same PR, now ready
    assert [c["conclusion"] for c in emulator.check_runs] == ["failure", "success"]
    messages = [e["message"] for e in done["events"] if e["kind"] == "pull_request"]
    assert f"pull request #{key[1]} is a draft until the gate passes" in messages
    assert f"pull request #{key[1]} ready for review: the gate passed" in messages
    assert_no_token(ship, log, emulator)
