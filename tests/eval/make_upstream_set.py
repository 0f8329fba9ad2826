"""Builds the upstream eval set (``orchestrator/demo/assets/eval-upstream``) from PyPI sdists.

Three real upstream changes, each from one release of a library to the next, taken from the
libraries' own source distributions (real code, real tests):

- ``parse`` 1.20.0 → 1.20.1: ``%f`` accepts 1 to 6 digits (one source line);
- ``parse`` 1.20.1 → 1.20.2: field names may contain a hyphen (five source lines);
- ``humanize`` 4.12.0 → 4.12.1: ``naturalsize`` of a float byte count below a kilobyte shows a
  whole number (one source line). A src-layout package: its tests import it only once it is
  ``pip install``-ed, which its ``.shipyard.yml`` setup does (network only while setup runs).

Each change gives three tasks, whose cassettes replay a different agent: ``good`` (the upstream
source and test changes), ``source-only`` (the upstream source change alone) and ``tests-only``
(the upstream tests alone). ``test_patch`` is the upstream test change, ``patch`` the upstream
source change, FAIL_TO_PASS the upstream tests that fail before it. Expected verdicts: every
good change gets a PR and is resolved; every source-only change is resolved but blocked (it adds
no test); every tests-only change is blocked and unresolved. So: resolved 6 of 9, PRs 3,
gate precision 1.0, gate recall 0.5.

Run from the repository root: ``python tests/eval/make_upstream_set.py`` (needs PyPI)."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "orchestrator" / "demo" / "assets" / "eval-upstream"
DROP = {".github", "docs", "scripts", "mkdocs.yml", "RELEASING.md", "parse.egg-info"}

PARSE_YML = {
    "agent": {"max_attempts": 1},
    "test": {"test_globs": ["tests/**"]},
}
HUMANIZE_YML = {
    # As `shipyard init` proposes for a src-layout package: a virtualenv with the package installed
    # editable with its test extra; network only while setup runs.
    "setup": [
        "python3 -m venv .shipyard/venv",
        ".shipyard/venv/bin/python -m pip install -q --disable-pip-version-check -e '.[tests]' pytest-cov",
    ],
    "sandbox": {"network": "setup"},
    "agent": {"max_attempts": 1},
    "test": {
        "command": ".shipyard/venv/bin/python -m pytest -q -p no:cacheprovider --junitxml=.shipyard/junit.xml "
        "--cov=src --cov-report=xml:.shipyard/coverage.xml --cov-context=test",
        "select_command": ".shipyard/venv/bin/python -m pytest -q -p no:cacheprovider "
        "--junitxml=.shipyard/junit.xml {tests}",
        "test_globs": ["tests/**"],
    },
}


@dataclass
class Change:
    name: str
    package: str
    base: str
    fixed: str
    source: dict[str, list[str]]
    """Source file → substrings naming the upstream hunks taken (empty: all hunks)."""
    tests: dict[str, list[str]]
    config: dict
    kind: str
    title: str
    body: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]


CHANGES = [
    Change(
        name="parse-subsecond",
        package="parse",
        base="1.20.0",
        fixed="1.20.1",
        source={"parse.py": ['"%f"']},
        tests={"tests/test_parse.py": ["test_datetime_with_various_subsecond_precision"]},
        config=PARSE_YML,
        kind="bug",
        title="%f in a datetime format only matches exactly six digits",
        body="`parse.parse('{dt:%Y-%m-%d %H:%M:%S.%f}', '2023-11-21 13:23:27.123')` returns None.\n"
        "Python's strptime accepts one to six digits for %f; parse should too, e.g. `.12345`, `.123` and `.0`.",
        fail_to_pass=["tests/test_parse.py::test_datetime_with_various_subsecond_precision"],
        pass_to_pass=[
            "tests/test_parse.py::test_flexible_datetime_with_timezone",
            "tests/test_parse.py::test_datetimes",
        ],
    ),
    Change(
        name="parse-hyphen-field",
        package="parse",
        base="1.20.1",
        fixed="1.20.2",
        source={"parse.py": []},
        tests={"tests/test_parse.py": []},
        config=PARSE_YML,
        kind="bug",
        title="Field names with a hyphen are not recognised",
        body="`parse.search('/local/sub/{user-id}/duration', 'https://x/local/sub/1647222638/duration')` "
        "finds nothing.\nA field such as `{user-id}` should match like any named field, be returned under "
        "its own name (`result['user-id']`), and not collide with `{user_id}` or `{user.id}` in the same format.",
        fail_to_pass=[
            "tests/test_parse.py::test_hyphen_inside_field_name",
            "tests/test_parse.py::test_hyphen_inside_field_name_collision_handling",
        ],
        pass_to_pass=["tests/test_parse.py::test_named", "tests/test_bugs.py::test_dotted_type_conversion_pull_8"],
    ),
    Change(
        name="humanize-naturalsize-float",
        package="humanize",
        base="4.12.0",
        fixed="4.12.1",
        source={"src/humanize/filesize.py": []},
        tests={"tests/test_filesize.py": []},
        config=HUMANIZE_YML,
        kind="bug",
        title="naturalsize shows float byte counts unrounded",
        body="`humanize.naturalsize(1.123456789)` returns `'1.123456789 Bytes'`, and with `gnu=True` "
        "`'1.123456789B'`.\nBelow one kilobyte the byte count should be shown as a whole number: "
        "`'1 Bytes'` and `'1B'`.",
        fail_to_pass=[
            "tests/test_filesize.py::test_naturalsize[test_args62-1 Bytes]",
            "tests/test_filesize.py::test_naturalsize[test_args65-1B]",
        ],
        pass_to_pass=[
            "tests/test_filesize.py::test_naturalsize[test_args63-1.1 kB]",
            "tests/test_filesize.py::test_naturalsize[test_args0-300 Bytes]",
        ],
    ),
]


def _block_strings(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


yaml.SafeDumper.add_representer(str, _block_strings)


def sdist(package: str, version: str, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        + [f"{package}=={version}", "-d", str(into)],
        check=True,
    )
    (archive,) = into.glob(f"{package}-{version}.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / f"{package}-{version}"


def hunks(old: str, new: str, path: str, keep: list[str]) -> list[tuple[str, str]]:
    """The upstream hunks of one file (those whose text contains one of ``keep``; all when empty),
    each as (old text, new text) with enough context to be unique in the old file."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out = []
    for group in difflib.SequenceMatcher(None, a, b).get_grouped_opcodes(3):
        lo_a, hi_a = group[0][1], group[-1][2]
        lo_b, hi_b = group[0][3], group[-1][4]
        before, after = "".join(a[lo_a:hi_a]), "".join(b[lo_b:hi_b])
        if "__version__" in before or (keep and not any(k in before + after for k in keep)):
            continue
        assert old.count(before) == 1, f"{path}: hunk not unique: {before[:80]!r}"
        out.append((before, after))
    return out


