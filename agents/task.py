"""What one coding attempt is asked to do, and the facts of the state it starts in.

The workflow fills these from the job's state and the workspace it actually checked out;
``agents.prompts.code_task_prompt`` renders them, so the prompt can only say what is true."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FeedbackSource = Literal["", "gate", "review", "budget", "provider"]


@dataclass(frozen=True)
class WorkspaceFacts:
    """The environment the agent works in, as observed, not as assumed."""

    has_git: bool = False
    """A ``.git`` directory is present in the workspace (git commands work there)."""
    diff_tool: bool = True
    """The ``diff`` tool (changes against the base commit, computed outside the sandbox) is offered."""
    fresh_shell_per_command: bool = True
    """Each ``bash`` call runs in a new shell: ``cd``, variables and background jobs do not persist."""
    protected_paths: tuple[str, ...] = ()
    """Glob patterns the gate refuses changes to (built-in list plus the repository's own)."""
    coverage_target: float | None = 90.0
    """Diff-coverage target in percent; ``None`` when the coverage gate is off."""
    max_steps: int = 40
    """Model turns allowed in this attempt."""
    time_limit_s: float | None = None
    """Wall-clock seconds this attempt may take; ``None`` = no limit."""
    tests_required: bool = True
    """The gate requires new or changed tests that fail before the change and pass after it."""
    tests_waived_without_code: str = ""
    """The ticket's kind when ``gates.waive_tests_for_kinds`` names it: the gate then waives the test
    requirement only for a change that touches no executable source; empty otherwise."""


@dataclass(frozen=True)
class CodingTask:
    """What one coding attempt is asked to do."""

    ticket_title: str
    ticket_body: str
    instructions: str = ""
    """AGENTS.md / CONTRIBUTING.md text from the repository."""
    feedback: str = ""
    """The gate's summary, a reviewer's comments or the budget pause reason; empty on a first attempt."""
    attempt: int = 1
    test_command: str = "python -m pytest -q"
    """The repository's test command (``run_tests`` runs it)."""
    repo_map: str = ""
    """``agents.repomap.build_repo_map`` output; empty to leave it out."""
    select_test_command: str = ""
    """Selected-tests command with ``{tests}``; empty → selector appended to ``test_command``."""
    test_env: dict[str, str] = field(default_factory=dict)
    """Environment of ``run_tests``: the pytest plugins the gate's runs load, and no other."""
    plan: str = ""
    """The plan written (and possibly approved) for this ticket; empty when none was made."""
    feedback_from: FeedbackSource = ""
    """Who wrote ``feedback``: the quality gate, a human reviewer, or a budget or provider pause being resumed."""
    previous_work: bool = False
    """The workspace holds earlier attempts' changes (its head is not the base commit)."""
    workspace: WorkspaceFacts = field(default_factory=WorkspaceFacts)
