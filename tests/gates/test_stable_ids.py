"""A test's identity in the gate does not depend on where the workspace lives or which backend runs it.

The failure this guards against: on a host-process backend pytest walked up from the workspace
into a checkout's own ``pyproject.toml``, so every test id carried the sandbox's path; the
baseline and the candidate ran in different sandboxes and the gate reported every existing
test as "no longer run".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandboxes.base import SandboxSpec
from sandboxes.docker import DockerSandboxProvider
from sandboxes.local import LocalSandboxProvider
from tests.gates.samples import commit_change, git_repo, init_repo
from workflows.gates import run_gates
from workflows.gates.junit import parse_junit
from workflows.gates.suite import prepare_workspace, run_tests
from workflows.repo_config import RepoConfig

WORDY = {
    "wordy/__init__.py": "def shout(text):\n    return text.upper() + '!'\n",
    "tests/test_wordy.py": (
        "from wordy import shout\n\n\n"
        "def test_shout():\n    assert shout('hi') == 'HI!'\n\n\n"
        "class TestShout:\n    def test_empty(self):\n        assert shout('') == '!'\n"
    ),
}
EXPECTED_KEYS = {"tests.test_wordy::test_shout", "tests.test_wordy.TestShout::test_empty"}
PARENT_PYPROJECT = '[tool.pytest.ini_options]\ntestpaths = ["elsewhere"]\naddopts = "--strict-markers -p no:python"\n'
PARENT_CONFTEST = "raise RuntimeError('a conftest.py above the workspace was loaded')\n"


def hostile_parent(root: Path) -> Path:
    """A directory like a checkout of some project: its own pytest config and a conftest that breaks."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PARENT_PYPROJECT)
    (root / "conftest.py").write_text(PARENT_CONFTEST)
    return root / "sandboxes"


@pytest.mark.docker
def test_ids_are_the_same_from_any_workspace_path_and_backend(tmp_path, docker_engine):
    repo = tmp_path / "repo"
    base = init_repo(repo, WORDY)
    providers = {
        "plain, under a checkout": LocalSandboxProvider(hostile_parent(tmp_path / "a" / "clone"), isolation="none"),
        "plain, elsewhere and deeper": LocalSandboxProvider(
            hostile_parent(tmp_path / "b" / "x" / "y" / "clone"), isolation="none"
        ),
        "bwrap": LocalSandboxProvider(hostile_parent(tmp_path / "c" / "clone"), isolation="bwrap"),
        "docker": DockerSandboxProvider(tmp_path / "docker", client=docker_engine),
    }
    config = RepoConfig()
    keys = {}
    for where, provider in providers.items():
        box = provider.acquire(SandboxSpec(image="shipyard-sandbox:latest", labels={"test": "stable-ids"}))
        try:
            assert prepare_workspace(box, git_repo(repo), base, config) is None
            run = run_tests(box, config.test.command, config, label="suite", tracked=set(WORDY), with_coverage=True)
        finally:
            box.close()
        assert run.ok, (where, run.error, run.output_tail)
        keys[where] = set(run.cases)
    assert all(found == EXPECTED_KEYS for found in keys.values()), keys


def test_a_good_change_passes_the_gate_on_the_plain_backend_under_a_checkout(tmp_path):
    repo = tmp_path / "repo"
    base = init_repo(repo, WORDY)
    candidate = commit_change(
        repo,
        base,
        {
            "wordy/__init__.py": WORDY["wordy/__init__.py"]
            + "\n\ndef whisper(text):\n    return text.lower() + '...'\n",
            "tests/test_whisper.py": (
                "from wordy import whisper\n\n\ndef test_whisper():\n    assert whisper('HI') == 'hi...'\n"
            ),
        },
    )
    provider = LocalSandboxProvider(hostile_parent(tmp_path / "clone"), isolation="none")
    report = run_gates(
        repo=git_repo(repo),
        base_sha=base,
        candidate_sha=candidate,
        config=RepoConfig(),
        ticket_kind="feature",
        sandboxes=provider,
        spec=SandboxSpec(),
        cache_dir=tmp_path / "cache",
        on_event=lambda *_: None,
    )
    assert report.passed, report.failed_reasons()
    assert report.diff_coverage == 100.0


@pytest.mark.parametrize(
    "classname",
    [
        "home.ci.clone..shipyard-demo.sandboxes.local-1a2b.workspace.tests.test_wordy",
        "local-1a2b.workspace.tests.test_wordy",
        "tests.test_wordy",
    ],
)
def test_junit_from_a_runner_rooted_above_the_workspace_is_keyed_relative_to_it(classname):
    workspace = "/home/ci/clone/.shipyard-demo/sandboxes/local-1a2b/workspace"
    xml = (
        f'<testsuites><testsuite><testcase classname="{classname}" name="test_shout" '
        f'file="{workspace}/tests/test_wordy.py"/></testsuite></testsuites>'
    ).encode()
    cases = parse_junit(xml, "junit.xml", workdirs=["/workspace", workspace])
    assert list(cases) == ["tests.test_wordy::test_shout"]
    assert cases["tests.test_wordy::test_shout"].file == "tests/test_wordy.py"
