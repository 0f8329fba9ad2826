"""Sandbox latency: cold start vs warm-pool acquire, exec round-trip, 10 concurrent acquires,
and what the per-sandbox disk quota (a loop-mounted filesystem image) costs to set up and release.

Run: ``python bench/sandbox_bench.py [--repeats N]`` (needs the Docker engine and the
``shipyard-sandbox:latest`` image: ``python -m sandboxes.images ensure``).
Targets: warm acquire p50 <= 50 ms, exec round-trip (``true``) p50 <= 60 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandboxes.base import SandboxSpec
from sandboxes.disk_quota import QuotaDisk
from sandboxes.docker import DockerSandboxProvider
from sandboxes.local import LocalSandboxProvider
from sandboxes.pool import WarmPool

SPEC = SandboxSpec(memory_mb=512)


def summary(name: str, samples_s: list[float]) -> float:
    ms = sorted(s * 1000 for s in samples_s)
    p50 = statistics.median(ms)
    print(f"{name:<34} min {ms[0]:8.1f}  median {p50:8.1f}  max {ms[-1]:8.1f} ms  (n={len(ms)})")
    return p50


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def cold_starts(provider: DockerSandboxProvider, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        took, box = timed(lambda: provider.start(SPEC))
        samples.append(took)
        box.close()
    return samples


def warm_acquires(pool: WarmPool, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        pool.wait_ready()
        took, box = timed(pool.acquire)
        samples.append(took)
        box.close()
    return samples


def exec_round_trips(box, repeats: int) -> list[float]:
    box.exec("true")
    return [timed(lambda: box.exec("true"))[0] for _ in range(repeats)]


def quota_disks(root: Path, size_mb: int, repeats: int) -> tuple[list[float], list[float]]:
    """Creating + mounting, then unmounting + deleting, one quota filesystem of ``size_mb``."""
    made, released = [], []
    for i in range(repeats):
        directory = root / f"quota-{size_mb}-{i}"
        directory.mkdir(parents=True)
        took, disk = timed(partial(QuotaDisk, directory, size_mb))
        made.append(took)
        released.append(timed(disk.release)[0])  # type: ignore[attr-defined]
        directory.rmdir()
    return made, released


def concurrent_acquires(acquire: Callable[[], object], before: Callable[[], None], repeats: int) -> list[float]:
    """Wall time for 10 simultaneous acquires."""
    samples = []
    with ThreadPoolExecutor(max_workers=10) as threads:
        for _ in range(repeats):
            before()
            took, boxes = timed(lambda: list(threads.map(lambda _i: acquire(), range(10))))
            samples.append(took)
            for box in boxes:
                box.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    provider = DockerSandboxProvider(root / "docker")
    cold = summary("docker cold start", cold_starts(provider, args.repeats))
    pool = WarmPool(provider, SPEC, size=10)
    try:
        warm = summary("docker warm acquire", warm_acquires(pool, args.repeats))
        box = pool.acquire()
        try:
            docker_exec = summary("docker exec round-trip (true)", exec_round_trips(box, args.repeats * 2))
            # The engine's own floor: docker-py's exec_run, no timeout, cap or ownership handling.
            raw = [timed(lambda: box.container.exec_run(["true"]))[0] for _ in range(args.repeats * 2)]
            raw_exec = summary("engine floor: exec_run(true)", raw)
        finally:
            box.close()
        summary(
            "10 concurrent warm acquires (wall)",
            concurrent_acquires(pool.acquire, lambda: pool.wait_ready(), max(3, args.repeats // 5)),
        )
    finally:
        pool.close()
    summary(
        "10 concurrent cold starts (wall)",
        concurrent_acquires(lambda: provider.start(SPEC), lambda: None, max(3, args.repeats // 5)),
    )
    local = LocalSandboxProvider(root / "local")
    lbox = local.acquire(SPEC)
    try:
        summary(f"{lbox.backend} exec round-trip (true)", exec_round_trips(lbox, args.repeats * 2))
    finally:
        lbox.close()
    for size_mb in (64, SPEC.disk_mb):
        made, released = quota_disks(root / "quota", size_mb, args.repeats)
        summary(f"disk quota {size_mb} MB: create+mount", made)
        summary(f"disk quota {size_mb} MB: unmount+delete", released)
    print(f"exec round-trip / engine floor = {docker_exec / raw_exec:.2f}x")
    print(
        f"cold start / warm acquire = {cold / warm:.1f}x; targets: warm acquire p50 <= 50 ms "
        f"({'met' if warm <= 50 else 'MISSED'}), exec p50 <= 60 ms ({'met' if docker_exec <= 60 else 'MISSED'})"
    )
    print(f"RESULT warm_acquire_p50_ms {warm:.1f} ms")


if __name__ == "__main__":
    main()
