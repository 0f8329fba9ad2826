"""Queue policy through a real worker: higher priorities start first; a repository capped at one
job at a time cannot hold up another repository's jobs; concurrent claims never exceed a cap
(SQLite and PostgreSQL); the priority shows in `jobs list` and the API."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from orchestrator.cli.main import app as cli_app
from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket
from orchestrator.domain.scheduling import claim_next, set_repository_cap
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, Job
from orchestrator.worker.job_runner import JobRunner
from tests.pipeline.harness import ASSETS, register, running_worker, sample_repository, wait_for_job
from tests.web.logins import api_client
from workflows.gitops import run_git

QUICK = ASSETS / "cassettes" / "rotate-keys.yml"
"""Triage finds the ticket ineligible: a job that ends ``blocked`` within seconds."""
DONE = {"blocked", "failed", "awaiting_review"}


def deployment(tmp_path: Path, **settings) -> Shipyard:
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10, **settings))
    for name in ("alpha", "beta"):
        register(ship, sample_repository(tmp_path / name), name)
    return ship


def enqueue(ship: Shipyard, repo: str, title: str, labels: tuple[str, ...] = (), dispatch: bool = True) -> int:
    ticket = add_ticket(ship.store, repo=repo, title=title, body="x", labels=["shipyard", *labels], cassette=QUICK)
    if dispatch:
        return ship.enqueue_ticket(ticket.id)[0]
    from orchestrator.domain import jobs

    return jobs.create_job(ship.store, ticket.id)[0]


def started_order(ship: Shipyard) -> list[int]:
    with ship.store.session() as s:
        return list(s.scalars(select(Event.job_id).where(Event.kind == "started").order_by(Event.id)))


def last_event_ids(ship: Shipyard) -> dict[int, int]:
    with ship.store.session() as s:
        rows = s.execute(select(Event.job_id, Event.id).order_by(Event.id)).all()
    return {job_id: event_id for job_id, event_id in rows}


@pytest.mark.slow
@pytest.mark.workers
def test_higher_priority_jobs_start_first_and_show_their_priority(tmp_path, scrub_env, monkeypatch):
    ship = deployment(tmp_path)
    normal = [enqueue(ship, "alpha", f"normal {i}") for i in range(2)]
    low = enqueue(ship, "alpha", "low", ("priority:low",))
    high = [enqueue(ship, "alpha", f"high {i}", ("priority:high",)) for i in range(2)]
    urgent = enqueue(ship, "beta", "urgent", ("Priority:Urgent",))
    with api_client(ship, "admin") as client:
        listed = {j["id"]: j["priority"] for j in client.get("/api/jobs").json()}
    assert listed == {
        normal[0]: "normal",
        normal[1]: "normal",
        low: "low",
        high[0]: "high",
        high[1]: "high",
        urgent: "urgent",
    }
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))
    table = CliRunner().invoke(cli_app, ["jobs", "list"], catch_exceptions=False).output
    assert "priority" in table and "urgent" in table and "low" in table
    with running_worker(ship.settings, concurrency=1) as worker:
        for job_id in [*normal, low, *high, urgent]:
            wait_for_job(ship, job_id, DONE, timeout=180, worker=worker)
    assert started_order(ship) == [urgent, *high, *normal, low]
    rows = json.loads(CliRunner().invoke(cli_app, ["jobs", "list", "--json"], catch_exceptions=False).output)
    assert {r["id"]: r["priority"] for r in rows}[urgent] == "urgent"


@pytest.mark.slow
@pytest.mark.workers
def test_a_repository_capped_at_one_job_does_not_starve_another(tmp_path, scrub_env):
    ship = deployment(tmp_path)
    set_repository_cap(ship.store, "alpha", 1)
    alpha = [enqueue(ship, "alpha", f"alpha {i}") for i in range(10)]
    beta = [enqueue(ship, "beta", f"beta {i}") for i in range(2)]
    with running_worker(ship.settings, concurrency=2) as worker:
        for job_id in beta:
            wait_for_job(ship, job_id, DONE, timeout=180, worker=worker)
        order = started_order(ship)
        with ship.store.session() as s:
            alpha_left = s.scalar(
                select(Job.id).where(Job.id.in_(alpha), Job.state == "queued").order_by(Job.id.desc())
            )
    # Both beta jobs were done while alpha's backlog still waited (each alpha job takes a fraction of a
    # second here, so how many alpha jobs ran meanwhile is the machine's pace, not the policy), and
    # alpha never ran two at once.
    started_alpha = [j for j in order if j in alpha]
    assert set(beta) <= set(order), order
    assert alpha_left is not None, f"beta waited for alpha's whole backlog: {order}"
    assert started_alpha == sorted(started_alpha), "alpha's jobs start oldest first"
    ends = last_event_ids(ship)
    with ship.store.session() as s:
        starts = dict(s.execute(select(Event.job_id, Event.id).where(Event.kind == "started")).all())
    for previous, following in itertools.pairwise(started_alpha):
        assert starts[following] > ends[previous], f"alpha job {following} started before job {previous} ended"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_ship(request, tmp_path, scrub_env) -> Shipyard:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    ship = deployment(tmp_path, database_url=url) if url else deployment(tmp_path)
    yield ship
    ship.store.dispose()


def test_concurrent_claims_never_exceed_a_repository_cap(store_ship):
    ship = store_ship
    set_repository_cap(ship.store, "alpha", 2)
    alpha = [enqueue(ship, "alpha", f"alpha {i}", dispatch=False) for i in range(6)]
    beta = [enqueue(ship, "beta", f"beta {i}", dispatch=False) for i in range(2)]
    barrier = threading.Barrier(8)
    taken: list[int | None] = []

    def claim(n: int) -> None:
        barrier.wait()
        taken.append(claim_next(ship.store, f"test:{n}:0", 60, None))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [j for j in taken if j is not None]
    assert len(claimed) == len(set(claimed)) == 4, taken  # 2 alpha (the cap) + 2 beta; the other claims find none
    assert sorted(j for j in claimed if j in alpha) == alpha[:2]
    assert sorted(j for j in claimed if j in beta) == beta


def test_priority_and_cap_commands_move_a_job_and_refuse_bad_input_by_name(tmp_path, scrub_env, monkeypatch):
    ship = deployment(tmp_path)
    first = enqueue(ship, "alpha", "first", dispatch=False)
    later = enqueue(ship, "alpha", "later", dispatch=False)
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))

    def shipyard(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli_app, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    assert shipyard("jobs", "priority", str(later), "urgent") == (0, f"job {later}: priority urgent\n")
    assert claim_next(ship.store, "test:1:0", 60, None) == later
    code, out = shipyard("jobs", "priority", str(first), "sky-high")
    assert code == 1 and "priority: one of low, normal, high, urgent, got 'sky-high'" in out
    code, out = shipyard("jobs", "cap", "nowhere", "2")
    assert code == 1 and "repository 'nowhere' is not registered" in out
    assert shipyard("jobs", "cap", "alpha", "1")[0] == 0
    assert claim_next(ship.store, "test:2:0", 60, None) is None  # alpha's one slot is taken by `later`
    code, out = shipyard("jobs", "cap", "alpha")
    assert code == 0 and "no cap" in out
    assert claim_next(ship.store, "test:3:0", 60, None) == first


def commit_config(repo: Path, queue: str) -> None:
    """Append a ``queue:`` section to the repository's committed ``.shipyard.yml``."""
    config = repo / ".shipyard.yml"
    config.write_text(config.read_text() + f"queue: {queue}\n")
    run_git(["commit", "-q", "-am", "queue settings"], cwd=repo)


