"""`shipyard doctor` on a GitHub repository names exactly which permission the credentials lack,
asked of the local GitHub the way GitHub answers: an App's installation permissions, and for a
fine-grained token a 403 with ``X-Accepted-GitHub-Permissions`` on a probe that writes nothing."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from githubkit_schemas.latest.models import Installation

from orchestrator.emulators.github.asgi import State
from orchestrator.forges.github import GitHubForge, GitHubSettings
from orchestrator.onboarding.github_access import app_findings, token_findings
from tests.github_forge.conftest import REPO, TOKEN
from tests.github_forge.test_init_and_factory import SHIPYARD, _env
from tests.github_forge.test_resilience import _app_key
from workflows.ports import CheckRun, ChecksRefused

FINE_GRAINED = {"contents": "write", "issues": "read", "pull_requests": "write", "metadata": "read"}
"""A fine-grained token someone gave read-only Issues (and which, like every such token, has no Checks)."""


def test_doctor_names_the_missing_token_permission(emulator: State, tmp_path: Path):
    env = _env(emulator, tmp_path / "data") | {
        "SHIPYARD_GITHUB_GIT_URL": emulator.base,
        "SHIPYARD_SANDBOX_BACKEND": "local",
    }
    assert (
        subprocess.run([SHIPYARD, "init", "github:acme/widgets"], env=env, capture_output=True, timeout=120).returncode
        == 0
    )
    emulator.token_permissions[TOKEN] = dict(FINE_GRAINED)
    done = subprocess.run([SHIPYARD, "doctor", "widgets"], env=env, capture_output=True, text=True, timeout=300)
    out = " ".join(done.stdout.split())
    assert done.returncode == 1, out + done.stderr
    assert (
        "FAIL token lacks issues: write (GitHub answered 403, needs issues=write); needed to comment and label issues"
        in out
    )
    assert "fix: edit the token: Repository permissions → Issues: Read and write" in out
    assert "ok token may push (contents: write)" in out and "ok token may write pull_requests" in out
    assert "warn token cannot publish check runs (GitHub answered 403, needs checks=write)" in out
    assert TOKEN not in done.stdout + done.stderr
    # the probes wrote nothing
    assert emulator.pulls == {} and emulator.check_runs == [] and emulator.issues == {}
    assert (
        "shipyard/doctor-probe"
        not in subprocess.run(["git", "branch"], cwd=emulator.repo_path(REPO), capture_output=True, text=True).stdout
    )


def test_read_only_contents_refuses_the_push_probe(emulator: State, forge: GitHubForge, tmp_path: Path):
    emulator.token_permissions[TOKEN] = FINE_GRAINED | {"contents": "read", "issues": "write"}
    sha = forge.fetch_branch(REPO, "main", tmp_path / "g.git")
    findings = {f.what.split(",")[0]: f for f in token_findings(forge, REPO, tmp_path / "g.git", sha)}
    (push,) = [f for w, f in findings.items() if "contents" in w]
    assert not push.ok and "token lacks contents: write" in push.what and "403" in push.what
    assert push.fix == "edit the token: Repository permissions → Contents: Read and write"
    assert [f.ok for w, f in findings.items() if "may write" in w] == [True, True]


def test_a_token_without_checks_keeps_the_pull_request_and_says_why(emulator: State, forge: GitHubForge):
    emulator.token_permissions[TOKEN] = dict(FINE_GRAINED)
    with pytest.raises(
        ChecksRefused, match=r"403 Resource not accessible by personal access token \(needs checks=write\)"
    ):
        forge.report_check(REPO, "0" * 40, CheckRun(conclusion="success", title="t", summary="s"))


def test_doctor_reads_the_app_installation_permissions(emulator: State):
    private, public = _app_key()
    emulator.app_id, emulator.app_public_key = 4242, public
    emulator.app_permissions = {
        "contents": "write",
        "issues": "write",
        "pull_requests": "write",
        "checks": "read",
        "metadata": "read",
    }
    settings = GitHubSettings(
        api_url=f"{emulator.base}/api/v3", git_url=emulator.base, app_id=4242, private_key=private, installation_id=7
    )
    (finding,) = app_findings(settings, REPO)
    assert not finding.ok
    assert finding.what == "GitHub App lacks checks: write (has read); needed to publish the shipyard/gate check run"
    assert "set repository permissions checks: Read and write; then accept the new permissions" in finding.fix

    emulator.app_permissions["checks"] = "write"
    assert [f.ok for f in app_findings(settings, REPO)] == [True]
    emulator.installed_repos = {"acme/other"}
    (missing,) = app_findings(settings, REPO)
    assert (
        not missing.ok
        and "not installed on acme/widgets" in missing.what
        and "install the App on acme/widgets" in missing.fix
    )

    import httpx
    import jwt

    token = jwt.encode({"iss": "4242", "iat": 0, "exp": 2**31}, private, algorithm="RS256")
    body = httpx.get(f"{emulator.base}/api/v3/app/installations/7", headers={"Authorization": f"Bearer {token}"}).json()
    Installation.model_validate(body)  # the shape GitHub's OpenAPI description gives
