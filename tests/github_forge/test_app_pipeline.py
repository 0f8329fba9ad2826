"""A GitHub App through the queue and a worker process: installation tokens expire every few
seconds during the job (the local GitHub answers an expired one 401, as GitHub does) and are
refreshed; the App publishes the check run; neither a token nor the private key appears in the
store, the events, the worker log, the PR bodies or the data directory (job workspaces included)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.store.tables import Event, PullRequest
from tests.github_forge.conftest import queue_labelled_issue, serve_emulator
from tests.github_forge.test_pipeline_github import REPO, emulator_sha
from tests.github_forge.test_resilience import _app_key
from tests.pipeline.conftest import CASSETTES
from tests.pipeline.harness import running_worker, sample_repository, wait_for_job

TTL_S = 21.0  # PyGithub refreshes a token 20 s before it expires: each is used for ~1 s here


def _secrets_absent(ship: Shipyard, log: str, emulator, secrets: list[str]) -> None:
    with ship.store.session() as s:
        rows = [e.message + json.dumps(e.data) for e in s.scalars(select(Event))] + [
            p.body for p in s.scalars(select(PullRequest))
        ]
    texts = {
        "events and PR rows": "\n".join(rows),
        "worker log": log,
        "PR bodies": "\n".join(p["body"] for p in emulator.pulls.values()),
    }
    files = [p for p in ship.settings.data_dir.rglob("*") if p.is_file() and p.stat().st_size < 20_000_000]
    for secret in secrets:
        for where, text in texts.items():
            assert secret not in text, f"a credential leaked into the {where}"
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"a credential leaked into {path}"


@pytest.mark.slow
@pytest.mark.workers
def test_app_tokens_expire_mid_job_and_are_refreshed(tmp_path: Path, monkeypatch, scrub_env):
    private, public = _app_key()
    seed = sample_repository(tmp_path / "seed")
    with serve_emulator(tmp_path / "github", seed, repo=REPO, token="unused-static-token") as emulator:
        emulator.app_id, emulator.app_public_key, emulator.token_ttl_s = 4242, public, TTL_S
        env = {
            "SHIPYARD_GITHUB_APP_ID": "4242",
            "SHIPYARD_GITHUB_PRIVATE_KEY": private,
            "SHIPYARD_GITHUB_INSTALLATION_ID": "7",
            "SHIPYARD_GITHUB_API_URL": f"{emulator.base}/api/v3",
            "SHIPYARD_GITHUB_GIT_URL": emulator.base,
        }
        issue = (REPO, 7, "slugify leaves repeated dashes", "`slugify('a  b')` gives `a--b`.")
        ship, job_id = queue_labelled_issue(
            tmp_path, monkeypatch, emulator, env, issue, CASSETTES / "slugify-review.yml"
        )
        started = time.time()
        with running_worker(ship.settings, env=env) as worker:
            done = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
            finished = time.time()
            log = worker.log_path.read_text(errors="replace")
        assert done["state"] == "awaiting_review", done["reason"]
        head = emulator_sha(emulator, done["pr"]["branch"])
    during_job = [t for t in emulator.issued_tokens if started <= emulator.token_expiry[t] - TTL_S <= finished]
    assert len(during_job) >= 2, "the worker never refreshed its installation token during the job"
    assert [r for r in emulator.requests if r.get("status") == 401] == []  # never used an expired token
    (check,) = [c for c in emulator.check_runs if c["head_sha"] == head]
    assert (check["name"], check["conclusion"]) == ("shipyard/gate", "success")
    key_body = "".join(private.strip().splitlines()[1:-1])[:64]
    _secrets_absent(ship, log, emulator, [*emulator.issued_tokens, key_body])
