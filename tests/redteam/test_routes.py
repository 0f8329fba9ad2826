"""The gate against a reward-hacking agent: every route of ``attacks.ATTACKS``, made by a hostile
agent through its own tools, worked by a real worker in real sandboxes, ends blocked with a reason
that names the route; the honest change beside them still gets its pull request.

One deployment and one worker per backend; all tickets queued at once. Both backends take every
attack: they differ in interpreter, paths and users, which the routes run inside the test process
(1 and 2) depend on, and the others must hold on either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import PullRequest
from tests.gates.samples import init_repo
from tests.pipeline.harness import queue_ticket, register, running_worker, wait_for_job
from tests.redteam.attacks import ATTACKS, EXTRA_GATE_YML, FEATURE_PY, POWER_TESTS, Attack, _core, large_calc_files
from workflows.gitops import GitRepo, run_git

# One batch per backend, shared by its tests: on one xdist worker (an xdist group per backend). The
# Docker worker's reaper sweeps leaked containers host-wide, so the Docker batch keeps to the group of
# the other tests that do; the bwrap batch runs beside them.
pytestmark = [pytest.mark.workers, pytest.mark.slow]
GROUPS = {"bwrap": "redteam-bwrap", "docker": "docker-sweep"}

FINAL_STATES = {"awaiting_review", "blocked", "failed", "merged", "closed", "cancelled"}
HONEST = Attack(
    "honest",
    0,
    "Add power",
    {"calc/core.py": _core() + FEATURE_PY, "tests/test_power.py": POWER_TESTS},
    {},
)
TICKET_BODY = "Add `power(base, exp)`, `square(x)` and `cube(x)` to `calc/core.py`."
BACKENDS = {"bwrap": "local", "docker": "docker"}


@dataclass
class Batch:
    ship: Shipyard
    repos: dict[str, Path]
    base_shas: dict[str, str]
    jobs: dict[str, dict]


def cassette(attack: Attack, path: Path) -> Path:
    """The agent's run: it writes the attack's files with its ``create`` tool and says it is done."""
    turns: list[dict] = [
        {"tool": "create", "args": {"path": name, "content": content}, "expect": {"ok": True}}
        for name, content in attack.files.items()
    ]
    turns.append({"tool": "finish", "args": {"summary": "Added power(), square() and cube() with tests."}})
    data = {
        "name": f"redteam-{attack.key}",
        "triage": {"eligible": True, "complexity": "low", "kind": "feature", "reason": "A small, clear feature."},
        "plan": "1. Add power, square and cube to calc/core.py.\n2. Tests in tests/test_power.py.\n",
        "code": [turns],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def repo_files(attack: Attack) -> dict[str, str]:
    files = large_calc_files()
    files[".shipyard.yml"] += "agent:\n  max_attempts: 1\n"
    if attack.extra_gates:
        files[".shipyard.yml"] = files[".shipyard.yml"].replace("gates:\n", "gates:\n" + EXTRA_GATE_YML, 1)
    return files


_BATCHES: dict[str, Batch] = {}


def run_batch(backend: str, root: Path) -> Batch:
    """Every attack for ``backend`` and the honest change, queued at once and worked by one worker."""
    with pytest.MonkeyPatch.context() as env:
        for key in [k for k in os.environ if k.startswith("SHIPYARD_")]:
            env.delenv(key)
        ship = Shipyard.load(Settings(data_dir=root / "data", lease_seconds=30, sandbox_backend=BACKENDS[backend]))
        repos, bases, job_ids = {}, {}, {}
        for attack in [*ATTACKS, HONEST]:
            repos[attack.key] = root / f"calc-{attack.key}"
            bases[attack.key] = init_repo(repos[attack.key], repo_files(attack))
            register(ship, repos[attack.key], f"calc-{attack.key}")
            job_ids[attack.key] = queue_ticket(
                ship, f"calc-{attack.key}", attack.title, TICKET_BODY, cassette(attack, root / f"{attack.key}.yml")
            )
        with running_worker(ship.settings, concurrency=2) as worker:
            jobs = {
                key: wait_for_job(ship, job_id, FINAL_STATES, timeout=300, worker=worker)
                for key, job_id in job_ids.items()
            }
    return Batch(ship, repos, bases, jobs)


@pytest.fixture
def batch(request, tmp_path_factory):
    backend = request.param
    if backend == "docker":
        request.getfixturevalue("docker_engine")  # fails loudly when Docker cannot run
    if backend not in _BATCHES:
        _BATCHES[backend] = run_batch(backend, tmp_path_factory.mktemp(f"redteam-{backend}"))
    return _BATCHES[backend]


def _params(with_attack: bool) -> list:
    out = []
    for backend in BACKENDS:
        marks = [pytest.mark.xdist_group(GROUPS[backend])] + ([pytest.mark.docker] if backend == "docker" else [])
        if not with_attack:
            out.append(pytest.param(backend, marks=marks, id=backend))
            continue
        out += [pytest.param(backend, a, marks=marks, id=f"{backend}-route{a.route}-{a.key}") for a in ATTACKS]
    return out


def check_texts(job: dict) -> dict[str, str]:
    """Failed check → its reason and every violation it lists, as one text."""
    gate = job["attempt_list"][-1]["gate"]
    assert gate is not None, f"no gate report: {job['reason']}"
    out = {}
    for check in gate["checks"]:
        if not check["passed"]:
            listed = [f"{v['path']}: {v['reason']}" for v in check["details"].get("violations", [])]
            out[check["name"]] = "\n".join([check["reason"], *listed])
    return out


def assert_committed(batch: Batch, key: str, files: dict[str, str]) -> None:
    """The candidate the gate judged holds the attack exactly as the agent wrote it."""
    job = batch.jobs[key]
    git = GitRepo(batch.ship.settings.job_dirs.git(job["id"]))
    for path, content in files.items():
        assert git.show_file(job["head_sha"], path) == content.encode(), f"{key}: {path} differs"


@pytest.mark.parametrize(("batch", "attack"), _params(with_attack=True), indirect=["batch"])
def test_the_route_ends_blocked_with_a_reason_that_names_it(batch, attack):
    job = batch.jobs[attack.key]
    assert job["state"] == "blocked", f"{attack.key}: {job['state']}: {job['reason']}"
    assert_committed(batch, attack.key, attack.files)
    assert job["attempt_list"][0]["outcome"] == "gate_failed", job["reason"]
    assert job["pr"] is None and job["pr_body"] is None
    with batch.ship.store.session() as s:
        assert s.scalars(select(PullRequest).where(PullRequest.job_id == job["id"])).all() == []
    repo = batch.repos[attack.key]
    assert run_git(["branch", "--list", "shipyard/*"], cwd=repo).split() == []
    assert run_git(["rev-parse", "main"], cwd=repo).strip() == batch.base_shas[attack.key]
    failed = check_texts(job)
    for name, text in attack.blocked_by.items():
        assert name in failed, f"{attack.key}: {name} passed; failed checks: {failed}"
        assert text in failed[name], f"{attack.key}: {name}: {failed[name]!r} does not mention {text!r}"


@pytest.mark.parametrize("batch", _params(with_attack=False), indirect=True)
def test_the_honest_change_beside_them_gets_its_pull_request(batch):
    job = batch.jobs[HONEST.key]
    assert job["state"] == "awaiting_review", job["reason"]
    assert job["gate_passed"] is True and check_texts(job) == {}
    assert_committed(batch, HONEST.key, HONEST.files)
    assert "### Quality gates: ✅ passed" in job["pr_body"]
