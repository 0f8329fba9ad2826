"""``shipyard eval`` end to end on the shipped eval set: the real CLI, a Celery worker process,
real sandboxes, the gate, then the hidden tests in a fresh sandbox. Cassettes stand in for the
model, so the table is exact."""

from __future__ import annotations

import json
import shutil
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


def swebench_predictions(path: Path) -> list[dict]:
    """Read a predictions file as SWE-bench's harness does (swebench 5.0.2:
    ``harness.utils.get_predictions_from_file`` reads the JSONL and requires ``instance_id``;
    ``harness.run_evaluation`` then reads ``model_name_or_path`` (a log directory name, ``/`` made
    ``__``) and ``model_patch`` (a ``git apply``-able diff; "" or None for no change) of each).
    The swebench package itself reads such a file in ``test_swebench_schema.py``."""
    predictions = [json.loads(line) for line in path.read_text().splitlines()]
    for pred in predictions:
        assert isinstance(pred, dict) and "instance_id" in pred
        assert set(pred) == {"instance_id", "model_name_or_path", "model_patch"}
        assert isinstance(pred["model_name_or_path"], str) and pred["model_name_or_path"].replace("/", "__")
        assert pred["model_patch"] is None or isinstance(pred["model_patch"], str)
    return predictions


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
        "--predictions-out",
        str(tmp_path / "preds.jsonl"),
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
    predictions = swebench_predictions(tmp_path / "preds.jsonl")
    assert [p["instance_id"] for p in predictions] == list(PER_INSTANCE)
    assert {p["model_name_or_path"] for p in predictions} == {"shipyard/cassettes"}
    dashes = predictions[0]["model_patch"]
    assert "diff --git a/textkit/slug.py b/textkit/slug.py" in dashes and "tests/test_slug.py" in dashes
    # What the official harness does with it: `git apply` on the base tree.
    base = tmp_path / "base"
    shutil.copytree(EVAL / ".." / "sample_repo", base)
    check = subprocess.run(["git", "apply", "--check", "-"], input=dashes, text=True, cwd=base, capture_output=True)
    assert check.returncode == 0, check.stderr
    rotate = next(p for p in predictions if p["instance_id"] == "textkit-rotate-keys")
    assert rotate["model_patch"] == ""  # refused at triage: no change, as SWE-bench writes an empty patch
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
    good = json.loads((EVAL / "instances.jsonl").read_text().splitlines()[0])
    good["repo"] = str(EVAL / good["repo"])
    bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "instance_id": "x", "FAIL_TO_PASS": "[]"}) + "\n")
    with pytest.raises(EvalError, match=r"bad.jsonl:2: FAIL_TO_PASS: empty"):
        load_instances(bad)
    bad.write_text('{"instance_id": "y"}\n')
    with pytest.raises(EvalError, match=r"bad.jsonl:1: repo: Field required"):
        load_instances(bad)
    bad.write_text("{nope\n")
    with pytest.raises(EvalError, match=r"bad.jsonl:1: not JSON"):
        load_instances(bad)
