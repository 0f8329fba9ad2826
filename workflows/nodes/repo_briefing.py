"""What the model is shown about the repository: a map of it and its own instructions."""

from __future__ import annotations

from pathlib import Path

from agents.repomap import build_repo_map
from workflows.gitops import GitRepo
from workflows.nodes.prepare import BASE_MARKER, base_tree_dir, git_dir
from workflows.ports import JobServices
from workflows.state import TicketState

INSTRUCTION_FILES = ("AGENTS.md", "CONTRIBUTING.md")
_MAX_INSTRUCTIONS = 8000


def base_tree(services: JobServices, state: TicketState) -> Path:
    """A read-only checkout of the base commit on the orchestrator's host (parsed, never run)."""
    tree = base_tree_dir(services.job_dir)
    marker = tree / BASE_MARKER
    if not marker.exists() or marker.read_text() != state["base_sha"]:
        GitRepo(git_dir(services.job_dir)).checkout(state["base_sha"], tree)
        marker.write_text(state["base_sha"])
    return tree


def repo_map_of(services: JobServices, state: TicketState) -> str:
    return build_repo_map(base_tree(services, state))


def instructions_of(services: JobServices, state: TicketState) -> str:
    """``AGENTS.md`` and ``CONTRIBUTING.md`` of the base commit, given to the agent as instructions."""
    repo = GitRepo(git_dir(services.job_dir))
    parts = []
    for name in INSTRUCTION_FILES:
        raw = repo.show_file(state["base_sha"], name)
        if raw:
            parts.append(f"## {name}\n{raw.decode('utf-8', 'replace')[:_MAX_INSTRUCTIONS]}")
    return "\n\n".join(parts)
