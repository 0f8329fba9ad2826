"""Which changed lines of a Python source file are executable, read from the file itself.

A coverage report lists only the lines it measured: a file never imported is missing, and a
coverage configuration or pragma can exclude lines. Counting only the lines a report lists
would let such lines vanish from diff coverage, so for Python the candidate's file is parsed
with coverage.py's own parser, with no exclusions, and every changed statement counts.
"""

from __future__ import annotations

import tokenize

from coverage.exceptions import CoverageException
from coverage.parser import PythonParser

from workflows.gates.change_set import ChangeSet
from workflows.gitops import GitRepo


def statements_touched(source: bytes, changed: set[int]) -> set[int] | None:
    """First lines of the statements that ``changed`` lines belong to; None if not parseable Python."""
    try:
        parser = PythonParser(text=source.decode("utf-8"), exclude=None)
        parser.parse_source()
    except (CoverageException, SyntaxError, UnicodeDecodeError, ValueError, tokenize.TokenError):
        return None
    statements = parser.statements
    return {first for n in changed if (first := parser.first_line(n)) in statements}


def changed_statements(repo: GitRepo, changes: ChangeSet) -> dict[str, set[int]]:
    """Changed Python source file → the executable statements (first lines) the change touches.

    Files that are not Python, or do not parse, are absent: their executable lines come from
    the coverage report alone."""
    out: dict[str, set[int]] = {}
    for path in changes.changed_source_files:
        added = changes.added_lines.get(path)
        if not path.endswith(".py") or not added:
            continue
        data = repo.show_file(changes.candidate_sha, path)
        lines = statements_touched(data, added) if data is not None else None
        if lines is not None:
            out[path] = lines
    return out
