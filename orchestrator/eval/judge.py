"""The hidden tests, run as SWE-bench's harness runs them, in the environment the job's gate used.

For a candidate commit: check it out, put every file the ``test_patch`` touches back to the base
commit (an agent that edited the same test file must not make the hidden patch fail to apply),
apply ``test_patch``, run the repository's ``setup`` commands, then its ``test.select_command``
with FAIL_TO_PASS + PASS_TO_PASS, in a sandbox made from the same ``.shipyard.yml`` (image,
network policy, limits) as the gate's. Everything that happened is written to a per-instance log."""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from orchestrator.eval.instances import EvalInstance
from orchestrator.settings import Settings
from orchestrator.store.db import Store
from orchestrator.store.tables import Repository
from orchestrator.worker.sandboxing import sandbox_provider
from sandboxes.base import Sandbox, SandboxError, SandboxSpec
from workflows.gates.hygiene import describe, workspace_problems
from workflows.gates.junit import node_id
from workflows.gates.suite import run_tests
from workflows.gitops import GitRepo
from workflows.nodes.code import configured_spec
from workflows.nodes.prepare import config_source
from workflows.repo_config import CONFIG_FILE, RepoConfig, parse_repo_config

DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.MULTILINE)


@dataclass
class HiddenTestRun:
    failing: list[str]
    """FAIL_TO_PASS / PASS_TO_PASS tests that did not pass, or one ``(reason)`` when none could run."""
    log: list[str] = field(default_factory=list)


def test_patch_files(test_patch: str) -> list[str]:
    """Every path the patch touches (both sides of a rename), in order, without repeats."""
    paths: list[str] = []
    for a, b in DIFF_HEADER.findall(test_patch):
        for path in (a, b):
            if path not in paths:
                paths.append(path)
    return paths


def job_config(store: Store | None, repo: GitRepo, base_sha: str, repo_name: str) -> RepoConfig:
    """The configuration the job's gate used: the committed ``.shipyard.yml`` at the base commit,
    else the copy kept in the store, else the defaults (as the ``prepare`` step chooses)."""
    stored = None
    if store is not None:
        with store.session() as s:
            stored = s.scalar(select(Repository.config_yaml).where(Repository.name == repo_name))
    text, name, _ = config_source(repo.show_file(base_sha, CONFIG_FILE), stored)
    return parse_repo_config(text, name) if text is not None else RepoConfig()


def gate_spec(settings: Settings, cfg: RepoConfig) -> SandboxSpec:
    """The gate's sandbox for this configuration (a repository Dockerfile's image is not built here:
    the default image stands in, and the log says so)."""
    return configured_spec(cfg, cfg.sandbox.image or settings.sandbox_image)


def _reset_to_base(sandbox: Sandbox, repo: GitRepo, base_sha: str, paths: list[str]) -> list[str]:
    notes = []
    for path in paths:
        data = repo.show_file(base_sha, path)
        target = sandbox.host_workspace / path
        if data is not None:
            sandbox.write_file(path, data)
            notes.append(f"reset {path} to the base commit")
        elif target.is_file() or target.is_symlink():
            target.unlink()
            notes.append(f"removed {path} (not in the base commit)")
    return notes


def _tracked_python_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.py") if ".shipyard" not in p.parts}


def run_hidden_tests(
    settings: Settings, repo: GitRepo, cfg: RepoConfig, sha: str, base_sha: str, instance: EvalInstance
) -> HiddenTestRun:
    """FAIL_TO_PASS + PASS_TO_PASS on ``sha`` with ``test_patch`` applied; never raises for bad input."""
    tests = [*instance.FAIL_TO_PASS, *instance.PASS_TO_PASS]
    log = [f"instance {instance.instance_id}: candidate {sha}, base {base_sha}"]
    if cfg.sandbox.dockerfile:
        log.append(f"note: sandbox.dockerfile {cfg.sandbox.dockerfile} is not built by eval; default image used")
    try:
        sandbox = sandbox_provider(settings).acquire(gate_spec(settings, cfg))
    except SandboxError as exc:
        return HiddenTestRun([f"(no sandbox: {exc})"], log)
    try:
        return _run_in(sandbox, repo, cfg, sha, base_sha, instance, tests, log)
    finally:
        sandbox.close()


def _run_in(
    sandbox: Sandbox,
    repo: GitRepo,
    cfg: RepoConfig,
    sha: str,
    base_sha: str,
    instance: EvalInstance,
    tests: list[str],
    log: list[str],
) -> HiddenTestRun:
    repo.checkout(sha, sandbox.host_workspace)
    log += _reset_to_base(sandbox, repo, base_sha, test_patch_files(instance.test_patch))
    applied = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "-v", "-"],
        input=instance.test_patch.encode(),
        cwd=sandbox.host_workspace,
        capture_output=True,
    )
    log.append("$ git apply test_patch\n" + (applied.stdout + applied.stderr).decode(errors="replace").strip())
    if applied.returncode != 0:
        why = applied.stderr.decode(errors="replace").strip().splitlines()
        return HiddenTestRun([f"(test_patch does not apply: {' '.join(why)[:300]})"], log)
    results = sandbox.run_setup(cfg.setup)
    env = sandbox.environment_report
    if env is not None and env.cached:  # the environment the job's setup built: nothing ran again
        log += [f"$ {command}  # setup, not run again" for command in cfg.setup] + [env.describe()]
    else:
        for command, result in zip(cfg.setup, results, strict=False):
            log.append(f"$ {command}  # setup\n{result.output.strip()[-4000:]}")
            if not result.ok:
                return HiddenTestRun([f"(setup command `{command}` {result.describe_failure()})"], log)
    problems = workspace_problems(sandbox.host_workspace)
    if problems:
        return HiddenTestRun([f"(refused before running tests: {describe(problems)})"], log)
    command = cfg.test.select_command.replace("{tests}", " ".join(shlex.quote(t) for t in tests))
    run = run_tests(sandbox, command, cfg, label="hidden tests", tracked=set(), with_coverage=False)
    log.append(f"$ {command}\n{run.output_tail}")
    files = _tracked_python_files(sandbox.host_workspace)
    passed = {node_id(c, files) or c.key for c in run.cases.values() if c.outcome == "passed"}
    failing = [t for t in tests if t not in passed]
    if run.error and failing:
        log.append(f"error: {run.error}")
    log.append("failing: " + (", ".join(failing) or "none"))
    return HiddenTestRun(failing, log)
