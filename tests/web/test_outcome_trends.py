"""Outcomes over time for a team lead: weekly charts with their numbers (CSV/JSON), where the
spend went, what blocked the gate, and a sprint report against the period before."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from typer.testing import CliRunner

from orchestrator.cli.main import app
from orchestrator.reporting.trends import breakdown, weekly
from orchestrator.store.tables import ModelUsage
from tests.web.store_rows import JobSpec, gate_report, insert_job

WED = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
EARLIER = WED - timedelta(days=7)


def _team_history(ship) -> dict[str, int]:
    """Two weeks of finished work: merged, blocked (gate), closed; and one scripted replay."""
    specs = {
        "merged_now": JobSpec(state="merged", created_at=WED, complexity="low", human_touches=1, pr_state="merged",
                              usage=[("gpt-small", 0.30)], gates=[gate_report(True)]),
        "blocked_now": JobSpec(state="blocked", created_at=WED, complexity="medium",
                               usage=[("gpt-small", 0.10), ("gpt-large", 0.50)],
                               gates=[gate_report(False, 40.0, "diff coverage 40% < 90%")]),
        "merged_before": JobSpec(state="merged", created_at=EARLIER, complexity="low", human_touches=2,
                                 pr_state="merged", usage=[("gpt-small", 0.20)], gates=[gate_report(True)]),
        "closed_before": JobSpec(state="closed", created_at=EARLIER, usage=[("gpt-small", 0.20)]),
        "replay": JobSpec(state="merged", created_at=WED, cassette="demo.yml", usage=[("scripted:demo", 9.0)]),
    }  # fmt: skip
    ids = {name: insert_job(ship, spec) for name, spec in specs.items()}
    with ship.store.session() as s:
        s.execute(update(ModelUsage).where(ModelUsage.model == "gpt-large").values(role="code"))
        s.execute(update(ModelUsage).where(ModelUsage.model == "gpt-small").values(role="triage"))
    return ids


def test_weekly_figures_count_real_work_in_the_week_it_finished(ship):
    _team_history(ship)
    weeks = weekly(ship.store, 3, now=WED + timedelta(days=1))
    assert [str(w.week) for w in weeks] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert [(w.merged, w.closed, w.blocked) for w in weeks] == [(0, 0, 0), (1, 1, 0), (1, 0, 1)]
    assert weeks[2].spend_usd == 0.9 and weeks[2].cost_per_merged_pr_usd == 0.9  # the replay's $9 is not in it
    assert weeks[1].cost_per_merged_pr_usd == 0.4
    split = breakdown(ship.store, WED - timedelta(days=2), WED + timedelta(days=2))
    assert split.spend_by_role == {"triage": 0.4, "code": 0.5}
    assert split.gate_failures == {"Diff coverage": 1}
    assert split.by_complexity == {"low": {"finished": 1, "merged": 1, "untouched": 1},
                                   "medium": {"finished": 1, "merged": 0, "untouched": 0}}  # fmt: skip


def test_the_sprint_report_compares_a_period_with_the_one_before(ship, monkeypatch):
    _team_history(ship)
    monkeypatch.setenv("SHIPYARD_DATA_DIR", str(ship.settings.data_dir))
    run = CliRunner().invoke(app, ["report", "--from", "2026-11-16", "--to", "2026-11-23"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    md = run.output
    assert md.startswith("# Shipyard outcomes 2026-11-16 → 2026-11-23 (previous: 2026-11-09 → 2026-11-16)")
    assert "| Cost per merged PR | $0.9000 | $0.4000 | +125% |" in md
    assert "| Closed / blocked / failed | 0 / 1 / 0 | 1 / 0 / 0 | – |" in md
    assert "| Diff coverage | 1 |" in md and "| code | $0.5000 |" in md
    assert "1 replayed job(s) finished" in md
    as_json = json.loads(
        CliRunner().invoke(app, ["report", "--from", "2026-11-16", "--to", "2026-11-23", "--format", "json"]).output
    )
    assert (
        as_json["current"]["metrics"]["real"]["merged"] == 1 and as_json["previous"]["metrics"]["real"]["closed"] == 1
    )
    bad = CliRunner().invoke(app, ["report"])
    assert bad.exit_code == 2 and "--sprint" in bad.output
    bad = CliRunner().invoke(app, ["report", "--from", "2026-11-23", "--to", "2026-11-16"])
    assert bad.exit_code == 2 and "must be after" in bad.output


def test_the_dashboard_shows_weekly_charts_with_numbers_and_downloads(ship, client):
    now = datetime.now(UTC) - timedelta(minutes=10)
    insert_job(
        ship,
        JobSpec(
            state="merged", created_at=now, pr_state="merged", usage=[("gpt-small", 0.25)], gates=[gate_report(True)]
        ),
    )
    hostile = gate_report(False)
    hostile["checks"].append({"name": "extra:<img src=x onerror=alert(1)>", "passed": False, "reason": "x"})
    insert_job(ship, JobSpec(state="blocked", created_at=now, gates=[hostile]))
    page = client.get("/outcomes").text
    assert (
        'aria-label="Merged pull requests per week"' in page
        and 'aria-label="Cost per merged PR per week (USD)"' in page
    )
    assert 'id="weekly"' in page and 'href="/api/outcomes/weekly?format=csv"' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    text = client.get("/api/outcomes/weekly?format=csv").text
    assert text.startswith("week,merged,closed,blocked,failed,cancelled,spend_usd,cost_per_merged_pr_usd\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 12 and rows[-1]["merged"] == "1" and rows[-1]["spend_usd"] == "0.25"
    assert client.get("/api/outcomes/weekly?weeks=4").json()[-1]["blocked"] == 1
    assert client.get("/api/outcomes/weekly?weeks=0").status_code == 400
    html = client.get("/api/outcomes/report?format=html")
    assert html.status_code == 200 and "<svg" in html.text and "<img src=x" not in html.text
    assert client.get("/api/outcomes/report?format=markdown").text.startswith("# Shipyard outcomes ")
