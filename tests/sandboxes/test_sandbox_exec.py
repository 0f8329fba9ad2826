"""What a command run in a sandbox sees and reports, on every backend (docker, bwrap, local)."""

from __future__ import annotations

import uuid

import pytest
from sandbox_test_support import SMALL_SPEC, processes_with_env, wait_until

from sandboxes.base import SandboxSpec


def test_exec_runs_in_the_workspace_and_reports_exit_status(sandbox):
    sandbox.write_file("input.txt", b"from the orchestrator\n")
    result = sandbox.exec("cat input.txt; pwd; echo made > out.txt; echo to-stderr >&2; exit 3")
    assert result.exit_code == 3 and not result.oom_killed and not result.timed_out
    assert result.duration_s < 2
    assert not result.ok and result.describe_failure() == "exited with status 3"
    assert "from the orchestrator" in result.output and "to-stderr" in result.output
    assert sandbox.workdir in result.output
    assert sandbox.read_file("out.txt") == b"made\n"
    assert (sandbox.host_workspace / "out.txt").read_bytes() == b"made\n"


def test_exec_honours_cwd_and_extra_env(sandbox):
    sandbox.write_file("pkg/mod.txt", b"x")
    result = sandbox.exec('ls; echo "greeting=$GREETING"', cwd="pkg", env={"GREETING": "hello"})
    assert result.ok, result.output
    assert "mod.txt" in result.output and "greeting=hello" in result.output


def test_python_pytest_and_coverage_run_in_the_sandbox(sandbox):
    sandbox.write_file("test_one.py", b"def test_ok():\n    assert 1 + 1 == 2\n")
    result = sandbox.exec("python -m pytest -q -p no:cacheprovider --cov=. --cov-report=xml:cov.xml test_one.py")
    assert result.ok, result.output
    assert "1 passed" in result.output
    assert b"<coverage" in sandbox.read_file("cov.xml")


def test_timeout_kills_the_whole_process_tree(sandbox):
    mark = f"SHIPYARD_TEST_MARK={uuid.uuid4().hex}"
    name, value = mark.split("=")
    command = "sleep 300 & setsid sleep 300 </dev/null >/dev/null 2>&1 & echo started; sleep 300"
    result = sandbox.exec(command, timeout_s=2, env={name: value})
    assert result.timed_out and result.exit_code == -1
    assert result.describe_failure().startswith("timed out")
    assert 1.5 < result.duration_s < 10
    assert "started" in result.output
    assert wait_until(lambda: not processes_with_env(mark), 10), f"survivors: {processes_with_env(mark)}"
    assert sandbox.exec("echo still usable").output.strip() == "still usable"


@pytest.mark.parametrize("says", ["echo launched", "true"], ids=["printing", "silent"])
def test_background_children_end_with_their_command(sandbox, says):
    mark = f"SHIPYARD_TEST_MARK={uuid.uuid4().hex}"
    name, value = mark.split("=")
    result = sandbox.exec(f"sleep 300 & {says}", env={name: value})
    assert result.ok and ("launched" in result.output) == (says != "true")
    assert result.duration_s < 5
    assert wait_until(lambda: not processes_with_env(mark), 10)


def test_output_is_capped_keeping_head_and_tail(sandbox, provider_for):
    spec = SandboxSpec(image=SMALL_SPEC.image, output_cap_bytes=10_000)
    box = provider_for(sandbox.backend).acquire(spec)
    try:
        result = box.exec("echo BEGIN; head -c 5000000 /dev/zero | tr '\\0' a; echo; echo END")
    finally:
        box.close()
    assert result.ok
    assert result.output.startswith("BEGIN\naaaa")
    assert result.output.rstrip().endswith("END")
    assert result.elided_bytes == 6 + 5_000_000 + 1 + 4 - 10_000
    assert f"{result.elided_bytes} bytes of output elided" in result.output
    assert len(result.output) < 10_200


def test_environment_holds_nothing_from_the_orchestrator(sandbox, monkeypatch):
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", "sekrit-token-value-123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sekrit-key")
    result = sandbox.exec("env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")
    assert result.ok, result.output
    assert "sekrit" not in result.output
    assert "SHIPYARD_GITHUB_TOKEN" not in result.output and "OPENAI_API_KEY" not in result.output
    names = {line.split("=", 1)[0] for line in result.output.splitlines() if "=" in line}
    assert {"PATH", "HOME", "LANG"} <= names


def test_run_setup_stops_at_the_first_failing_command(sandbox):
    results = sandbox.run_setup(["echo one > one.txt", "echo broken >&2; exit 4", "echo three > three.txt"])
    assert [r.exit_code for r in results] == [0, 4]
    assert "broken" in results[-1].output
    assert sandbox.read_file("one.txt") == b"one\n"
    assert not (sandbox.host_workspace / "three.txt").exists()


def test_files_the_orchestrator_puts_in_the_workspace_are_editable_inside(sandbox):
    # As a git checkout on the host would: written directly, owned by the orchestrator's user.
    (sandbox.host_workspace / "src").mkdir()
    (sandbox.host_workspace / "src" / "app.py").write_text("x = 1\n")
    result = sandbox.exec("echo 'y = 2' >> src/app.py && touch src/new.py && rm -f src/app.py.bak")
    assert result.ok, result.output
    assert sandbox.read_file("src/app.py") == b"x = 1\ny = 2\n"


@pytest.mark.docker
def test_close_releases_everything_and_is_idempotent(provider_for):
    for backend in ("docker", "bwrap", "local"):
        box = provider_for(backend).acquire(SMALL_SPEC)
        box.write_file("a.txt", b"a")
        workspace = box.host_workspace
        box.close()
        box.close()
        assert not workspace.exists(), backend
        with pytest.raises(Exception, match="closed"):
            box.exec("true")


@pytest.mark.docker
def test_backend_names_and_isolation_flags(provider_for):
    expected = {"docker": ("docker", True), "bwrap": ("bwrap", True), "local": ("local", False)}
    for backend, (name, isolated) in expected.items():
        provider = provider_for(backend)
        box = provider.acquire(SMALL_SPEC)
        try:
            assert (box.backend, box.isolated) == (name, isolated)
        finally:
            box.close()
        if isolated:
            assert provider.warning is None
        else:
            assert "UNISOLATED" in provider.warning


def test_exec_after_an_unknown_cwd_fails_as_a_command_not_a_crash(sandbox):
    result = sandbox.exec("true", cwd="no/such/dir")
    assert not result.ok
    assert "no/such/dir" in result.output
