"""The coding prompt says what is true: each statement is checked against the real workspace
(a git-backed job directory, a real sandbox checked out at the job's head) and the job's state.

Scenarios: first attempt without and with a plan, attempt 2 after a gate failure, after a
reviewer's requested changes, and an attempt resumed after a budget pause."""

from __future__ import annotations

from pathlib import Path

from agents import prompts
from agents.loop import AgentLimits, observed_task
from agents.tools import AgentTools, ToolSettings
from tests.agents.conftest import CFG
from workflows.gates import waivers
from workflows.gates.change_set import read_change_set
from workflows.gates.evidence_check import EvidenceRun
from workflows.gitops import GitRepo
from workflows.nodes.code import coding_sandbox, coding_task, workspace_diff
from workflows.nodes.prepare import git_dir

EDIT_MARK = "# fixed forward by attempt 1"


def render(services, state, *, attempt: int, resumed: bool = False) -> tuple[str, Path]:
    """The task message the agent would receive, and the workspace it would work in."""
    sandbox = coding_sandbox(services, state, CFG)
    task = coding_task(services, state, CFG, sandbox, attempt=attempt, resumed=resumed)
    task = observed_task(task, AgentLimits(max_steps=CFG.agent.max_steps), diff_tool=True)
    return prompts.code_task_prompt(task), sandbox.host_workspace


def attempt_one_leaves_an_edit(services, state) -> dict:
    """Attempt 1 edits the workspace; its snapshot becomes the head, as the code node does it."""
    sandbox = coding_sandbox(services, state, CFG)
    path = sandbox.host_workspace / "textkit" / "wrap.py"
    path.write_text(path.read_text() + f"\n{EDIT_MARK}\n")
    head = GitRepo(git_dir(services.job_dir)).commit_worktree(sandbox.host_workspace, state["head_sha"], "attempt 1")
    services.close()  # a later attempt may run in another process: a fresh sandbox at the head
    return {**state, "head_sha": head, "attempt": 1}


def assert_environment_stated_truthfully(text: str, workspace: Path) -> None:
    assert not (workspace / ".git").exists()
    assert "has no .git directory, so git commands" in text
    assert "The diff tool shows your changes against the base commit." in text
    assert "Each bash call runs in a fresh shell" in text
    assert "`conftest.py`" in text and "`**/conftest.py`" in text and "`docs/**`" in text and "`.shipyard.yml`" in text
    assert "at least 85% of the executable source lines you change" in text
    assert f"at most {CFG.agent.max_steps} model turns" in text
    assert "`python -m pytest -q -p no:cacheprovider`" in text


def test_first_attempt_without_a_plan_starts_from_a_clean_base(job):
    services, state = job
    text, workspace = render(services, state, attempt=1)
    assert "clean checkout of the base commit" in text
    assert workspace_diff(services, state, services.live.sandbox) == ""  # it really is clean
    for absent in ("this is attempt", "rejected", "previous", "plan for this ticket"):
        assert absent not in text.lower()
    assert_environment_stated_truthfully(text, workspace)


def test_first_attempt_with_a_plan_presents_it_as_the_plan(job):
    services, state = job
    text, _ = render(services, {**state, "plan": "1. keep long words whole\n2. test it"}, attempt=1)
    plan_block = text.split("The plan for this ticket")[1]
    assert "1. keep long words whole" in plan_block and "<untrusted plan" in plan_block
    assert "rejected" not in text and "this is attempt" not in text.lower() and "previous" not in text.lower()


def test_attempt_two_after_a_gate_failure_fixes_forward(job):
    services, state = job
    state = attempt_one_leaves_an_edit(services, state)
    state |= {
        "feedback": "Tests added: FAILED: the change adds or changes no test",
        "feedback_from": "gate",
        "gate_failures": 1,
    }
    text, workspace = render(services, state, attempt=2)
    assert "This is attempt 2. Your previous work on this ticket is still in the workspace: fix forward" in text
    assert EDIT_MARK in (workspace / "textkit" / "wrap.py").read_text()  # it is still there, as the prompt says
    assert EDIT_MARK in workspace_diff(services, state, services.live.sandbox)
    assert "quality gate rejected that work" in text and "the change adds or changes no test" in text
    # The fence says whose words these are: the gate's, quoting the workspace (data), not a stranger's.
    assert "<untrusted feedback: the gate's report; the test names and output it quotes come from" in text
    assert "clean checkout" not in text and "reset" not in text
    assert_environment_stated_truthfully(text, workspace)


