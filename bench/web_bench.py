"""Jobs page and jobs API latency with 10,000 jobs in the store (SQLite in a temp dir).

Run: ``.venv/bin/python bench/web_bench.py [--jobs 10000] [--requests 40]``; the last line is
``RESULT jobs_page_p50_ms <n> ms`` (target ≤ 150 ms)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from orchestrator.deployment import Shipyard
from orchestrator.domain import accounts
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, Repository, Ticket
from orchestrator.web import create_app

STATES = ["merged", "closed", "blocked", "failed", "queued", "running", "awaiting_review"]


def fill(ship: Shipyard, n: int) -> None:
    now = datetime.now(UTC)
    with ship.store.session() as s:
        repo = Repository(name="bench", forge="github", url="acme/bench", base_branch="main")
        s.add(repo)
        s.flush()
        s.execute(
            insert(Ticket),
            [{"repository_id": repo.id, "title": f"Ticket {i}", "body": "", "labels": ["shipyard"]} for i in range(n)],
        )
        s.execute(insert(Job), [
            {"ticket_id": i + 1, "state": STATES[i % len(STATES)], "created_at": now - timedelta(minutes=n - i),
             "finished_at": now - timedelta(minutes=n - i - 2) if i % len(STATES) < 4 else None, "cost_usd": 0.01}
            for i in range(n)
        ])  # fmt: skip


def p50_ms(client: TestClient, url: str, requests: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        size = len(response.content)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs to put in the store")
    parser.add_argument("--requests", type=int, default=40, help="requests per URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ship = Shipyard.load(Settings(data_dir=Path(tmp) / "data"))
        fill(ship, args.jobs)
        accounts.add_user(ship.store, "bench", "viewer", None)
        token = accounts.issue_token(ship.store, "bench")
        with TestClient(
            create_app(ship), base_url="http://localhost", headers={"Authorization": f"Bearer {token}"}
        ) as client:
            page_ms, page_bytes = p50_ms(client, "/", args.requests)
            api_ms, _ = p50_ms(client, "/api/jobs", args.requests)
    print(
        f"jobs page p50 {page_ms:.1f} ms ({page_bytes / 1024:.1f} KB) · "
        f"/api/jobs p50 {api_ms:.1f} ms at {args.jobs} jobs"
    )
    print(f"RESULT jobs_page_p50_ms {page_ms:.1f} ms")


if __name__ == "__main__":
    main()
