"""``/metrics`` is valid Prometheus text and reports what the store holds."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from tests.web.store_rows import gate_report


def test_metrics_parse_and_match_the_store(client, add_job):
    add_job(state="merged", usage=[("small", 0.30)], gates=[gate_report(False), gate_report(True)])
    add_job(state="blocked", usage=[("small", 0.50)], gates=[gate_report(False)])
    add_job(state="running", usage=[("large", 1.0)])
    add_job(state="merged", cassette="/c.json", usage=[("replay", 0.02)])

    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    value = lambda name, **labels: next(s.value for s in families[name].samples if s.labels == labels)  # noqa: E731

    assert value("shipyard_jobs", state="merged") == 2
    assert value("shipyard_jobs", state="running") == 1
    assert value("shipyard_jobs", state="awaiting_review") == 0
    assert value("shipyard_model_spend_usd", scripted="false") == 0.8
    assert value("shipyard_cost_per_merged_pr_usd", scripted="false") == 0.8
    assert value("shipyard_cost_per_merged_pr_usd", scripted="true") == 0.02
    assert value("shipyard_model_cost_usd", model="large", scripted="false") == 1.0
    assert value("shipyard_gate_runs", result="passed") == 1
    assert value("shipyard_gate_runs", result="failed") == 2


def test_metrics_on_an_empty_store_say_nan_not_zero(client):
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    [real, _] = families["shipyard_cost_per_merged_pr_usd"].samples
    assert math.isnan(real.value)
