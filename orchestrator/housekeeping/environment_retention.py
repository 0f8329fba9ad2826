"""Retention of repository environments: a cached environment unused for the retention period goes.

Environments (``data_dir/envs/<key>``, see ``sandboxes.environments``) are a cache like job
directories: any job whose key is gone builds it again from its setup commands. Each use
touches the entry, so only environments no job has started from for ``retain_days`` are
removed, on the same schedule and retention as finished jobs' directories. Driven by what is
on disk and idempotent: every worker's sweep may run it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.housekeeping.retention import dir_size
from sandboxes.environments.cache import ENVS_DIR, EnvCache


@dataclass(frozen=True)
class FreedEnvironment:
    key: str
    bytes: int


def collect_environments(data_dir: Path, retain_days: float) -> list[FreedEnvironment]:
    """Remove the environments under ``data_dir`` not used for ``retain_days``; returns what was freed."""
    cache = EnvCache(Path(data_dir) / ENVS_DIR)
    sizes = {p.name: dir_size(p) for p in cache.stale(retain_days * 86400)}
    return [FreedEnvironment(path.name, sizes.get(path.name, 0)) for path in cache.reap(retain_days * 86400)]
