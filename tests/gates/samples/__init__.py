"""Sample repositories for gate and pipeline tests, built programmatically in tmp dirs.

``make_calc_repo(path)`` (Python, pytest + coverage.py, Cobertura) and
``make_node_repo(path)`` (JavaScript, ``node --test``, LCOV) return the base SHA;
``commit_change(path, base, change_*())`` makes a candidate commit from one of the
scenario functions (an honest change, or one trying a way around the gates).
"""

from tests.gates.samples.calc_repo import (
    calc_files,
    change_breaking_unrelated_test,
    change_deleting_failing_test,
    change_fixing_known_bug,
    change_good_feature,
    change_omitting_coverage,
    change_skipping_existing_test,
    change_touching_ci,
    change_with_vacuous_tests,
    change_without_tests,
    make_calc_repo,
)
from tests.gates.samples.commits import commit_change, file_at, git_repo, init_repo
from tests.gates.samples.node_repo import change_node_good_feature, change_node_vacuous_test, make_node_repo

__all__ = [
    "calc_files",
    "change_breaking_unrelated_test",
    "change_deleting_failing_test",
    "change_fixing_known_bug",
    "change_good_feature",
    "change_node_good_feature",
    "change_node_vacuous_test",
    "change_omitting_coverage",
    "change_skipping_existing_test",
    "change_touching_ci",
    "change_with_vacuous_tests",
    "change_without_tests",
    "commit_change",
    "file_at",
    "git_repo",
    "init_repo",
    "make_calc_repo",
    "make_node_repo",
]
