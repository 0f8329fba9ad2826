"""Chaos: random SIGKILLs of worker process groups, pool children and main processes, a Redis
crash that loses every queued message, a corrupt cassette, a lost message and duplicate
triggers — then every ticket has exactly one final outcome, no job is left behind, no pull
request or branch is duplicated and no sandbox process is left running.

Representative: half the kills hit a pool child of a worker whose pool is up, in the middle of a
job; a quarter each the whole group and the main process. Bounded: short leases (10 s), a handful
of jobs (two more whenever fewer than two wait, in the first two thirds of the kills), a kill phase
capped at 180 s. ``SHIPYARD_CHAOS_KILLS`` sets the number of kills per backend (default 30; the test
fails if fewer land, if fewer than a third hit a busy pool child or fewer than a fifth each a group
or a main process); ``SHIPYARD_CHAOS_SEED`` replays a run. The report prints the kills of each kind
and how many workers stopped themselves as wedged.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from tests.chaos.chaos import Chaos, RedisServer
from tests.conftest import free_port
from tests.pipeline.harness import register, sample_repository

# Both runs SIGKILL worker process groups for a minute or more with two workers' pools busy: one
# at a time, so that neither slows the other past its kill phase's cap.
pytestmark = pytest.mark.xdist_group("chaos")

KILLS = int(os.environ.get("SHIPYARD_CHAOS_KILLS", "30"))
SEED = int(os.environ.get("SHIPYARD_CHAOS_SEED", str(random.randrange(1_000_000))))


def deployment(tmp_path, **db_and_broker) -> tuple[Shipyard, object]:
    settings = Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10, **db_and_broker)
    ship = Shipyard.load(settings)
    repo = sample_repository(tmp_path / "textkit")
    register(ship, repo, "textkit")
    return ship, repo


def run(chaos: Chaos, tmp_path, redis_restart_at: int | None = None) -> None:
    chaos.queue_workload(normal=5, corrupt_cassette=tmp_path / "corrupt.yml")
    started = time.monotonic()
    print(f"chaos seed={SEED} kills={KILLS}")  # replay a failing run with SHIPYARD_CHAOS_SEED
    try:
        chaos.kill_randomly(KILLS, redis_restart_at=redis_restart_at)
        chaos.report.kill_phase_s = round(time.monotonic() - started, 1)
        chaos.settle()
    finally:
        chaos.stop_workers()
    problems = chaos.audit()
    print(f"chaos seed={SEED} {chaos.report}")
    kills = chaos.report.kills
    assert sum(kills.values()) >= KILLS, f"seed {SEED}: only {kills} kills landed in the capped kill phase"
    assert kills["busy_child"] >= KILLS // 3, f"seed {SEED}: too few kills of a pool child working a job: {kills}"
    assert min(kills["group"], kills["main"]) >= KILLS // 5, (
        f"seed {SEED}: too few group or main-process kills: {kills}"
    )
    assert problems == [], f"seed {SEED}: " + "\n".join(problems)


@pytest.mark.slow
@pytest.mark.workers
def test_chaos_embedded_sqlite_and_filesystem_broker(tmp_path, scrub_env):
    ship, repo = deployment(tmp_path)
    run(Chaos(ship, repo, SEED), tmp_path)


@pytest.mark.slow
@pytest.mark.workers
@pytest.mark.postgres
@pytest.mark.redis
def test_chaos_redis_and_postgres_with_a_redis_crash(tmp_path, scrub_env, postgres_url):
    redis = RedisServer(free_port(), tmp_path)
    redis.start()
    try:
        ship, repo = deployment(tmp_path, database_url=postgres_url, broker_url=redis.url)
        run(Chaos(ship, repo, SEED, redis), tmp_path, redis_restart_at=KILLS // 2)
        ship.store.dispose()
    finally:
        redis.kill()
