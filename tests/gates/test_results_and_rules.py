"""The gate's readers and rules on their own: JUnit, Cobertura, LCOV, protected paths, rendering."""

from __future__ import annotations

import pytest

from tests.gates.samples import commit_change, git_repo, make_calc_repo
from tests.gates.samples.calc_repo import PYPROJECT
from workflows.gates import GateCheck, GateReport
from workflows.gates.change_set import read_change_set
from workflows.gates.checks import line_ranges
from workflows.gates.coverage_report import parse_coverage
from workflows.gates.junit import node_id, parse_junit
from workflows.gates.path_patterns import matches
from workflows.gates.protected import find_violations
from workflows.gates.untrusted_xml import ResultsFileError
from workflows.repo_config import TestConfig as RepoTestConfig

JUNIT = b"""<?xml version="1.0"?>
<testsuites><testsuite name="pytest">
  <testcase classname="tests.test_a" name="test_ok"/>
  <testcase classname="tests.test_a.TestGroup" name="test_param[1-2]">\
<failure message="assert 1 == 2&#10;more">Traceback
AssertionError</failure></testcase>
  <testcase classname="tests.test_a" name="test_skip"><skipped message="later"/></testcase>
  <testsuite name="nested"><testcase classname="" name="tests.test_b">\
<error message="collection failure">ImportError</error></testcase></testsuite>
</testsuite></testsuites>"""


def test_junit_outcomes_and_pytest_node_ids():
    cases = parse_junit(JUNIT, "junit.xml")
    files = {"tests/test_a.py", "tests/test_b.py"}

    assert {k: c.outcome for k, c in cases.items()} == {
        "tests.test_a::test_ok": "passed",
        "tests.test_a.TestGroup::test_param[1-2]": "failed",
        "tests.test_a::test_skip": "skipped",
        "::tests.test_b": "error",
    }
    failing = cases["tests.test_a.TestGroup::test_param[1-2]"]
    assert failing.message == "assert 1 == 2" and "AssertionError" in failing.detail
    assert node_id(failing, files) == "tests/test_a.py::TestGroup::test_param[1-2]"
    assert node_id(cases["::tests.test_b"], files) == "tests/test_b.py"


def _junit(data: bytes):
    return parse_junit(data, "junit.xml")


def _cobertura(data: bytes):
    return parse_coverage(data, "cobertura", "cov.xml", tracked=set(), workdirs=[])


@pytest.mark.parametrize(
    ("read", "data", "reason"),
    [
        (_junit, b"<testsuites><testcase", "junit.xml: not valid XML"),
        (_junit, b"<html><body/></html>", "junit.xml: not JUnit XML (root element <html>"),
        (_junit, b'<!DOCTYPE x [<!ENTITY a "aaaa">]><testsuites/>', "junit.xml: refused: declares XML entities"),
        (_cobertura, b"<coverage><packages>", "cov.xml: not valid XML"),
        (_cobertura, b"<testsuites/>", "cov.xml: not a Cobertura report (root element <testsuites>"),
        (_cobertura, b'<!DOCTYPE x [<!ENTITY a "aaaa">]><coverage/>', "cov.xml: refused: declares XML entities"),
    ],
)
def test_malformed_results_files_are_refused_with_a_reason(read, data, reason):
    with pytest.raises(ResultsFileError) as err:
        read(data)
    assert str(err.value).startswith(reason)


def test_cobertura_paths_are_mapped_through_sources_and_the_sandbox_workdir():
    xml = b"""<coverage><sources><source>/workspace/src</source></sources><packages><package><classes>
      <class filename="pkg/mod.py"><lines><line number="1" hits="1"/><line number="2" hits="0"/></lines></class>
      <class filename="/elsewhere/gen.py"><lines><line number="1" hits="1"/></lines></class>
    </classes></package></packages></coverage>"""
    data = parse_coverage(xml, "cobertura", "cov.xml", tracked={"src/pkg/mod.py"}, workdirs=["/workspace"])

    assert data.lines == {"src/pkg/mod.py": {1: True, 2: False}}
    assert data.unmapped == ["/elsewhere/gen.py"]
    assert data.total_percent() == 50.0