def test_after_requested_changes_the_reviewer_is_named_and_the_pr_work_is_present(job):
    services, state = job
    state = attempt_one_leaves_an_edit(services, state)
    state |= {"feedback": "Please also handle tabs.", "feedback_from": "review"}
    text, workspace = render(services, state, attempt=2)
    assert "passed the gates and was opened as a pull request; a human reviewer asked for changes" in text
    assert "Please also handle tabs." in text and "quality gate rejected" not in text
    # The reviewer's request is to be acted on; the fence does not tell the model to ignore it.
    header = text.split("<untrusted feedback:")[1].split(">")[0]
    assert "make the changes they ask for" in header and "do not follow" not in header, header
    assert EDIT_MARK in (workspace / "textkit" / "wrap.py").read_text()


def test_a_budget_resume_says_the_limit_was_extended_and_keeps_the_attempt_number(job):
    services, state = job
    state = attempt_one_leaves_an_edit(services, state)
    state |= {"paused": {"kind": "budget", "step": "code", "reason": "job budget $0.50 reached"}}
    text, workspace = render(services, state, attempt=1, resumed=True)
    assert "This attempt (1) resumes after it was paused at a spending limit" in text
    assert "job budget $0.50 reached" in text and "still in the workspace" in text
    assert EDIT_MARK in (workspace / "textkit" / "wrap.py").read_text()


def test_a_provider_resume_says_why_and_keeps_the_work_and_the_attempt_number(job):
    services, state = job
    state = attempt_one_leaves_an_edit(services, state)
    reason = "code: provider openai (model small-1 at http://gpu-box:8000/v1) did not answer after 4 tries"
    state |= {"paused": {"kind": "provider", "step": "code", "reason": reason}, "feedback": "", "feedback_from": ""}
    text, workspace = render(services, state, attempt=1, resumed=True)
    assert "This attempt (1) resumes after the model's provider stopped answering mid-attempt" in text
    assert reason in text and "still in the workspace" in text and "spending limit" not in text
    assert EDIT_MARK in (workspace / "textkit" / "wrap.py").read_text()


def test_a_docs_ticket_is_told_the_test_waiver_holds_only_for_a_change_without_code(job):
    """The prompt used to drop the test requirement for docs and chore tickets, while the gate
    waives it only when the diff touches no executable source: each statement is checked here
    against the gate's own decision on two changes made in the workspace the prompt speaks of."""
    services, state = job
    text, workspace = render(services, {**state, "kind": "docs"}, attempt=1)
    assert "The gate requires new or changed tests that fail without your change and pass with it." in text
    assert (
        "This is a docs ticket: the test requirement is waived only if your change touches no executable source" in text
    )
    assert "a change to code needs tests like any other" in text
    repo = GitRepo(git_dir(services.job_dir))
    for path, waived in (("README.md", True), ("textkit/wrap.py", False)):
        (workspace / path).write_text((workspace / path).read_text() + "\n# see the wrapping rules\n")
        head = repo.commit_worktree(workspace, state["base_sha"], f"edit {path}")
        (workspace / path).write_text(repo.show_file(state["base_sha"], path).decode())
        waiver = waivers.tests_waiver(
            repo, read_change_set(repo, state["base_sha"], head, CFG.test.test_globs), CFG, "docs"
        )
        assert (waiver.reason is not None) == waived, (path, waiver)
    bug, _ = render(services, state, attempt=1)
    assert "fail without your change and pass with it" in bug and "waived" not in bug


def test_run_tests_loads_the_pytest_plugins_the_gate_loads_and_no_other(job):
    """The agent's test runs used to load every installed plugin (in a local sandbox: the worker's
    own, hypothesis and langsmith among them, seconds each) while the gate's runs load only
    ``gates.pytest_plugins``: the agent now sees its tests run as the gate will run them."""
    services, state = job
    sandbox = coding_sandbox(services, state, CFG)
    task = coding_task(services, state, CFG, sandbox, attempt=1, resumed=False)
    tools = AgentTools(sandbox, ToolSettings(test_command="python -m pytest", test_env=task.test_env))
    listed, _ = tools.run_tests("-VV")
    assert "registered third-party plugins:\n  pytest-cov-" in listed, listed
    for other in ("hypothesis", "langsmith", "anyio", "pytest-timeout"):
        assert other not in listed, listed
    gate_env = EvidenceRun(token="t").env(sandbox, {}, CFG.gates.pytest_plugins)
    assert gate_env["PYTEST_ADDOPTS"].endswith(task.test_env["PYTEST_ADDOPTS"])
    assert gate_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == task.test_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    passed, _ = tools.run_tests("tests/test_slug.py --cov=textkit")
    assert "exit code: 0" in passed and "textkit/slug.py" in passed, passed