def claims(ship: Shipyard, n: int, default_cap: int | None = None) -> list[int]:
    taken = [claim_next(ship.store, f"test:{i}:0", 60, default_cap) for i in range(n)]
    return [j for j in taken if j is not None]


def test_a_repositorys_shipyard_yml_caps_its_running_jobs_below_the_store_override(store_ship, tmp_path):
    ship = store_ship
    commit_config(tmp_path / "alpha", "{max_running_jobs: 1}")
    first = enqueue(ship, "alpha", "reads the configuration", dispatch=False)
    assert JobRunner(ship.settings, ship.store).run_next() == (first, "blocked")  # prepare read .shipyard.yml
    alpha = [enqueue(ship, "alpha", f"alpha {i}", dispatch=False) for i in range(3)]
    beta = enqueue(ship, "beta", "beta", dispatch=False)
    # The file's cap (1) wins over the deployment's (5): one alpha job and the beta job are taken.
    assert sorted(claims(ship, 4, default_cap=5)) == [alpha[0], beta]
    set_repository_cap(ship.store, "alpha", 2)  # `shipyard jobs cap alpha 2` wins over the file
    assert claims(ship, 3, default_cap=5) == [alpha[1]]
    set_repository_cap(ship.store, "alpha", None)  # back to the file's cap: alpha is over it already
    with ship.store.session() as s:
        s.execute(update(Job).where(Job.id == alpha[1]).values(lease_owner=None, lease_expires_at=None))
    assert claims(ship, 2, default_cap=5) == []


def test_a_bad_queue_cap_in_shipyard_yml_blocks_the_job_naming_the_key(tmp_path, scrub_env):
    ship = deployment(tmp_path)
    commit_config(tmp_path / "alpha", "{max_running_jobs: 0}")
    job_id = enqueue(ship, "alpha", "bad configuration", dispatch=False)
    assert JobRunner(ship.settings, ship.store).run_next() == (job_id, "blocked")
    with ship.store.session() as s:
        reason = s.get(Job, job_id).reason
    assert reason == (
        "invalid configuration: .shipyard.yml: queue.max_running_jobs: "
        "Input should be greater than or equal to 1, got 0"
    )


def test_registering_a_repository_reads_the_cap_its_committed_shipyard_yml_sets(tmp_path, scrub_env):
    ship = deployment(tmp_path)
    capped = sample_repository(tmp_path / "gamma")
    commit_config(capped, "{max_running_jobs: 1}")
    register(ship, capped, "gamma")
    gamma = [enqueue(ship, "gamma", f"gamma {i}", dispatch=False) for i in range(2)]
    assert claims(ship, 2) == [gamma[0]]  # before any job of gamma has read the file
