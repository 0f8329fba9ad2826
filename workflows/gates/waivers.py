"""When the tests-added and fail-to-pass gates may be waived.

The ticket's kind comes from a model reading the ticket, which is untrusted text: a ticket
that talks its way into ``docs`` must not buy a code change without tests. So a kind named
in ``gates.waive_tests_for_kinds`` waives those gates only when the diff itself touches no
executable source — decided here, from the change, never from the label alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.gates.change_set import ChangeSet
from workflows.gitops import GitRepo
from workflows.repo_config import RepoConfig

CODE_SUFFIXES = (
    ".py",
    ".pyi",
    ".pyx",
    ".pxd",
    ".js",
    ".mjs",
    ".cjs",
    ".jsx",
    ".ts",
    ".mts",
    ".cts",
    ".tsx",
    ".vue",
    ".svelte",
    ".sh",
    ".bash",
    ".zsh",
    ".fish",
    ".ps1",
    ".bat",
    ".cmd",
    ".rb",
    ".go",
    ".rs",
    ".java",
    ".kt",
    ".kts",
    ".scala",
    ".groovy",
    ".gradle",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".cxx",
    ".hpp",
    ".hh",
    ".m",
    ".mm",
    ".cs",
    ".fs",
    ".php",
    ".pl",
    ".pm",
    ".lua",
    ".swift",
    ".dart",
    ".ex",
    ".exs",
    ".erl",
    ".hs",
    ".clj",
    ".r",
    ".jl",
    ".sql",
    ".wasm",
    ".so",
    ".dll",
    ".dylib",
)
"""File name endings of code (compared case-insensitively)."""
CODE_NAMES = ("Makefile", "GNUmakefile", "Dockerfile", "Rakefile", "Gemfile", "Justfile", "SConstruct")
"""Files without a code suffix that still run."""


@dataclass(frozen=True)
class Waiver:
    reason: str | None = None
    """Why the two gates are waived; None when they apply."""
    refused: str = ""
    """Why a waiver the ticket's kind asked for was not given (said beside the failing gates)."""


def _executable_modes(repo: GitRepo, sha: str, paths: list[str]) -> set[str]:
    if not paths:
        return set()
    out = repo.git("ls-tree", "-z", sha, "--", *paths)
    return {entry.split("\t", 1)[1] for entry in out.split("\0") if entry.startswith("100755 ") and "\t" in entry}


def executable_sources(repo: GitRepo, changes: ChangeSet) -> list[str]:
    """Changed non-test files that are code: by name, by executable mode, or by a ``#!`` line."""
    found: list[str] = []
    present = [f.path for f in changes.files if f.status != "D" and not changes.is_test(f.path)]
    executable = _executable_modes(repo, changes.candidate_sha, present)
    for f in changes.files:
        for path in dict.fromkeys([f.path, f.old_path or f.path]):
            if changes.is_test(path):
                continue
            name = path.rsplit("/", 1)[-1]
            data = repo.show_file(changes.candidate_sha, path) if f.status != "D" and path == f.path else None
            if (
                name.lower().endswith(CODE_SUFFIXES)
                or name in CODE_NAMES
                or path in executable
                or (data or b"").startswith(b"#!")
            ):
                found.append(path)
    return sorted(set(found))


def tests_waiver(repo: GitRepo, changes: ChangeSet, config: RepoConfig, ticket_kind: str) -> Waiver:
    if not config.gates.require_tests:
        return Waiver("waived: gates.require_tests is off for this repository")
    if ticket_kind not in config.gates.waive_tests_for_kinds:
        return Waiver()
    code = executable_sources(repo, changes)
    if not code:
        return Waiver(
            f"waived for {ticket_kind} tickets (gates.waive_tests_for_kinds): the change touches no executable source"
        )
    shown = ", ".join(code[:5]) + (f" and {len(code) - 5} more" if len(code) > 5 else "")
    return Waiver(
        refused=f"not waived although the ticket is labelled {ticket_kind}: "
        f"the change touches executable source ({shown})"
    )
