"""pytest plugin the gate loads first (``-p shipyard_evidence_<random>``): each test's own outcome.

It records, from the innermost ``pytest_runtest_makereport`` wrapper, whether a phase raised
(a failure or error, not a skip) — judged from the call's exception, not from the report, so a
repository hook that rewrites reports or patches ``TestReport`` cannot change it. One JSON line
per phase goes to the file named by ``SHIPYARD_EVIDENCE_FILE`` (a per-run random path outside
the workspace); the variable is removed from the environment once read. The gate compares it
with the JUnit XML: a failure it recorded, or a passed test it did not record, is tampering.

This file is copied into the sandbox as a standalone module; it imports only pytest.
"""

from __future__ import annotations

import json
import os
import re

import pytest

_PATH = os.environ.pop("SHIPYARD_EVIDENCE_FILE", "")
_OUT = open(_PATH, "a", encoding="utf-8", buffering=1) if _PATH else None


def junit_key(nodeid: str) -> str:
    """``classname::name`` as pytest's JUnit XML writes the test (``mangle_test_address``)."""
    names = nodeid.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    return ".".join(names[:-1]) + "::" + names[-1]


def _raised(call: pytest.CallInfo) -> bool:
    excinfo = call.excinfo
    if excinfo is None:
        return False
    return not excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception))


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item, call):
    failed = _raised(call)
    if _OUT is not None:
        _OUT.write(json.dumps({"key": junit_key(item.nodeid), "when": call.when, "failed": failed}) + "\n")
    yield
