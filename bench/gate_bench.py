"""Gate overhead: the full quality gate (baseline cached) vs one plain run of the same suite.

A sample library with ~200 pytest tests gets a small feature with tests. Each repeat times,
side by side, (1) a plain run: fresh sandbox, checkout, the suite's own test command with
JUnit and coverage, loading the plugins the gate loads (``gates.pytest_plugins``, no entry-point
autoload: the agent's own runs see the same) and nothing of the gate's own; (2) the full gate on
the same candidate with the base baseline cached. Both sides run the same pytest with the same
plugins, so the ratio is the gate's own cost (evidence plugin, fail-to-pass, static checks).
Target: gate ≤ 1.3 × plain.

    .venv/bin/python bench/gate_bench.py [--repeats 5] [--backend local|docker]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandboxes.base import SandboxProvider, SandboxSpec
from tests.gates.samples import commit_change, git_repo, init_repo
from workflows.gates import run_gates
from workflows.gates.evidence_check import pytest_plugin_env
from workflows.gates.suite import pinned_test_env
from workflows.repo_config import RepoConfig

MODULES = 10
TESTS_PER_MODULE = 20


def _library_module(i: int) -> str:
    return f'''"""Module {i} of the benchmark library."""


def checksum_{i}(values):
    total = 0
    for n, v in enumerate(values):
        total = (total * 31 + v * (n + {i})) % 1_000_003
    return total


def primes_{i}(limit):
    sieve = [True] * (limit + 1)
    sieve[0:2] = [False, False]
    for p in range(2, int(limit ** 0.5) + 1):
        if sieve[p]:
            sieve[p * p::p] = [False] * len(sieve[p * p::p])
    return [n for n, is_prime in enumerate(sieve) if is_prime]
'''


def _test_module(i: int) -> str:
    lines = [f"from lib.mod{i} import checksum_{i}, primes_{i}\n"]
    for t in range(TESTS_PER_MODULE):
        limit = 2000 + 150 * t
        lines.append(
            f"\n\ndef test_mod{i}_case{t}():\n"
            f"    primes = primes_{i}({limit})\n"
            f"    assert primes[:4] == [2, 3, 5, 7]\n"
            f"    assert checksum_{i}(primes) == checksum_{i}(list(primes))\n"
        )
    return "".join(lines)


def make_bench_repo(path: Path) -> str:
    files = {"lib/__init__.py": "", "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'}
    for i in range(MODULES):
        files[f"lib/mod{i}.py"] = _library_module(i)
        files[f"tests/test_mod{i}.py"] = _test_module(i)
    return init_repo(path, files)


FEATURE = {
    "lib/mean.py": (
        '"""Averages."""\n\n\ndef mean(values):\n    if not values:\n        raise ValueError("empty")\n'
        "    return sum(values) / len(values)\n"
    ),
    "tests/test_mean.py": (
        "import pytest\n\nfrom lib.mean import mean\n\n\ndef test_mean():\n    assert mean([1, 2, 3]) == 2\n\n\n"
        "def test_mean_empty():\n    with pytest.raises(ValueError):\n        mean([])\n"
    ),
}


def plain_run(provider: SandboxProvider, spec: SandboxSpec, repo_path: Path, sha: str, config: RepoConfig) -> float:
    started = time.perf_counter()
    box = provider.acquire(spec)
    try:
        git_repo(repo_path).checkout(sha, box.host_workspace)
        env = pytest_plugin_env(config.gates.pytest_plugins, base=pinned_test_env(box))
        result = box.exec(config.test.command, timeout_s=config.test.timeout_s, env=env)
        if not result.ok:
            raise SystemExit(f"plain run failed: {result.describe_failure()}\n{result.output[-2000:]}")
    finally:
        box.close()
    return time.perf_counter() - started


def gate_run(provider, spec, repo_path: Path, base: str, cand: str, config: RepoConfig, cache: Path) -> float:
    started = time.perf_counter()
    report = run_gates(
        repo=git_repo(repo_path),
        base_sha=base,
        candidate_sha=cand,
        config=config,
        ticket_kind="feature",
        sandboxes=provider,
        spec=spec,
        cache_dir=cache,
    )
    elapsed = time.perf_counter() - started
    if not report.passed:
        raise SystemExit("gate failed on the benchmark's good change: " + "; ".join(report.failed_reasons()))
    return elapsed


def _provider(backend: str, root: Path) -> SandboxProvider:
    if backend == "docker":
        from sandboxes.docker import DockerSandboxProvider

        return DockerSandboxProvider(root)
    from sandboxes.local import LocalSandboxProvider

    return LocalSandboxProvider(root)


def _stats(values: list[float]) -> str:
    return f"min {min(values):.2f}  median {statistics.median(values):.2f}  max {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backend", choices=["local", "docker"], default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        root = Path(tmp)
        base = make_bench_repo(root / "repo")
        cand = commit_change(root / "repo", base, FEATURE, "add mean")
        provider, spec, config = _provider(args.backend, root / "sandboxes"), SandboxSpec(), RepoConfig()
        warm = gate_run(provider, spec, root / "repo", base, cand, config, root / "cache")
        print(
            f"backend {args.backend}; {MODULES * TESTS_PER_MODULE} tests; "
            f"first gate (computes the baseline) {warm:.2f}s"
        )
        plain, gate, ratios = [], [], []
        for i in range(args.repeats):
            p = plain_run(provider, spec, root / "repo", cand, config)
            g = gate_run(provider, spec, root / "repo", base, cand, config, root / "cache")
            plain.append(p)
            gate.append(g)
            ratios.append(g / p)
            print(f"repeat {i + 1}: plain {p:.2f}s  gate {g:.2f}s  ratio {g / p:.2f}")
        print(f"plain run (s): {_stats(plain)}")
        print(f"full gate (s): {_stats(gate)}")
        print(f"ratio        : {_stats(ratios)}")
        print(f"RESULT gate_overhead_ratio {statistics.median(ratios):.2f} x")


if __name__ == "__main__":
    main()
