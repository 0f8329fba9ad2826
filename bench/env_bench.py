"""Repository environments: what the first job's setup costs, and what the second job's saves.

A requirements file of real packages (requests and its dependencies, attrs, inflection,
tabulate), downloaded once from PyPI into a local wheel directory so every install below is
offline and the network's noise stays out. Side by side in one run, ``--repeats`` times:

* plain: ``pip install --target <dir> -r requirements.txt`` on the host, with Shipyard's own pip
  (no sandbox, no virtualenv: the cheapest way to install those requirements);
* first job: a fresh sandbox with an empty environment cache runs the same setup (the
  virtualenv, the install, keeping it in the cache);
* second job: a fresh sandbox on the same key (starts from the cached environment).

Run: ``python bench/env_bench.py [--backend bwrap|docker] [--repeats N]``.
Targets: second job / first job <= 0.1; first job / plain <= 1.2.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandboxes.base import SandboxSpec
from sandboxes.docker import DockerSandboxProvider
from sandboxes.local import LocalSandboxProvider

REQUIREMENTS = "requests\nattrs\ninflection\ntabulate\n"
SETUP = ["python -m pip install -q --no-index --find-links wheels -r requirements.txt"]
SPEC = SandboxSpec(memory_mb=1024)


def summary(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    print(f"{name:<28} min {ordered[0]:7.3f}  median {median:7.3f}  max {ordered[-1]:7.3f} s  (n={len(ordered)})")
    return median


def download(wheels: Path, requirements: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--only-binary=:all:",
            "-d",
            str(wheels),
            "-r",
            str(requirements),
        ],
        check=True,
    )


def plain_install(wheels: Path, requirements: Path, scratch: Path) -> float:
    target = Path(tempfile.mkdtemp(dir=scratch))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels),
         "--target", str(target), "-r", str(requirements)],
        check=True,
    )  # fmt: skip
    took = time.perf_counter() - started
    shutil.rmtree(target)
    return took


def provider(backend: str, scratch: Path, env_root: Path):
    if backend == "docker":
        return DockerSandboxProvider(scratch / "sandboxes", env_root=env_root)
    return LocalSandboxProvider(scratch / "sandboxes", isolation="bwrap", env_root=env_root)


def job_setup(prov, wheels: Path) -> tuple[float, bool]:
    box = prov.acquire(SPEC)
    try:
        box.write_file("requirements.txt", REQUIREMENTS.encode())
        for wheel in sorted(wheels.iterdir()):
            box.write_file(f"wheels/{wheel.name}", wheel.read_bytes())
        started = time.perf_counter()
        results = box.run_setup(SETUP)
        took = time.perf_counter() - started
        if not results or not results[-1].ok:
            raise SystemExit(f"setup failed: {results[-1].output if results else 'no result'}")
        report = box.environment_report
        return took, bool(report and report.cached)
    finally:
        box.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["bwrap", "docker"], default="bwrap")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="env-bench-"))
    try:
        wheels, requirements = scratch / "wheels", scratch / "requirements.txt"
        requirements.write_text(REQUIREMENTS)
        download(wheels, requirements)
        print(f"{len(list(wheels.iterdir()))} wheels: {', '.join(sorted(p.name for p in wheels.iterdir()))}")
        plain, first, second = [], [], []
        for i in range(args.repeats):
            plain.append(plain_install(wheels, requirements, scratch))
            prov = provider(args.backend, scratch / f"run-{i}", scratch / f"envs-{i}")
            took, cached = job_setup(prov, wheels)
            assert not cached, "the first job found an environment in an empty cache"
            first.append(took)
            took, cached = job_setup(prov, wheels)
            assert cached, "the second job did not start from the cached environment"
            second.append(took)
        plain_s = summary("plain pip install", plain)
        first_s = summary(f"first job setup ({args.backend})", first)
        second_s = summary(f"second job setup ({args.backend})", second)
        print(f"first job / plain pip install: {first_s / plain_s:.2f} x (goal <= 1.2)")
        print(f"second job / first job: {second_s / first_s:.3f} (goal <= 0.1)")
        print(f"RESULT env_reuse_ratio {second_s / first_s:.3f} ratio")
    finally:
        subprocess.run(["umount", "-l", *map(str, scratch.glob("run-*/sandboxes/*"))], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
