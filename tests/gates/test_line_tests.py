"""Fail-to-pass tests linked to the changed lines they run, from coverage.py's per-test contexts."""

from __future__ import annotations

import json

import pytest

from sandboxes.base import SandboxSpec
from sandboxes.docker import DockerSandboxProvider
from tests.gates.samples.calc_repo import change_good_feature
from workflows.gates.change_set import ChangeSet
from workflows.gates.coverage_report import _PathMapper
from workflows.gates.line_tests import fail_to_pass_only, parse_line_tests


def test_each_covered_changed_line_names_the_fail_to_pass_tests_that_ran_it(calc):
    report = calc.gate(change_good_feature())
    assert report.passed
    linked = next(c for c in report.checks if c.name == "diff_coverage").details["f2p_line_tests"]
    core = linked["calc/core.py"]
    # power(): the loop body runs only for a positive exponent; the raise only for a negative one.
    assert core["37"] == ["tests/test_power.py::test_power"]
    assert core["34"] == ["tests/test_power.py::test_power_negative"]
    assert "tests/test_power.py::test_power_zero" in core["38"]
    assert set(linked) == {"calc/core.py"}  # test files themselves are not linked


def test_hostile_or_foreign_context_data_yields_nothing_or_only_checked_ids():
    changes = ChangeSet(base_sha="a", candidate_sha="b", files=[], tracked_base=set(), tracked_candidate=set(),
                        test_globs=["tests/**"], added_lines={"src/app.py": {3, 4}, "tests/t.py": {3}})  # fmt: skip
    mapper = _PathMapper({"src/app.py", "tests/t.py"}, ["/work"])
    for raw in (
        b"",
        b"not json",
        b"[1, 2]",
        b'{"files": "x"}',
        b'{"files": {"/work/src/app.py": {"contexts": []}}}',
        b"[" * 100_000,
    ):
        assert parse_line_tests(raw, changes, mapper) == {}
    contexts = {
        "3": ["tests/t.py::test_a|run", "tests/t.py::test_a|setup", "", "<script>", 7],
        "4": ["x" * 5000 + "::y|run"],
        "9": ["tests/t.py::test_b|run"],
        "3.5": ["tests/t.py::test_c|run"],
    }
    raw = json.dumps(
        {
            "files": {
                "/work/src/app.py": {"contexts": contexts},
                "/elsewhere/other.py": {"contexts": contexts},
                "/work/tests/t.py": {"contexts": contexts},
            }
        }
    ).encode()
    parsed = parse_line_tests(raw, changes, mapper)
    assert parsed["src/app.py"]["3"] == ["tests/t.py::test_a"] and len(parsed["src/app.py"]["4"][0]) == 300
    assert set(parsed) == {"src/app.py"} and set(parsed["src/app.py"]) == {"3", "4"}  # changed source lines only
    assert fail_to_pass_only(parsed, ["tests/t.py"]) == {"src/app.py": {"3": ["tests/t.py::test_a"]}}
    assert fail_to_pass_only(parsed, ["tests/t.py::test_other"]) == {}


@pytest.mark.docker
def test_the_links_are_made_in_the_hardened_docker_sandbox_too(docker_engine, calc, tmp_path):
    provider = DockerSandboxProvider(tmp_path / "docker-sandboxes", client=docker_engine)
    spec = SandboxSpec(image="shipyard-sandbox:latest", labels={"test": "line-tests"})
    report = calc.gate(change_good_feature(), provider=provider, spec=spec)
    linked = next(c for c in report.checks if c.name == "diff_coverage").details["f2p_line_tests"]
    assert linked["calc/core.py"]["37"] == ["tests/test_power.py::test_power"]