def apply(text: str, edits: list[tuple[str, str]]) -> str:
    for before, after in edits:
        text = text.replace(before, after, 1)
    return text


def unified(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}")
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


def edits_of(old: Path, new: Path, files: dict[str, list[str]]) -> dict[str, list[tuple[str, str]]]:
    return {p: hunks((old / p).read_text(), (new / p).read_text(), p, k) for p, k in files.items()}


def diff_of(old: Path, edits: dict[str, list[tuple[str, str]]]) -> str:
    return "".join(unified(p, (old / p).read_text(), apply((old / p).read_text(), e)) for p, e in edits.items())


def cassette(change: Change, variant: str, edits: dict[str, list[tuple[str, str]]]) -> dict:
    turns: list[dict] = [
        {"say": "Read the code the ticket names first.", "tool": "view", "args": {"path": next(iter(change.source))}}
    ]
    for path, file_edits in edits.items():
        for before, after in file_edits:
            args = {"path": path, "old": before, "new": after}
            turns.append({"say": f"Change {path}.", "tool": "edit", "args": args})
    turns.append({"tool": "run_tests", "args": {}})
    turns.append({"tool": "finish", "args": {"summary": f"{change.title}: the upstream change ({variant})."}})
    return {
        "name": f"{change.name}-{variant}",
        "triage": {
            "eligible": True,
            "complexity": "low",
            "kind": change.kind,
            "reason": "A small, well-described change in one module, with tests beside it.",
        },
        "plan": f"Apply the upstream {change.package} {change.fixed} change "
        f"({'source and tests' if variant == 'good' else variant.replace('-', ' ')}).",
        "code": [turns],
    }


def build(work: Path) -> None:
    for made in (OUT / "cassettes", OUT / "repos"):  # README.md stays
        if made.exists():
            shutil.rmtree(made)
    (OUT / "cassettes").mkdir(parents=True)
    rows = []
    for change in CHANGES:
        old = sdist(change.package, change.base, work)
        new = sdist(change.package, change.fixed, work)
        repo = OUT / "repos" / f"{change.package}-{change.base}"
        if not repo.exists():
            shutil.copytree(old, repo, ignore=lambda d, names: [n for n in names if n in DROP])
            (repo / ".shipyard.yml").write_text(yaml.safe_dump(change.config, sort_keys=False))
        source_edits, test_edits = edits_of(old, new, change.source), edits_of(old, new, change.tests)
        patch, test_patch = diff_of(old, source_edits), diff_of(old, test_edits)
        variants = {"good": {**source_edits, **test_edits}, "source-only": source_edits, "tests-only": test_edits}
        for variant, edits in variants.items():
            instance_id = f"{change.name}-{variant}"
            rows.append(
                {
                    "instance_id": instance_id,
                    "repo": f"repos/{change.package}-{change.base}",
                    "base_commit": "HEAD",
                    "problem_statement": f"{change.title}\n{change.body}",
                    "patch": patch,
                    "test_patch": test_patch,
                    "FAIL_TO_PASS": json.dumps(change.fail_to_pass),
                    "PASS_TO_PASS": json.dumps(change.pass_to_pass),
                    "version": change.base,
                    "created_at": "",
                    "hints_text": "",
                    "environment_setup_commit": "HEAD",
                }
            )
            text = yaml.safe_dump(cassette(change, variant, edits), sort_keys=False, width=1000)
            header = f"# Replay: the upstream {change.package} {change.base} -> {change.fixed} change, {variant}.\n"
            (OUT / "cassettes" / f"{instance_id}.yml").write_text(header + text)
    (OUT / "instances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp))
    print(f"wrote {OUT}")