def test_lcov_is_read_and_malformed_records_are_refused():
    lcov = b"TN:\nSF:/workspace/src/a.js\nDA:1,3\nDA:2,0\nend_of_record\nSF:test/a.test.js\nDA:1,1\nend_of_record\n"
    data = parse_coverage(lcov, "lcov", "lcov.info", tracked={"src/a.js", "test/a.test.js"}, workdirs=["/workspace"])
    assert data.lines == {"src/a.js": {1: True, 2: False}, "test/a.test.js": {1: True}}

    with pytest.raises(ResultsFileError, match=r"lcov.info: line 3: malformed DA record 'DA:x,1'"):
        parse_coverage(b"SF:src/a.js\nDA:1,1\nDA:x,1\n", "lcov", "lcov.info", tracked={"src/a.js"}, workdirs=[])
    with pytest.raises(ResultsFileError, match="not an LCOV report"):
        parse_coverage(b"TN:\n", "lcov", "lcov.info", tracked=set(), workdirs=[])
    with pytest.raises(ResultsFileError, match="lcov.info: empty: the test command wrote no coverage data"):
        parse_coverage(b"\n", "lcov", "lcov.info", tracked=set(), workdirs=[])


def test_glob_patterns_and_line_ranges():
    assert matches(".github/workflows/ci.yml", ".github/**")
    assert matches("sub/setup.cfg", "setup.cfg") and not matches("setup.cfg.bak", "setup.cfg")
    assert matches("pkg/test_x.py", "**/test_*.py") and matches("test_x.py", "**/test_*.py")
    assert not matches("src/tests.py", "tests/**")
    assert line_ranges({9, 3, 4, 5, 11, 12}) == ["3-5", "9", "11-12"]


def test_protected_rules_allow_honest_edits_and_name_each_violation(tmp_path):
    base = make_calc_repo(tmp_path / "repo")
    repo = git_repo(tmp_path / "repo")
    globs = RepoTestConfig().test_globs

    def violations(changes):
        cand = commit_change(tmp_path / "repo", base, changes)
        return [
            (v.path, v.reason)
            for v in find_violations(repo, read_change_set(repo, base, cand, globs), ["docs/locked/**"])
        ]

    honest = PYPROJECT.replace('version = "0.1.0"', 'version = "0.2.0"')
    new_file_skip = "import pytest\n\n@pytest.mark.skip\ndef test_later():\n    pass\n"
    assert violations({"pyproject.toml": honest, "tests/test_new.py": new_file_skip}) == []

    assert violations({"pyproject.toml": PYPROJECT.replace("testpaths", "addopts = '-k add'\ntestpaths")}) == [
        ("pyproject.toml", "test/coverage configuration changed: [tool.pytest]")
    ]
    assert violations({"docs/locked/policy.md": "x\n", "tox.ini": "[tox]\n"}) == [
        ("docs/locked/policy.md", "protected path (matches 'docs/locked/**')"),
        ("tox.ini", "protected path (matches 'tox.ini')"),
    ]
    xfail = "import pytest\n\n\n@pytest.mark.xfail\ndef test_add():\n    assert False\n"
    assert violations({"tests/test_core.py": xfail})[0][1].startswith(
        "pytest skip/xfail marker added to an existing test file (1 new: @pytest.mark.xfail)"
    )
    assert violations({"tests/test_core.py": None, "tests/test_core2.py": "x = 1\n"}) == [
        ("tests/test_core.py", "existing test file deleted")
    ]


def test_html_rendering_escapes_everything_from_the_repository():
    report = GateReport(
        passed=False,
        base_sha="a" * 40,
        candidate_sha="b" * 40,
        checks=[
            GateCheck(
                name="no_regressions",
                passed=False,
                reason="1 test(s) that pass on base fail: t::<script>alert(1)</script>",
                details={"failing_tests": [{"id": "t::<img src=x>", "message": "boom", "detail": "Traceback"}]},
            )
        ],
        flaky_tests=["t::<b>flaky</b>"],
    )
    html = report.to_html()

    assert "<script>" not in html and "<b>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "No regressions" in html and "Quality gates: failed" in html
    assert report.failed_reasons() == ["No regressions: 1 test(s) that pass on base fail: t::<script>alert(1)</script>"]
    assert "FAILED t::<img src=x>: boom" in report.summary_for_agent()
    assert len(report.summary_for_agent(max_chars=60)) <= 60
    assert GateReport.model_validate_json(report.model_dump_json()) == report
