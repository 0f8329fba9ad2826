"""The outcome queries and the webhook's delivery lookup on PostgreSQL (the scale-out store)."""

from __future__ import annotations

import json

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.reporting.outcomes import outcome_metrics
from orchestrator.settings import Settings
from orchestrator.store.tables import Repository
from tests.web.logins import api_client
from tests.web.store_rows import WEBHOOK_SECRET, sign
from tests.web.test_outcomes import fill_ledger

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ship(tmp_path, postgres_url, scrub_env):
    ship = Shipyard.load(Settings(data_dir=tmp_path / "pg", database_url=postgres_url, webhook_secret=WEBHOOK_SECRET))
    yield ship
    ship.store.dispose()


def test_outcomes_and_webhook_on_postgres(pg_ship):
    m = outcome_metrics(fill_ledger(pg_ship).store)
    assert m.real.merged == 5 and m.real.cost_per_merged_pr_usd == pytest.approx((2.30 + 9.0) / 5)
    assert m.scripted.spend_usd == pytest.approx(0.10)
    assert {r.model for r in m.cost_by_model if r.scripted} == {"replay"}

    with pg_ship.store.session() as s:
        s.add(Repository(name="widgets", forge="github", url="acme/widgets"))
    payload = {
        "action": "labeled",
        "label": {"name": "shipyard"},
        "repository": {"full_name": "acme/widgets"},
        "issue": {"number": 3, "title": "t", "author_association": "OWNER"},
        "sender": {"login": "o"},
    }
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "pg-1", "X-Hub-Signature-256": sign(body)}
    with api_client(pg_ship) as client:
        first = client.post("/webhooks/github", content=body, headers=headers).json()
        again = client.post("/webhooks/github", content=body, headers=headers).json()
        metrics = client.get("/metrics")
    assert first["action"] == "queued" and again == {**again, "action": "duplicate", "job_id": first["job_id"]}
    assert 'shipyard_jobs{state="queued"} 1' in metrics.text
