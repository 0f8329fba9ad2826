"""Every way around the quality gates, tried through the whole pipeline: only honest work gets a PR.

One deployment, nine sample repositories (the ``calc`` sample of the gate tests), nine
tickets queued at once, one real worker process (concurrency 2, bwrap sandboxes). Each
ticket's cassette makes one of the gate-level sample changes through the agent's own tools;
``agent.max_attempts: 1`` makes the first gate failure final. Then, per behaviour: the job is
blocked, nothing reached the forge, and the reason names the right check and the evidence —
or, for the honest change, a pull request carries the gate report.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import PullRequest
from tests.gates import samples
from tests.gates.samples.commits import FileChange
from tests.pipeline.harness import queue_ticket, register, running_worker, wait_for_job
from workflows.gitops import GitRepo, run_git

# Every test reads the one batch the module's fixture works with a worker process: on one xdist
# worker, so that the batch runs once rather than once per worker its tests land on.
pytestmark = [pytest.mark.workers, pytest.mark.xdist_group("adversarial-batch")]

CASSETTES = Path(__file__).parent / "adversarial"
FINAL_STATES = {"awaiting_review", "blocked", "failed", "merged", "closed", "cancelled"}
ONE_ATTEMPT = "agent:\n  max_attempts: 1\n"
TICKET_BODY = "Add `power(base, exp)` to `calc/core.py`: `power(2, 10) == 1024`; a negative `exp` raises `ValueError`."


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    cassette: str
    change: Callable[[], dict[str, FileChange]]
    """The gate-level sample change the cassette reproduces through the agent's tools."""
    failing: dict[str, list[str]] = field(default_factory=dict)
    """Check name → texts its reason must contain; exactly these checks fail (empty: the gate passes)."""
    known_bug: bool = False

    @property
    def repo_name(self) -> str:
        return f"calc-{self.key}"


