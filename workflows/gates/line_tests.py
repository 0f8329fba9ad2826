"""Which tests ran each changed source line, from coverage.py's per-test contexts.

The default test command records the test that ran each line (pytest-cov ``--cov-context=test``).
After the candidate suite, ``coverage json --show-contexts`` in the same sandbox turns the data
file into JSON; the gate keeps, for each changed line, the tests that ran it, and the report
keeps only the fail-to-pass ones (the tests that prove the change). A suite that records no
contexts (another runner, a custom command) simply yields nothing: this is an aid for the
reviewer, never a check. The JSON is written inside the sandbox, so it is untrusted: its size,
shape and names are bounded and checked here."""

from __future__ import annotations

import json
import shlex

from sandboxes.base import Sandbox, SandboxError
from workflows.gates.change_set import ChangeSet
from workflows.gates.coverage_report import _PathMapper

OUTPUT = ".shipyard/line-tests.json"
MAX_JSON_BYTES = 20_000_000
MAX_TESTS_PER_LINE = 10
MAX_LINES = 5_000
MAX_ID_CHARS = 300
TIMEOUT_S = 120.0

LineTests = dict[str, dict[str, list[str]]]
"""path → {line number (as text, for JSON) → test ids}"""


def collect_line_tests(sandbox: Sandbox, changes: ChangeSet, workdirs: list[str]) -> LineTests:
    """The tests that ran each changed source line in the candidate run; empty when unknown."""
    files = [p for p in changes.changed_source_files if changes.added_lines.get(p)]
    if not files:
        return {}
    include = ",".join(f"*/{p}" for p in files)
    command = f"python -m coverage json --show-contexts -q -o {OUTPUT} --include={shlex.quote(include)}"
    try:
        result = sandbox.exec(command, timeout_s=TIMEOUT_S)
        raw = sandbox.read_file(OUTPUT) if result.ok else b""
    except (SandboxError, OSError):
        return {}
    return parse_line_tests(raw, changes, _PathMapper(set(changes.tracked_candidate), workdirs))


def parse_line_tests(raw: bytes, changes: ChangeSet, mapper: _PathMapper) -> LineTests:
    """Changed lines → test ids from ``coverage json --show-contexts`` output; {} when it is not that."""
    if not raw or len(raw) > MAX_JSON_BYTES:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    reported = data.get("files") if isinstance(data, dict) else None
    out: LineTests = {}
    kept = 0
    for name, entry in (reported if isinstance(reported, dict) else {}).items():
        path = mapper.map(str(name), [])
        contexts = entry.get("contexts") if isinstance(entry, dict) else None
        added = changes.added_lines.get(path or "", set())
        if not added or changes.is_test(path) or not isinstance(contexts, dict):
            continue
        for line, names in contexts.items():
            if kept >= MAX_LINES or not str(line).isdigit() or int(line) not in added or not isinstance(names, list):
                continue
            tests = sorted({_test_id(n) for n in names if isinstance(n, str) and _test_id(n)})[:MAX_TESTS_PER_LINE]
            if tests:
                out.setdefault(path, {})[str(int(line))] = tests
                kept += 1
    return out


def _test_id(context: str) -> str:
    """``tests/test_x.py::test_y|run`` → ``tests/test_x.py::test_y``; the empty context (code run
    at import, outside any test) and setup/teardown phases name no test."""
    test, _, phase = context.partition("|")
    return test[:MAX_ID_CHARS] if test and phase in ("run", "") and "::" in test else ""


def fail_to_pass_only(line_tests: LineTests, fail_on_base: list[str]) -> LineTests:
    """Only the tests that failed on the base code and pass on the candidate, per line. The base
    run may name a whole file (it could not even be imported there): then each of its tests counts."""
    proving = set(fail_on_base)
    out: LineTests = {}
    for path, lines in line_tests.items():
        for line, tests in lines.items():
            kept = [t for t in tests if t in proving or t.split("::", 1)[0] in proving]
            if kept:
                out.setdefault(path, {})[line] = kept
    return out


def gather(sandbox: Sandbox | None, candidate_ok: bool, changes: ChangeSet) -> LineTests:
    """``collect_line_tests`` when there is a usable candidate sandbox; else nothing."""
    if sandbox is None or not candidate_ok:
        return {}
    return collect_line_tests(sandbox, changes, [sandbox.workdir, str(sandbox.host_workspace)])


def attach(checks: list, line_tests: LineTests) -> None:
    """Put the fail-to-pass tests of each changed line (``f2p_line_tests``) into the
    diff_coverage check's details, when fail-to-pass passed and named its tests."""
    by_name = {c.name: c for c in checks}
    f2p, diff = by_name.get("fail_to_pass"), by_name.get("diff_coverage")
    if not line_tests or f2p is None or diff is None or not f2p.passed or diff.waived:
        return
    linked = fail_to_pass_only(line_tests, list(f2p.details.get("fail_on_base", [])))
    if linked:
        diff.details["f2p_line_tests"] = linked
