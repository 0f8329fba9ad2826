"""Per-test outcomes from JUnit XML, the one results format every test runner can write.

A test is keyed by ``classname::name`` so runs of the same runner on two commits compare.
Where the test's file can be told (a ``file`` attribute, or a pytest-style dotted classname
that names a tracked ``.py`` file) it also gets a pytest node id for re-selection.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from workflows.gates.untrusted_xml import ResultsFileError, parse_untrusted_xml

Outcome = Literal["passed", "failed", "error", "skipped"]

MAX_DETAIL_CHARS = 1500
"""Failure text kept per test: the end of a traceback is where its cause is."""


@dataclass(frozen=True)
class TestCase:
    classname: str
    name: str
    outcome: Outcome
    file: str | None = None
    """The ``file`` attribute when the runner writes one."""
    message: str = ""
    """One-line failure message."""
    detail: str = ""
    """Failure text (traceback), trimmed to its last ``MAX_DETAIL_CHARS`` characters."""

    @property
    def key(self) -> str:
        return f"{self.classname}::{self.name}"

    @property
    def failing(self) -> bool:
        return self.outcome in ("failed", "error")


def _trim(text: str) -> str:
    text = text.strip()
    if len(text) <= MAX_DETAIL_CHARS:
        return text
    return "…" + text[-MAX_DETAIL_CHARS:]


def _case_from_element(el: ET.Element) -> TestCase:
    outcome: Outcome = "passed"
    message = detail = ""
    for child in el:
        tag = child.tag.lower()
        if tag in ("failure", "error"):
            outcome = "failed" if tag == "failure" else "error"
            lines = (child.get("message") or "").strip().splitlines()
            message = lines[0][:300] if lines else tag
            detail = _trim(child.text or "")
            break
        if tag == "skipped":
            outcome = "skipped"
            message = (child.get("message") or "skipped")[:300]
    return TestCase(
        classname=el.get("classname") or "",
        name=el.get("name") or "",
        outcome=outcome,
        file=el.get("file"),
        message=message,
        detail=detail,
    )


def _relative_file(path: str, workdirs: list[str]) -> str:
    for workdir in workdirs:
        prefix = workdir.rstrip("/") + "/"
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path[2:] if path.startswith("./") else path


def _dotted_prefixes(workdirs: list[str]) -> list[str]:
    """``a.b.ws.`` and ``b.ws.``…: how a runner rooted above a workspace spells its path in a
    dotted classname. One-component tails are left alone: they may name a real package."""
    prefixes = set()
    for workdir in workdirs:
        parts = [p for p in workdir.strip("/").split("/") if p]
        for i in range(len(parts) - 1):
            prefixes.add(".".join(parts[i:]) + ".")
    return sorted(prefixes, key=len, reverse=True)


def normalise_case(case: TestCase, workdirs: list[str]) -> TestCase:
    """``case`` with any path of the workspace taken out of its ``file`` and ``classname``,
    so the same test has the same key wherever the workspace lives."""
    if not workdirs:
        return case
    classname = case.classname
    for prefix in _dotted_prefixes(workdirs):
        if classname.startswith(prefix):
            classname = classname[len(prefix) :]
            break
    file = _relative_file(case.file, workdirs) if case.file else case.file
    return replace(case, classname=classname, file=file)


def parse_junit(data: bytes, source: str, *, workdirs: list[str] | None = None) -> dict[str, TestCase]:
    """Every ``testcase`` in the document (nested suites too), keyed by ``TestCase.key``.

    ``workdirs``: where the workspace lives (inside and outside the sandbox); paths under them
    are made relative (see ``normalise_case``). Raises ``ResultsFileError`` naming ``source``
    for malformed XML or a document that is not JUnit. Duplicate keys (a runner reusing a
    name) get a ``#n`` suffix so none is lost.
    """
    root = parse_untrusted_xml(data, source)
    if root.tag not in ("testsuites", "testsuite"):
        raise ResultsFileError(
            f"{source}: not JUnit XML (root element <{root.tag}>, expected <testsuites> or <testsuite>)"
        )
    cases: dict[str, TestCase] = {}
    for el in root.iter("testcase"):
        case = normalise_case(_case_from_element(el), workdirs or [])
        key, n = case.key, 1
        while key in cases:
            n += 1
            key = f"{case.key}#{n}"
        cases[key] = case
    return cases


def written_by_pytest(data: bytes) -> bool:
    """Whether pytest wrote this JUnit XML (its suites are named ``pytest``); False if unreadable."""
    try:
        root = parse_untrusted_xml(data, "JUnit XML")
    except ResultsFileError:
        return False
    return any(suite.get("name") == "pytest" for suite in root.iter("testsuite"))


def _dotted_to_file(dotted: str, files: set[str]) -> tuple[str, list[str]] | None:
    parts = [p for p in dotted.split(".") if p]
    for i in range(len(parts), 0, -1):
        path = "/".join(parts[:i]) + ".py"
        if path in files:
            return path, parts[i:]
    return None


def locate(case: TestCase, files: set[str]) -> tuple[str, list[str]] | None:
    """The tracked file a test lives in and its class path inside it, when it can be told.

    pytest writes a collection error as ``classname=""`` and the module as ``name``; that
    entry is located at its module with an empty class path."""
    if case.file:
        path = case.file[2:] if case.file.startswith("./") else case.file
        if path in files:
            found = _dotted_to_file(case.classname, files)
            return path, found[1] if found and found[0] == path else []
    if case.classname:
        return _dotted_to_file(case.classname, files)
    return _dotted_to_file(case.name, files)


def node_id(case: TestCase, files: set[str]) -> str | None:
    """pytest node id (``path.py::Class::name``) for re-selecting one test, or None."""
    where = locate(case, files)
    if where is None:
        return None
    path, classes = where
    if not case.classname and case.name.replace("/", ".").endswith(path[:-3].replace("/", ".")):
        return path  # a whole-module entry (collection error)
    return "::".join([path, *classes, case.name])


def display_id(case: TestCase, files: set[str]) -> str:
    """The id shown to humans and the agent: the node id when known, else ``classname::name``."""
    return node_id(case, files) or case.key


def cases_in_files(cases: Iterable[TestCase], test_files: set[str], tracked: set[str]) -> list[TestCase]:
    """The cases that live in ``test_files`` (as far as the JUnit lets it be told)."""
    out = []
    for case in cases:
        where = locate(case, tracked)
        if where is not None and where[0] in test_files:
            out.append(case)
    return out
