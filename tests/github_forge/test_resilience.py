"""The GitHub forge through the emulator's faults, and GitHub App installation tokens."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from orchestrator.emulators.github.asgi import State
from orchestrator.forges.github import GitHubForge, GitHubSettings
from orchestrator.forges.local_git import ForgeError
from tests.github_forge.conftest import REPO, open_issue


def test_secondary_rate_limit_and_500_are_retried(forge: GitHubForge, emulator: State):
    emulator.faults.rate_limited = 1
    emulator.faults.server_error = 1
    started = time.monotonic()
    open_issue(emulator, 1)
    forge.comment(REPO, 1, "hello")
    assert [c["body"] for c in emulator.comments] == ["hello"]
    assert time.monotonic() - started >= 1.0  # waited for Retry-After: 1


def test_persistent_500_fails_with_reason(emulator: State):
    from tests.github_forge.conftest import TOKEN

    forge = GitHubForge(
        GitHubSettings(api_url=f"{emulator.base}/api/v3", git_url=emulator.base, token=TOKEN, retries=1)
    )
    emulator.faults.server_error = 10
    with pytest.raises(ForgeError, match="GitHub did not answer.*500"):
        forge.comment(REPO, 1, "hello")


def _app_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_github_app_installation_token_minted_and_refreshed(emulator: State, tmp_path: Path):
    private, public = _app_key()
    emulator.app_id, emulator.app_public_key = 4242, public
    emulator.token_ttl_s = 2.0  # expires almost at once: the forge must mint a new one
    forge = GitHubForge(
        GitHubSettings(
            api_url=f"{emulator.base}/api/v3",
            git_url=emulator.base,
            app_id=4242,
            private_key=private,
            installation_id=7,
        )
    )
    sha = forge.clone(REPO, "main", tmp_path / "g.git", tmp_path / "w")
    assert len(sha) == 40 and len(emulator.issued_tokens) == 1
    first = emulator.issued_tokens[0]
    emulator.faults.expired_tokens.add(first)
    deadline = time.monotonic() + 10
    while len(emulator.issued_tokens) < 2:
        if time.monotonic() > deadline:
            pytest.fail("the installation token was never refreshed")
        try:
            forge._token()
        except Exception as exc:  # noqa: BLE001 - report what went wrong
            pytest.fail(f"refresh failed: {exc}")
        time.sleep(0.2)
    assert forge.clone(REPO, "main", tmp_path / "g2.git", tmp_path / "w2") == sha  # git with the new token
    assert emulator.issued_tokens[-1] != first


@pytest.mark.parametrize("status", [403, 429])
def test_primary_rate_limit_is_waited_out_until_its_reset(emulator: State, status: int):
    from tests.github_forge.conftest import TOKEN

    # two quick retries (0.2 s, 0.4 s) would run out long before the reset: only waiting for it gets through
    forge = GitHubForge(
        GitHubSettings(api_url=f"{emulator.base}/api/v3", git_url=emulator.base, token=TOKEN, retries=2)
    )
    emulator.faults.primary_exhausted, emulator.faults.primary_status, emulator.faults.primary_reset_s = 1, status, 2.0
    open_issue(emulator, 1)
    started = time.monotonic()
    forge.comment(REPO, 1, "hello")
    assert [c["body"] for c in emulator.comments] == ["hello"]
    assert [r["status"] for r in emulator.requests if r.get("status") in (403, 429)] == [status]
    assert time.monotonic() - started >= 2.0


def test_a_slow_github_times_out_and_the_retried_pull_request_is_the_one_created(emulator: State, tmp_path: Path):
    from tests.github_forge.conftest import TOKEN
    from workflows.gitops import GitRepo

    forge = GitHubForge(
        GitHubSettings(api_url=f"{emulator.base}/api/v3", git_url=emulator.base, token=TOKEN, timeout_s=1)
    )
    base = forge.clone(REPO, "main", tmp_path / "g.git", tmp_path / "w")
    (tmp_path / "w" / "app.py").write_text("def add(a, b):\n    return a + b\n")
    forge.push_branch(
        REPO, tmp_path / "g.git", "b", GitRepo(tmp_path / "g.git").commit_worktree(tmp_path / "w", base, "Fix")
    )
    # the create is slower than the timeout but still carried out, so its retry meets a 422
    emulator.faults.slow, emulator.faults.slow_s, emulator.faults.slow_method = 1, 1.5, "POST"
    real_list = [r for r in emulator.requests]
    pr = forge.open_pull_request(REPO, branch="b", base="main", title="Fix add", body="Closes #1")
    assert list(emulator.pulls) == [(REPO, pr.number)]
    posts = [r.get("status") for r in emulator.requests[len(real_list) :] if r["method"] == "POST"]
    assert 422 in posts  # the retry found the first request's pull request
