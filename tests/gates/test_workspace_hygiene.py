"""A tree the gate cannot safely test in is refused, with path and reason, before any test runs."""

from __future__ import annotations

from tests.gates.samples import change_good_feature
from tests.gates.samples.commits import Symlink


def _ran_tests(events) -> bool:
    return any("running the test suite" in message for _, message in events)


def test_a_committed_symlink_to_root_is_refused_before_any_test_runs(calc):
    """The gate used to run the suite in such a tree; a runner collecting from the repository root
    then crawled the sandbox's whole filesystem until the suite timed out, once per attempt."""
    report = calc.gate({**change_good_feature(), "rootlink": Symlink("/")}, config=calc.config(test__timeout_s=40))

    assert not report.passed
    check = report.check("workspace")
    assert check.reason == (
        "refused before running tests: rootlink: symlink to '/' points outside the workspace (absolute target)"
    )
    assert report.duration_s < 10
    assert not _ran_tests(calc.events), calc.events


def test_symlinks_escaping_through_dotdot_are_refused_even_through_other_links(calc):
    report = calc.gate(
        {
            **change_good_feature(),
            "docs/up": Symlink("../.."),
            "calc/here": Symlink(".."),
            "sneaky": Symlink("calc/here/.."),
        },
        config=calc.config(test__timeout_s=40),
    )

    problems = {p["path"]: p["reason"] for p in report.check("workspace").details["problems"]}
    assert set(problems) == {"docs/up", "sneaky"}, problems
    assert (
        problems["sneaky"] == "symlink to 'calc/here/..' points outside the workspace (resolves outside the workspace)"
    )
    assert not _ran_tests(calc.events)


def test_a_file_over_the_size_limit_is_refused(calc):
    report = calc.gate(
        {**change_good_feature(), "data/big.txt": "x" * (3 * 2**20 // 2)}, config=calc.config(gates__max_file_mb=1)
    )

    assert report.check("workspace").reason == (
        "refused before running tests: data/big.txt: file of 1.5 MB is over the limit of 1 MB (gates.max_file_mb)"
    )
    assert not _ran_tests(calc.events)


def test_a_fifo_left_by_setup_is_refused_before_the_tests_run(calc):
    report = calc.gate(change_good_feature(), config=calc.config(setup=["mkfifo calc/pipe"]))

    reason = report.check("no_regressions").reason
    assert "refused before running tests: calc/pipe: a fifo in the workspace" in reason, reason
