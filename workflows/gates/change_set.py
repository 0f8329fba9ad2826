"""What a candidate commit changes relative to its base, read from git on the host.

Everything the static checks and diff coverage need: which files changed and how, which are
tests (``test.test_globs``), the added line numbers of each source file, binary files, and
the size of the change.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from workflows.gates.path_patterns import first_match
from workflows.gitops import ChangedFile, GitRepo

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class ChangeSet:
    base_sha: str
    candidate_sha: str
    files: list[ChangedFile]
    tracked_base: set[str]
    tracked_candidate: set[str]
    test_globs: list[str]
    added_lines: dict[str, set[int]] = field(default_factory=dict)
    """Source and test path → line numbers (in the candidate) that the change adds or rewrites."""
    binary_files: list[str] = field(default_factory=list)
    lines_added: int = 0
    lines_deleted: int = 0

    def is_test(self, path: str) -> bool:
        return first_match(path, self.test_globs) is not None

    @property
    def changed_test_files(self) -> list[str]:
        """Test files present in the candidate that the change added, modified or renamed into."""
        return sorted(f.path for f in self.files if f.status != "D" and self.is_test(f.path))

    @property
    def changed_source_files(self) -> list[str]:
        return sorted(f.path for f in self.files if f.status != "D" and not self.is_test(f.path))

    @property
    def lines_changed(self) -> int:
        return self.lines_added + self.lines_deleted


def _unquote(path: str) -> str:
    """Git C-quotes paths with unusual characters: ``"b/caf\\303\\251.py"``."""
    if len(path) >= 2 and path[0] == '"' and path[-1] == '"':
        raw = codecs.escape_decode(path[1:-1].encode("latin-1", errors="backslashreplace"))[0]
        return raw.decode("utf-8", errors="replace")
    return path


def parse_added_lines(diff_text: str) -> dict[str, set[int]]:
    """From a ``-U0`` unified diff: path (new side) → added line numbers."""
    added: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in diff_text.splitlines():
        if line.startswith("+++ "):
            target = _unquote(line[4:].rstrip("\t"))
            current = None if target == "/dev/null" else added.setdefault(target[2:], set())
        elif line.startswith("@@") and current is not None:
            m = _HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
                current.update(range(start, start + count))
    return added


def _numstat(repo: GitRepo, base: str, head: str) -> tuple[int, int, list[str]]:
    out = repo.git("diff", "--numstat", "-z", "--find-renames", base, head)
    tokens = out.split("\0")
    added = deleted = 0
    binary: list[str] = []
    i = 0
    while i < len(tokens):
        if not tokens[i]:
            i += 1
            continue
        a, d, path = (tokens[i].split("\t", 2) + ["", ""])[:3]
        if path == "" and i + 2 < len(tokens):  # rename: old and new names follow
            path = tokens[i + 2]
            i += 3
        else:
            i += 1
        if a == "-" or d == "-":
            binary.append(path)
        else:
            added += int(a)
            deleted += int(d)
    return added, deleted, binary


def _tracked(repo: GitRepo, sha: str) -> set[str]:
    out = repo.git("ls-tree", "-r", "-z", "--name-only", sha)
    return {p for p in out.split("\0") if p}


def read_change_set(repo: GitRepo, base_sha: str, candidate_sha: str, test_globs: list[str]) -> ChangeSet:
    """Read the change ``base_sha..candidate_sha``; raises ``GitError`` if a commit is missing."""
    added, deleted, binary = _numstat(repo, base_sha, candidate_sha)
    return ChangeSet(
        base_sha=base_sha,
        candidate_sha=candidate_sha,
        files=repo.changed_files(base_sha, candidate_sha),
        tracked_base=_tracked(repo, base_sha),
        tracked_candidate=_tracked(repo, candidate_sha),
        test_globs=list(test_globs),
        added_lines=parse_added_lines(repo.diff(base_sha, candidate_sha)),
        binary_files=binary,
        lines_added=added,
        lines_deleted=deleted,
    )