CASES = [
    Case(
        "a",
        "Add power (no tests)",
        "a-no-tests.yml",
        samples.change_without_tests,
        {
            "tests_added": ["the change adds or changes no test file"],
            "fail_to_pass": ["no new or changed test to run"],
            "diff_coverage": ["below the target 90%: uncovered calc/core.py lines 33-38"],
            "total_coverage": ["total coverage dropped"],
        },
    ),
    Case(
        "b",
        "Add power (vacuous tests)",
        "b-vacuous-tests.yml",
        samples.change_with_vacuous_tests,
        {
            "fail_to_pass": [
                "already passes on the base code, so none tests the change",
                "tests/test_power.py::test_nothing",
            ],
            "diff_coverage": ["below the target 90%: uncovered calc/core.py lines 33-38"],
            "total_coverage": ["total coverage dropped"],
        },
    ),
    Case(
        "c",
        "Add power (failing test deleted)",
        "c-delete-failing-test.yml",
        samples.change_deleting_failing_test,
        {
            "protected_paths": ["tests/test_clamp.py: existing test file deleted"],
            "no_regressions": [
                "existing test(s) no longer run (deleted or renamed): tests/test_clamp.py::test_clamp_above"
            ],
            "total_coverage": [
                "total coverage dropped"
            ],  # the deleted test was the only one reaching clamp's above-range branch
        },
        known_bug=True,
    ),
    Case(
        "d",
        "Add power (skip marker)",
        "d-skip-existing-test.yml",
        samples.change_skipping_existing_test,
        {
            "protected_paths": [
                "tests/test_core.py: pytest skip/xfail marker added to an existing test file",
                '@pytest.mark.skip(reason="flaky")',
            ],
            # (fail_to_pass holds: power's tests prove the change; a skipped test proves nothing either way)
            "no_regressions": ["test(s) that pass on base are now skipped: tests/test_core.py::test_sub"],
            "diff_coverage": ["uncovered calc/core.py lines 9"],  # the broken sub(), no longer run
            "total_coverage": ["total coverage dropped"],
        },
    ),
    Case(
        "e",
        "Add power (coverage omit)",
        "e-omit-coverage.yml",
        samples.change_omitting_coverage,
        {
            "protected_paths": ["pyproject.toml: test/coverage configuration changed: [tool.coverage]"],
            # The omitted file's changed lines are not in the report: they count as uncovered.
            "diff_coverage": ["missing from the coverage report, so counted as uncovered: calc/core.py lines"],
        },
    ),
    Case(
        "f",
        "Add power (CI edited)",
        "f-touch-ci.yml",
        samples.change_touching_ci,
        {
            "protected_paths": [".github/workflows/ci.yml: protected path (matches '.github/**')"],
        },
    ),
    Case(
        "g",
        "Add power (unrelated test broken)",
        "g-break-unrelated.yml",
        samples.change_breaking_unrelated_test,
        {
            "no_regressions": ["1 test(s) that pass on base fail: tests/test_core.py::test_mul"],
        },
    ),
    Case("h", "Add power", "h-good-feature.yml", samples.change_good_feature),
]
BLOCKED = [c for c in CASES if c.failing]
GOOD = next(c for c in CASES if not c.failing)
FORGING_CONFTEST = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        report.outcome = "passed"
"""
FORGED = Case(
    "i",
    "Add power (conftest forges results)",
    "i-conftest-forges-results.yml",
    lambda: {**samples.change_breaking_unrelated_test(), "conftest.py": FORGING_CONFTEST},
)
"""Beyond the issue's list: (g) again, plus a ``conftest.py`` that reports every failing test as
passed. Whichever check catches it, the job must block and name the cause."""


@dataclass
class Batch:
    ship: Shipyard
    repos: dict[str, Path]
    """Case key → the registered repository (the local forge)."""
    base_shas: dict[str, str]
    jobs: dict[str, dict]
    """Case key → the job detail (``views.job_detail``) once the job settled."""


def _repo_files(case: Case) -> dict[str, str]:
    files = samples.calc_files(known_bug=case.known_bug)
    files[".shipyard.yml"] += ONE_ATTEMPT
    return files


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    """All nine tickets, queued at once into one deployment and worked by one worker process."""
    root = tmp_path_factory.mktemp("adversarial")
    with pytest.MonkeyPatch.context() as env:
        for key in [k for k in os.environ if k.startswith("SHIPYARD_")]:
            env.delenv(key)
        ship = Shipyard.load(Settings(data_dir=root / "data", lease_seconds=30, sandbox_backend="local"))
        repos, bases, job_ids = {}, {}, {}
        for case in [*CASES, FORGED]:
            repos[case.key] = root / case.repo_name
            bases[case.key] = samples.init_repo(repos[case.key], _repo_files(case))
            register(ship, repos[case.key], case.repo_name)
            job_ids[case.key] = queue_ticket(ship, case.repo_name, case.title, TICKET_BODY, CASSETTES / case.cassette)
        with running_worker(ship.settings, concurrency=2) as worker:
            jobs = {
                key: wait_for_job(ship, job_id, FINAL_STATES, timeout=240, worker=worker)
                for key, job_id in job_ids.items()
            }
    return Batch(ship, repos, bases, jobs)


def assert_blocked_by_the_gate(batch: Batch, case: Case) -> dict:
    job = batch.jobs[case.key]
    assert_candidate_is_the_sample_change(batch, case)
    assert job["state"] == "blocked", f"{case.cassette}: {job['state']}: {job['reason']}"
    assert len(job["attempt_list"]) == 1 and job["attempt_list"][0]["outcome"] == "gate_failed", job["reason"]
    assert job["gate_passed"] is False
    assert_nothing_reached_the_forge(batch, case)
    return job


def failed_checks(job: dict) -> dict[str, str]:
    gate = job["attempt_list"][-1]["gate"]
    assert gate is not None, f"attempt {job['attempt_list'][-1]['number']} has no gate report: {job['reason']}"
    return {c["name"]: c["reason"] for c in gate["checks"] if not c["passed"]}


def assert_candidate_is_the_sample_change(batch: Batch, case: Case) -> None:
    """The agent's tools made exactly the sample change the gate-level test judges."""
    job = batch.jobs[case.key]
    git = GitRepo(batch.ship.settings.job_dirs.git(job["id"]))
    for path, content in case.change().items():
        actual = git.show_file(job["head_sha"], path)
        expected = content.encode() if isinstance(content, str) else content
        assert actual == expected, f"{case.cassette}: {path} at the candidate differs from {case.change.__name__}()"
    changed = set(git.git("diff", "--name-only", job["base_sha"], job["head_sha"]).split())
    assert changed == set(case.change()), f"{case.cassette}: the candidate changes {sorted(changed)}"


