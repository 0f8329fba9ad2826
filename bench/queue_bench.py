"""Queue throughput: N tickets with a no-op cassette (triage says "not eligible"), one worker with
2 slots, on the embedded default (SQLite + filesystem broker) and on Redis, side by side.

Prints per broker: enqueue rate, drain rate, dispatch latency p50/p99 (message sent → job
started), orchestration overhead per job (a no-op job runs no sandbox command, so its whole run
is overhead: clone, graph, checkpoints, store writes), worker RSS, and how long the idle worker
takes to exit after SIGTERM (a deploy or scale-down waits that long per worker). Target: the embedded default
drains ≥ 10 jobs/s on 2 cores.

    .venv/bin/python bench/queue_bench.py [--tickets 1000] [--repeats 1] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket
from orchestrator.settings import Settings
from orchestrator.store.tables import Event, Job, JobState
from tests.pipeline.harness import Worker, register, sample_repository

NO_OP_CASSETTE = """name: no-op
triage:
  eligible: false
  complexity: low
  kind: chore
  reason: Benchmark ticket; nothing to do.
plan: ""
code: []
"""
FINAL = [s.value for s in JobState if s.is_final]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def group_rss_mb(pid: int) -> float:
    """Resident memory of the worker's process group (main process and pool children)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pid:
                continue
            with open(f"/proc/{entry}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ProcessLookupError):
            continue
    return total / 1e6


def run_once(tickets: int, broker_url: str | None, workdir: Path) -> dict:
    settings = Settings(data_dir=workdir / "data", sandbox_backend="local", lease_seconds=30, broker_url=broker_url)
    ship = Shipyard.load(settings)
    register(ship, sample_repository(workdir / "textkit"), "textkit")
    cassette = workdir / "no-op.yml"
    cassette.write_text(NO_OP_CASSETTE)
    ids = [
        add_ticket(ship.store, repo="textkit", title=f"no-op {i}", labels=["shipyard"], cassette=cassette).id
        for i in range(tickets)
    ]
    worker = Worker(settings, concurrency=2)
    try:
        _wait_ready(worker)
        started = time.monotonic()
        for ticket_id in ids:
            ship.enqueue_ticket(ticket_id)
        enqueued = time.monotonic()
        rss = _drain(ship, worker, tickets, timeout=max(300.0, tickets * 1.0))
        drained = time.monotonic()
        time.sleep(1.0)  # idle, as a worker is when it is scaled down
        worker.stop()
        stopped = time.monotonic()
    finally:
        worker.stop()
    latency, overhead = _job_timings(ship)
    ship.store.dispose()
    return {
        "enqueue_per_s": tickets / (enqueued - started),
        "drain_per_s": tickets / (drained - started),
        "latency_p50_ms": percentile(latency, 0.5) * 1000,
        "latency_p99_ms": percentile(latency, 0.99) * 1000,
        "overhead_p50_ms": percentile(overhead, 0.5) * 1000,
        "rss_mb": rss,
        "stop_s": stopped - drained - 1.0,
    }


def _wait_ready(worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "ready." not in worker.log():
        if time.monotonic() > deadline or worker.proc.poll() is not None:
            raise SystemExit(f"worker did not start:\n{worker.log()}")
        time.sleep(0.1)


def _drain(ship: Shipyard, worker: Worker, tickets: int, timeout: float) -> float:
    deadline, rss = time.monotonic() + timeout, 0.0
    while True:
        with ship.store.session() as s:
            done = s.scalar(select(func.count()).select_from(Job).where(Job.state.in_(FINAL)))
        rss = max(rss, group_rss_mb(worker.proc.pid))
        if done >= tickets:
            return rss
        if time.monotonic() > deadline or worker.proc.poll() is not None:
            raise SystemExit(f"{done}/{tickets} jobs finished after {timeout:.0f}s\n{worker.log()}")
        time.sleep(0.05)


def _job_timings(ship: Shipyard) -> tuple[list[float], list[float]]:
    """Per job: message sent → first event of the run; first event → finished."""
    with ship.store.session() as s:
        first = dict(
            s.execute(
                select(Event.job_id, func.min(Event.at))
                .where(Event.kind.not_in(["queued", "redelivered"]))
                .group_by(Event.job_id)
            ).all()
        )
        rows = s.execute(select(Job.id, Job.dispatched_at, Job.created_at, Job.finished_at)).all()
    latency, overhead = [], []
    for job_id, sent, created, finished in rows:
        if job_id in first and finished:
            start = _aware(first[job_id])
            latency.append((start - _aware(sent or created)).total_seconds())
            overhead.append((_aware(finished) - start).total_seconds())
    return latency, overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="Redis broker for the side-by-side figure")
    args = parser.parse_args()
    for name in [k for k in os.environ if k.startswith("SHIPYARD_")]:
        del os.environ[name]
    results: dict[str, list[dict]] = {"embedded": [], "redis": []}
    for _ in range(args.repeats):
        for label, broker in (("embedded", None), ("redis", args.redis)):
            if broker:
                import redis

                redis.Redis.from_url(broker).flushdb()
            with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
                results[label].append(run_once(args.tickets, broker, Path(tmp)))
    for label, runs in results.items():
        drains = [r["drain_per_s"] for r in runs]
        print(
            f"{label:9s} drain jobs/s min/median/max "
            f"{min(drains):.2f}/{statistics.median(drains):.2f}/{max(drains):.2f}"
            f"  enqueue {statistics.median(r['enqueue_per_s'] for r in runs):.0f}/s"
            f"  dispatch latency p50 {statistics.median(r['latency_p50_ms'] for r in runs):.0f} ms"
            f" p99 {statistics.median(r['latency_p99_ms'] for r in runs):.0f} ms"
            f"  overhead/job p50 {statistics.median(r['overhead_p50_ms'] for r in runs):.0f} ms"
            f"  worker RSS {max(r['rss_mb'] for r in runs):.0f} MB"
            f"  idle exit on SIGTERM {statistics.median(r['stop_s'] for r in runs):.1f} s"
        )
    embedded = statistics.median(r["drain_per_s"] for r in results["embedded"])
    redis_figure = statistics.median(r["drain_per_s"] for r in results["redis"])
    print(f"redis broker drain: {redis_figure:.2f} jobs/s (embedded / redis = {embedded / redis_figure:.2f} x)")
    print(f"RESULT queue_drain_jobs_per_s {embedded:.2f} jobs/s")


if __name__ == "__main__":
    main()
