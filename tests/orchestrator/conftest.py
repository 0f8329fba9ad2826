"""Fixtures: a Shipyard on the local sandbox with the sample repository registered as ``textkit``,
and a wait for a condition that fails the test, saying what did not happen, at its deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from tests.pipeline.harness import register, sample_repository


@pytest.fixture
def ship(tmp_path, scrub_env) -> Shipyard:
    ship = Shipyard.load(Settings(data_dir=tmp_path / "data", sandbox_backend="local", lease_seconds=10))
    register(ship, sample_repository(tmp_path / "textkit"), "textkit")
    return ship


def wait_until(check: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> float:
    """Poll ``check`` until it holds and return that moment (``time.monotonic()``); past ``timeout``
    fail with ``what`` (a callable is asked then, so it can show the state that was reached)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what() if callable(what) else what}: not within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic()
