"""``shipyard eval`` end to end on the shipped eval set: the real CLI, a Celery worker process,
real sandboxes, the gate, then the hidden tests in a fresh sandbox. Cassettes stand in for the
model, so the table is exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.eval.instances import EvalError, load_instances

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "orchestrator" / "demo" / "assets" / "eval"

EXPECTED = {
    "instances": 5,
    "resolved": 3,
    "resolved_rate": 0.6,
    "prs_opened": 3,
    "prs_failing_hidden_tests": 1,
    "gate_precision": 0.6667,
    "blocked_but_would_pass": 1,
    "gate_recall": 0.6667,
}
PER_INSTANCE = {  # (state, PR opened, resolved by the hidden tests)
    "textkit-slugify-dashes": ("awaiting_review", True, True),
    "textkit-add-truncate": ("awaiting_review", True, True),
    "textkit-truncate-ellipsis": ("awaiting_review", True, False),
    "textkit-slugify-untested": ("blocked", False, True),
    "textkit-rotate-keys": ("blocked", False, False),
}


def shipyard(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args], cwd=ROOT, capture_output=True, text=True, timeout=1200
    )


@pytest.mark.slow
@pytest.mark.workers
def test_eval_on_the_shipped_set_reproduces_the_expected_table(tmp_path):
    out = shipyard(
        "eval",
        str(EVAL / "instances.jsonl"),
        "--cassettes",
        str(EVAL / "cassettes"),
        "--sandbox",
        "local",
        "--data-dir",
        str(tmp_path / "eval"),
        "--json",
        "--report",
        str(tmp_path / "report.md"),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (report,) = json.loads(out.stdout)
    assert {k: report[k] for k in EXPECTED} == EXPECTED, json.dumps(report, indent=1)[:4000]
    got = {r["instance_id"]: (r["state"], r["pr_opened"], r["resolved"]) for r in report["results"]}
    assert got == PER_INSTANCE
    ellipsis = next(r for r in report["results"] if r["instance_id"] == "textkit-truncate-ellipsis")
    assert ellipsis["failing_tests"] == [
        "tests/test_hidden_ellipsis.py::test_hidden_default_placeholder_is_one_ellipsis_character"
    ]
    assert report["cost_per_resolved_usd"] == pytest.approx(report["cost_usd"] / 3, abs=1e-6)
    markdown = (tmp_path / "report.md").read_text()
    assert "| gate precision | 0.6667 |" in markdown and "| textkit-slugify-untested |" in markdown
    # A second configuration side by side: the saved JSON report compared with itself.
    saved = tmp_path / "a.json"
    saved.write_text(out.stdout)
    side = shipyard(
        "eval", str(EVAL / "instances.jsonl"), "--no-run", "--compare-with", str(saved), "--compare-with", str(saved)
    )
    assert side.returncode == 0, side.stderr
    assert "| gate recall | 0.6667 | 0.6667 |" in side.stdout and "| figure | cassettes | cassettes |" in side.stdout


@pytest.mark.workers
def test_a_missing_cassette_is_a_clear_error_before_any_job_runs(tmp_path):
    missing = shipyard(
        "eval",
        str(EVAL / "instances.jsonl"),
        "--data-dir",
        str(tmp_path / "m"),
        "--cassettes",
        str(tmp_path / "missing"),
    )
    assert missing.returncode == 2
    assert "no cassette textkit-slugify-dashes.yml for instance textkit-slugify-dashes" in " ".join(
        missing.stdout.split()
    )


def test_bad_instances_are_named_by_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = (EVAL / "instances.jsonl").read_text().splitlines()[0]
    bad.write_text(good + "\n" + json.dumps({**json.loads(good), "instance_id": "x", "FAIL_TO_PASS": "[]"}) + "\n")
    with pytest.raises(EvalError, match=r"bad.jsonl:2: FAIL_TO_PASS: empty"):
        load_instances(bad)
    bad.write_text('{"instance_id": "y"}\n')
    with pytest.raises(EvalError, match=r"bad.jsonl:1: repo: Field required"):
        load_instances(bad)
    bad.write_text("{nope\n")
    with pytest.raises(EvalError, match=r"bad.jsonl:1: not JSON"):
        load_instances(bad)
