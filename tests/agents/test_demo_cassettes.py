"""Every demo cassette really edits the sample repository through the tools, and its last
attempt yields code whose tests pass with >= 90% coverage of the changed source lines."""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from agents.cassette import load_cassette
from agents.loop import AgentLimits, CodingTask, run_coding_agent
from agents.scripted import ScriptedChatModel
from sandboxes.base import SandboxSpec
from tests.agents.conftest import DEMO_ASSETS, SAMPLE_REPO, fill_workspace
from workflows.repo_config import load_repo_config

TICKETS = sorted((DEMO_ASSETS / "tickets").glob("*.yml"))
CONFIG = load_repo_config(SAMPLE_REPO)


def _ticket(path: Path) -> tuple[dict, object]:
    data = yaml.safe_load(path.read_text())
    return data, load_cassette(path.parent / data["cassette"])


def _changed_files(sandbox) -> dict[str, list[int]]:
    """Files that differ from the sample repo, with the changed line numbers of the new version."""
    changed: dict[str, list[int]] = {}
    for host_path in sorted(sandbox.host_workspace.rglob("*")):
        rel = host_path.relative_to(sandbox.host_workspace).as_posix()
        if not host_path.is_file() or not rel.endswith(".py") or "__pycache__" in rel:
            continue
        new = host_path.read_text().splitlines()
        base_file = SAMPLE_REPO / rel
        old = base_file.read_text().splitlines() if base_file.exists() else []
        lines = []
        for op, _, _, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
            if op in ("replace", "insert"):
                lines.extend(range(j1 + 1, j2 + 1))
        if lines:
            changed[rel] = lines
    return changed


def _diff_coverage(sandbox, changed: dict[str, list[int]]) -> float:
    root = ET.fromstring(sandbox.read_file(CONFIG.test.coverage.path))
    hits: dict[str, dict[int, int]] = {}
    for cls in root.iter("class"):
        hits[cls.get("filename")] = {int(line.get("number")): int(line.get("hits")) for line in cls.iter("line")}
    executable = covered = 0
    for path, lines in changed.items():
        if path.startswith("tests/"):
            continue
        file_hits = hits.get(path, {})
        for line in lines:
            if line in file_hits:
                executable += 1
                covered += file_hits[line] > 0
    return 100.0 * covered / executable if executable else 100.0


def _run_attempt(sandbox, recorder, cassette, ticket, attempt, feedback=""):
    model = ScriptedChatModel(cassette=cassette, role="code", attempt=attempt)
    task = CodingTask(
        ticket_title=ticket["title"],
        ticket_body=ticket["body"],
        attempt=attempt,
        feedback=feedback,
        test_command=CONFIG.test.command,
        instructions=(SAMPLE_REPO / "AGENTS.md").read_text(),
    )
    return run_coding_agent(model, sandbox, task, recorder=recorder, limits=AgentLimits(max_steps=30))


@pytest.mark.slow
@pytest.mark.parametrize("ticket_file", [t for t in TICKETS if _ticket(t)[1].code], ids=lambda p: p.stem)
def test_final_attempt_passes_with_diff_coverage(ticket_file, sandbox_provider, recorder):
    """Attempts build on each other in one workspace, as in a job (a retry fixes forward)."""
    ticket, cassette = _ticket(ticket_file)
    attempts = len(cassette.code)
    sandbox = sandbox_provider.acquire(SandboxSpec(command_timeout_s=120))
    fill_workspace(sandbox, SAMPLE_REPO)
    try:
        for attempt in range(1, attempts + 1):
            result = _run_attempt(
                sandbox,
                recorder,
                cassette,
                ticket,
                attempt,
                feedback="tests-added gate failed: the change adds no tests" if attempt > 1 else "",
            )
            assert result.stop_reason == "finished", result.detail
            changed = _changed_files(sandbox)
            tests_changed = any(p.startswith("tests/") for p in changed)
            if attempt < attempts:
                assert not tests_changed, "earlier attempts are the ones the gate rejects for missing tests"
                continue
            assert tests_changed, f"{ticket_file.name}: final attempt added no tests"
            run = sandbox.exec(CONFIG.test.command, timeout_s=120)
            assert run.ok, run.output[-2000:]
            assert _diff_coverage(sandbox, changed) >= CONFIG.gates.coverage.target
    finally:
        sandbox.close()


def test_every_ticket_names_a_loadable_cassette():
    assert len(TICKETS) >= 4
    for path in TICKETS:
        ticket, cassette = _ticket(path)
        assert ticket["title"] and ticket["body"] and "shipyard" in ticket["labels"]
        assert cassette.triage is not None, path.name


def test_sample_repo_config_declares_coverage_target():
    assert CONFIG.gates.coverage.target == 90
    assert "--cov" in CONFIG.test.command
