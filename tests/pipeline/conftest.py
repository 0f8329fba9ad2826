from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from tests.pipeline.harness import register, sample_repository

CASSETTES = Path(__file__).parent / "cassettes"


@pytest.fixture
def make_ship(tmp_path, scrub_env):
    """A deployment in a tmp dir: ``make_ship(sandbox_backend=…, broker_url=…, database_url=…)``."""

    def make(**overrides) -> Shipyard:
        settings = Settings(data_dir=tmp_path / "data", lease_seconds=overrides.pop("lease_seconds", 30), **overrides)
        ship = Shipyard.load(settings)
        repo = sample_repository(tmp_path / "textkit")
        register(ship, repo, "textkit")
        return ship

    return make
