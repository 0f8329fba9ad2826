"""Every repository gets its own environment on every backend, cached by what decides it.

Dependencies come from wheels the test makes (installed offline with ``--find-links``): one no
index holds, a ``pydantic`` 1.x where Shipyard runs pydantic 2, and a ``pytest`` the repository
pins that must not replace the gate's.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from importlib import metadata

import pytest
from sandbox_test_support import SMALL_SPEC, backends
from wheels import repository_wheels

from sandboxes.local import LocalSandboxProvider

SETUP = ["python -m pip install -q --no-index --find-links wheels -r requirements.txt"]
REQUIREMENTS = "tinydep==1.0\npydantic==1.10.99\npytest==1.0\n"
PROBE = (
    "python -c 'import json, sys, tinydep, pydantic, pytest; "
    'print(json.dumps({"prefix": sys.prefix, "shout": tinydep.shout("hi"), "pydantic": pydantic.VERSION, '
    '"pytest": pytest.__version__}))\''
)


def fill(box, tmp_path, requirements: str = REQUIREMENTS) -> None:
    repository_wheels(tmp_path / "wheels")
    for wheel in sorted((tmp_path / "wheels").iterdir()):
        box.write_file(f"wheels/{wheel.name}", wheel.read_bytes())
    box.write_file("requirements.txt", requirements.encode())


@pytest.mark.parametrize("backend", backends("docker", "bwrap", "local"))
def test_setup_installs_into_the_repositorys_own_environment_and_the_gates_pytest_stays(
    backend, provider_for, tmp_path
):
    box = provider_for(backend).acquire(SMALL_SPEC)
    try:
        fill(box, tmp_path, REQUIREMENTS + f"# {backend} own\n")
        [setup] = box.run_setup(SETUP)
        assert setup.ok, setup.output
        probe = box.exec(PROBE)
        assert probe.ok, probe.output
        seen = json.loads(probe.output.strip().splitlines()[-1])
        assert seen["shout"] == "HI!" and seen["pydantic"] == "1.10.99"
        assert seen["prefix"].endswith("/env/root/venv")
        # The repository pinned pytest 1.0; the gate's own pytest is the one that runs.
        assert seen["pytest"] == metadata.version("pytest")
        version = box.exec("python -m pytest --version && pytest --version")
        assert version.ok and version.output.count(f"pytest {metadata.version('pytest')}") == 2, version.output
        # Shipyard's own packages are not there.
        shipyard_deps = box.exec("python -c 'import sqlalchemy'")
        assert not shipyard_deps.ok and "No module named 'sqlalchemy'" in shipyard_deps.output
        assert box.environment_report is not None and not box.environment_report.cached
        # The key covers the requirements and the wheel directory the setup command names.
        assert box.environment_report.files == [
            "requirements.txt",
            "wheels/pydantic-1.10.99-py3-none-any.whl",
            "wheels/pytest-1.0-py3-none-any.whl",
            "wheels/tinydep-1.0-py3-none-any.whl",
        ]
    finally:
        box.close()


def test_a_plain_sandbox_gets_a_copy_of_the_cached_environment_with_its_own_paths(plain_provider, tmp_path):
    reports = []
    for _ in range(2):
        box = plain_provider.acquire(SMALL_SPEC)
        try:
            fill(box, tmp_path, REQUIREMENTS + "# plain copy\n")
            assert box.run_setup(SETUP)[0].ok
            reports.append(box.environment_report)
            # The console script's shebang names this sandbox's environment, not the builder's (gone).
            run = box.exec("tinydep && head -1 $(command -v tinydep)")
            assert run.ok and run.output.startswith("CLI!\n"), run.output
            assert str(box.host_workspace.parent) in run.output
        finally:
            box.close()
    assert [r.cached for r in reports] == [False, True]


@pytest.mark.parametrize("backend", backends("docker", "bwrap"))
def test_a_second_sandbox_starts_from_the_cached_environment_with_a_private_writable_layer(
    backend, provider_for, tmp_path
):
    provider = provider_for(backend)
    requirements = REQUIREMENTS + f"# {backend} cached\n"
    boxes = []
    try:
        for _ in range(3):
            box = provider.acquire(SMALL_SPEC)
            boxes.append(box)
            fill(box, tmp_path, requirements)
            [setup] = box.run_setup(SETUP)
            assert setup.ok, setup.output
        first, second, third = (b.environment_report for b in boxes)
        assert not first.cached and second.cached and third.cached
        assert first.key == second.key == third.key
        # One sandbox changing its environment changes nobody else's.
        removed = boxes[1].exec("python -m pip uninstall -q -y tinydep && python -c 'import tinydep'")
        assert not removed.ok and "No module named 'tinydep'" in removed.output
        assert boxes[2].exec(PROBE).ok
        # Nor can it touch the gate's tooling.
        tamper = boxes[1].exec("echo 'raise SystemExit(1)' > /shipyard/gate/site/pytest/__init__.py")
        assert not tamper.ok and "Read-only file system" in tamper.output, tamper.output
        # A changed dependency file makes a new environment.
        changed = provider.acquire(SMALL_SPEC)
        boxes.append(changed)
        fill(changed, tmp_path, "tinydep==1.0\n" + f"# {backend} cached\n")
        [setup] = changed.run_setup(SETUP)
        assert setup.ok, setup.output
        assert not changed.environment_report.cached and changed.environment_report.key != first.key
        assert not changed.exec("python -c 'import pydantic'").ok
    finally:
        for box in boxes:
            box.close()


@pytest.mark.parametrize("backend", backends("bwrap", "local"))
def test_npm_ci_works_and_its_node_modules_come_back_from_the_cache(backend, provider_for, tmp_path):
    repo = tmp_path / "repo"
    (repo / "vendor" / "leftpad").mkdir(parents=True)
    (repo / "vendor" / "leftpad" / "package.json").write_text('{"name": "leftpad", "version": "1.0.0"}\n')
    (repo / "vendor" / "leftpad" / "index.js").write_text("module.exports = (s, n) => String(s).padStart(n, '0');\n")
    (repo / "package.json").write_text(
        '{"name": "app", "version": "1.0.0", "private": true, "dependencies": {"leftpad": "file:vendor/leftpad"}}\n'
    )
    subprocess.run(
        ["npm", "install", "--offline", "--no-audit", "--no-fund"], cwd=repo, check=True, capture_output=True
    )
    files = ["package.json", "package-lock.json", "vendor/leftpad/package.json", "vendor/leftpad/index.js"]
    reports = []
    for _ in range(2):
        box = provider_for(backend).acquire(SMALL_SPEC)
        try:
            for name in files:
                box.write_file(name, (repo / name).read_bytes())
            box.write_file("backend.txt", backend.encode())
            [setup] = box.run_setup([f"npm ci --offline --no-audit --no-fund # {backend}"])
            assert setup.ok, setup.output
            run = box.exec("node -e \"console.log(require('leftpad')(7, 3))\"")
            assert run.ok and run.output.strip() == "007", run.output
            reports.append(box.environment_report)
        finally:
            box.close()
    assert [r.cached for r in reports] == [False, True]


def test_environments_unused_for_the_retention_period_are_reaped_and_built_again(tmp_path):
    from orchestrator.housekeeping.environment_retention import collect_environments

    provider = LocalSandboxProvider(tmp_path / "data" / "sandboxes", isolation="bwrap")
    keys = []
    for comment in ("old", "recent"):
        box = provider.acquire(SMALL_SPEC)
        try:
            fill(box, tmp_path, REQUIREMENTS + f"# {comment}\n")
            assert box.run_setup(SETUP)[0].ok
            keys.append(box.environment_report.key)
        finally:
            box.close()
    envs = tmp_path / "data" / "envs"
    long_ago = time.time() - 15 * 86400
    os.utime(envs / keys[0] / "last_used", (long_ago, long_ago))

    freed = collect_environments(tmp_path / "data", retain_days=14)
    assert [f.key for f in freed] == [keys[0]] and freed[0].bytes > 0
    assert not (envs / keys[0]).exists() and (envs / keys[1]).is_dir()
    box = provider.acquire(SMALL_SPEC)
    try:
        fill(box, tmp_path, REQUIREMENTS + "# old\n")
        assert box.run_setup(SETUP)[0].ok
        assert box.environment_report.key == keys[0] and not box.environment_report.cached
    finally:
        box.close()
