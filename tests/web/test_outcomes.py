"""Outcome arithmetic on a store holding known rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.reporting.outcomes import outcome_metrics
from orchestrator.settings import Settings
from tests.web.store_rows import JobSpec, gate_report, insert_job


def fill_ledger(ship: Shipyard) -> Shipyard:
    """Real-model jobs, scripted replays and one job outside a 30-day window."""
    add = lambda **kw: insert_job(ship, JobSpec(**kw))  # noqa: E731
    add(
        state="merged",
        complexity="low",
        human_touches=1,
        usage=[("small", 0.30), ("large", 0.10)],
        gates=[gate_report(False, 50.0), gate_report(True, 92.0)],
        pr_state="merged",
    )
    add(
        state="merged",
        complexity="medium",
        human_touches=2,
        usage=[("large", 0.60)],
        gates=[gate_report(True, 100.0)],
        repo="other",
        pr_state="merged",
    )
    retried = JobSpec(state="blocked", complexity="low", usage=[("small", 0.50)], reason="gates failed 3 times")
    insert_job(ship, retried)
    add(state="failed", usage=[("small", 0.20)], reason="internal error")
    add(state="closed", complexity="low", human_touches=1, usage=[("small", 0.30)], pr_state="closed")
    add(state="running", usage=[("large", 1.00)])
    add(
        state="merged",
        complexity="low",
        human_touches=0,
        usage=[("small", 0.10)],
        gates=[gate_report(True, None)],
        ticket_id=retried.ticket_id,
        pr_state="merged",
    )
    add(state="merged", labels=[], usage=[("small", 0.20)], pr_state="merged")
    add(state="merged", cassette="/cassettes/a.json", usage=[("replay", 0.05)], gates=[gate_report(True, 90.0)])
    add(state="blocked", cassette="/cassettes/b.json", usage=[("replay", 0.05)])
    add(state="merged", usage=[("large", 9.0)], created_at=datetime.now(UTC) - timedelta(days=40))
    return ship


@pytest.fixture
def ledger(ship):
    return fill_ledger(ship)


def test_cost_per_merged_pr_charges_failed_and_blocked_spend_to_merged_ones(ledger):
    real = outcome_metrics(ledger.store, since=datetime.now(UTC) - timedelta(days=30)).real

    # Finished: 0.40 + 0.60 + 0.50 + 0.20 + 0.30 + 0.10 + 0.20 = 2.30 over 4 merged; the running job's 1.00 is not
    # counted.
    assert real.spend_usd == pytest.approx(2.30)
    assert real.merged == 4
    assert real.cost_per_merged_pr_usd == pytest.approx(0.575)
    assert (real.closed, real.blocked, real.failed, real.cancelled, real.jobs_active) == (1, 1, 1, 0, 1)
    assert real.jobs_finished == 7


def test_backlog_coverage_and_untouched_share(ledger):
    real = outcome_metrics(ledger.store, since=datetime.now(UTC) - timedelta(days=30)).real

    # Six labelled tickets (the retried one counts once); three of them have a merged job.
    assert (real.tickets_labelled, real.tickets_automated) == (6, 3)
    assert real.backlog_automated_share == pytest.approx(0.5)
    # Final gates of merged jobs: 92 (the failed first attempt does not count) and 100; one measured nothing.
    assert real.diff_coverage_mean == pytest.approx(96.0)
    assert real.diff_coverage_samples == 2
    # Low complexity finished: merged (1 touch), blocked, closed, merged (0 touches) → 2 of 4 untouched.
    assert (real.low_complexity_untouched, real.low_complexity_finished) == (2, 4)
    assert real.low_complexity_untouched_share == pytest.approx(0.5)


def test_replays_are_kept_apart_and_labelled(ledger):
    m = outcome_metrics(ledger.store, since=datetime.now(UTC) - timedelta(days=30))

    assert m.scripted.spend_usd == pytest.approx(0.10)
    assert m.scripted.merged == 1
    assert m.scripted.cost_per_merged_pr_usd == pytest.approx(0.10)
    assert m.scripted.diff_coverage_mean == pytest.approx(90.0)
    replay = [r for r in m.cost_by_model if r.model == "replay"]
    assert len(replay) == 1 and replay[0].scripted and replay[0].cost_usd == pytest.approx(0.10)
    assert all(not r.scripted for r in m.cost_by_model if r.model != "replay")


def test_cost_by_model_and_repository(ledger):
    m = outcome_metrics(ledger.store, since=datetime.now(UTC) - timedelta(days=30))

    by_model = {r.model: r for r in m.cost_by_model}
    assert by_model["small"].cost_usd == pytest.approx(0.30 + 0.50 + 0.20 + 0.30 + 0.10 + 0.20)
    assert by_model["large"].cost_usd == pytest.approx(0.10 + 0.60 + 1.00)  # the running job's spend is spend too
    assert by_model["small"].calls == 6
    by_repo = {r.repository: r for r in m.cost_by_repository}
    assert by_repo["other"].spend_usd == pytest.approx(0.60) and by_repo[
        "other"
    ].cost_per_merged_pr_usd == pytest.approx(0.60)
    assert by_repo["demo"].spend_usd == pytest.approx(1.70)
    assert by_repo["demo"].merged == 3
    assert by_repo["demo"].scripted_spend_usd == pytest.approx(0.10)
    assert (m.gate_runs_passed, m.gate_runs_failed) == (4, 1)


def test_all_time_includes_old_jobs_and_empty_store_has_no_ratio(ledger, tmp_path):
    m = outcome_metrics(ledger.store)
    assert m.real.merged == 5
    assert m.real.cost_per_merged_pr_usd == pytest.approx((2.30 + 9.0) / 5)

    empty = outcome_metrics(Shipyard.load(Settings(data_dir=tmp_path / "empty")).store)
    assert empty.real.cost_per_merged_pr_usd is None
    assert empty.real.backlog_automated_share is None
    assert empty.real.diff_coverage_mean is None