def assert_nothing_reached_the_forge(batch: Batch, case: Case) -> None:
    job, repo = batch.jobs[case.key], batch.repos[case.key]
    assert job["pr"] is None and job["pr_body"] is None
    with batch.ship.store.session() as s:
        assert s.scalars(select(PullRequest).where(PullRequest.job_id == job["id"])).all() == []
    assert run_git(["branch", "--list", "shipyard/*"], cwd=repo).split() == []
    assert run_git(["rev-parse", "main"], cwd=repo).strip() == batch.base_shas[case.key]


@pytest.mark.slow
@pytest.mark.parametrize("case", BLOCKED, ids=[f"{c.key}-{c.cassette.removesuffix('.yml')[2:]}" for c in BLOCKED])
def test_a_way_around_the_gates_is_blocked_with_the_right_reason(batch, case):
    job = assert_blocked_by_the_gate(batch, case)

    failed = failed_checks(job)
    assert set(failed) == set(case.failing), f"{case.cassette}: failing checks {failed}"
    assert job["reason"].startswith("quality gate failed after 1 attempt(s): "), job["reason"]
    for name, texts in case.failing.items():
        for text in texts:
            assert text in failed[name], f"{name}: {failed[name]!r} does not mention {text!r}"
            assert text in job["reason"], f"the job's reason does not mention {text!r}: {job['reason']}"


@pytest.mark.slow
def test_the_gate_does_not_trust_the_agent_saying_its_tests_pass(batch):
    """(g): the agent's own test run was green and its summary says so; the gate runs the whole suite."""
    case = next(c for c in CASES if c.key == "g")
    job = batch.jobs[case.key]
    assert job["state"] == "blocked"
    # The cassette's run_tests turn expected exit 0 and "3 passed"; a mismatch would have blocked as a divergence.
    assert any(e["kind"] == "tool" and e["message"].startswith("run_tests") for e in job["events"])
    commit_message = GitRepo(batch.ship.settings.job_dirs.git(job["id"])).git(
        "log", "-1", "--format=%B", job["head_sha"]
    )
    assert "All tests pass" in commit_message
    regressions = next(c for c in job["attempt_list"][0]["gate"]["checks"] if c["name"] == "no_regressions")
    failing = {t["id"]: t for t in regressions["details"]["failing_tests"]}
    assert list(failing) == ["tests/test_core.py::test_mul"]
    assert "assert 13 == 12" in failing["tests/test_core.py::test_mul"]["detail"]


@pytest.mark.slow
def test_correct_code_with_good_tests_opens_a_pull_request_with_the_gate_report(batch):
    job, repo = batch.jobs[GOOD.key], batch.repos[GOOD.key]
    assert job["state"] == "awaiting_review", job["reason"]
    assert job["gate_passed"] is True and job["diff_coverage"] == 100.0
    assert failed_checks(job) == {}
    assert_candidate_is_the_sample_change(batch, GOOD)
    pr = job["pr"]
    assert pr["state"] == "open" and pr["branch"].startswith(f"shipyard/{job['ticket_id']}-add-power")
    assert run_git(["branch", "--list", "shipyard/*"], cwd=repo).split() == [pr["branch"]]
    assert "def test_power_negative" in run_git(["show", f"{pr['branch']}:tests/test_power.py"], cwd=repo)
    assert run_git(["rev-parse", "main"], cwd=repo).strip() == batch.base_shas[GOOD.key]
    body = job["pr_body"]
    assert "### Quality gates: ✅ passed" in body
    assert "Diff coverage: 100.0%" in body
    assert "| New tests fail before, pass after | ✅ pass |" in body and "tests/test_power.py" in body
    with batch.ship.store.session() as s:
        assert len(s.scalars(select(PullRequest).where(PullRequest.job_id == job["id"])).all()) == 1


@pytest.mark.slow
def test_a_conftest_that_reports_failures_as_passes_is_blocked(batch):
    """The candidate's own code runs inside the gate's test run; it must not get to grade itself."""
    job = assert_blocked_by_the_gate(batch, FORGED)
    failed = failed_checks(job)
    named = [
        name for name, reason in failed.items() if "conftest.py" in reason or "tests/test_core.py::test_mul" in reason
    ]
    assert named, f"no failing check names conftest.py or the broken test: {failed}"
