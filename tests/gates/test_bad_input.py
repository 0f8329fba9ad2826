"""Bad input never crashes the gate and never passes it: each is a failure with a clear reason."""

from __future__ import annotations

from sandboxes.base import SandboxSpec
from tests.gates.samples import change_good_feature, git_repo
from workflows.gates import run_gates


def failed(report) -> dict[str, str]:
    return {c.name: c.reason for c in report.checks if not c.passed}


HANGING_TEST = """import time


def test_hangs():
    time.sleep(3600)
"""


def test_hanging_suite_is_killed_at_the_timeout_and_reported(calc):
    config = calc.config(test__timeout_s=6)
    report = calc.gate({**change_good_feature(), "tests/test_hang.py": HANGING_TEST}, config=config)

    assert not report.passed
    reason = failed(report)["no_regressions"]
    assert reason.startswith("candidate suite: test command timed out after 6s (test.timeout_s"), reason
    assert reason.endswith(") and was killed")
    assert failed(report)["diff_coverage"].startswith("not measured: candidate suite: test command timed out")
    assert report.duration_s < 60


def test_missing_coverage_file_fails_the_coverage_checks(calc):
    config = calc.config(test__coverage__path="reports/nowhere.xml")
    report = calc.gate(change_good_feature(), config=config)

    reasons = failed(report)
    assert set(reasons) == {"diff_coverage", "total_coverage"}
    assert (
        "coverage report (cobertura) reports/nowhere.xml was not written by the test command (it exited 0)"
        in reasons["diff_coverage"]
    )
    assert reasons["total_coverage"] == reasons["diff_coverage"]


def test_malformed_results_files_fail_with_the_file_named(calc):
    config = calc.config(
        test__command="mkdir -p .shipyard && printf '<testsuites><testcase name=' > .shipyard/junit.xml",
    )
    report = calc.gate(change_good_feature(), config=config)

    reason = failed(report)["no_regressions"]
    assert reason.startswith("candidate suite: .shipyard/junit.xml: not valid XML")


def test_nonexistent_test_command_fails_with_its_exit_status(calc):
    config = calc.config(test__command="no-such-test-runner --all")
    report = calc.gate(change_good_feature(), config=config)

    reason = failed(report)["no_regressions"]
    assert "JUnit XML .shipyard/junit.xml was not written by the test command (it exited with status 127)" in reason
    assert "no-such-test-runner" in report.summary_for_agent()


def test_failing_setup_fails_with_the_command_and_its_output(calc):
    config = calc.config(setup=["echo 'resolver: no matching distribution' && exit 7"])
    report = calc.gate(change_good_feature(), config=config)

    reason = failed(report)["no_regressions"]
    assert "setup command `echo 'resolver: no matching distribution' && exit 7` exited with status 7" in reason
    assert "resolver: no matching distribution" in reason


def test_binary_file_in_the_change_fails(calc):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    report = calc.gate({**change_good_feature(), "docs/logo.png": png})

    assert failed(report) == {
        "change": "binary files in the change cannot be reviewed: docs/logo.png (gates.allow_binary_files is off)"
    }


def test_change_of_thousands_of_lines_fails_as_unreviewable(calc):
    table = "".join(f"VALUE_{i} = {i}\n" for i in range(3000))
    report = calc.gate({**change_good_feature(), "calc/table.py": table})

    reason = failed(report)["change"]
    assert reason == "the change is too large to review: 3026 changed lines, limit 2000 (gates.max_diff_lines)"


def test_empty_change_fails(calc):
    report = calc.gate({})

    assert failed(report)["change"] == "the candidate changes nothing relative to the base"


def test_unknown_candidate_commit_fails_with_gits_reason(calc):
    report = run_gates(
        repo=git_repo(calc.path),
        base_sha=calc.base,
        candidate_sha="0" * 40,
        config=calc.config(),
        ticket_kind="feature",
        sandboxes=calc.provider,
        spec=SandboxSpec(),
        cache_dir=calc.cache_dir,
    )

    assert not report.passed
    assert report.failed_reasons()[0].startswith("Change is reviewable: could not read the change from git: git diff:")
