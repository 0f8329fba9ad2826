"""``shipyard eval`` on the upstream set: real changes from the ``parse`` and ``humanize`` releases
on PyPI (see tests/eval/make_upstream_set.py), each as a good, a source-only and a tests-only
change replayed from cassettes, through a worker, real sandboxes and the gate.

Every verdict below was checked by hand against each job's gate report and hidden-test log:

- humanize (src layout): its tests import the package only after setup's ``pip install -e``, so
  the hidden tests must run with the repository's setup and interpreter; the good change edits
  tests/test_filesize.py, the file the hidden test_patch touches, so that file must be reset to
  the base commit first.
- parse ``%f``, good change: a PR. The changed test file holds ``test_too_many_fields``, skipped
  on Python ≥ 3.5; a skipped test proves nothing either way and no longer blocks the change.
- parse hyphen, good change: blocked by the gate, though the hidden tests pass: it is under the
  diff coverage target, as the upstream tests never reach its hyphen-collision branch
  (parse.py lines 632-633) nor ``fixed_fields``.
- every source-only change fixes the bug (resolved) but adds no test (blocked);
- every tests-only change adds failing tests and no fix (blocked, unresolved).

So two PRs, both right (gate precision 1.0); six changes would pass the hidden tests and the
gate let two through (gate recall 2/6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SET = ROOT / "orchestrator" / "demo" / "assets" / "eval-upstream"

VERDICTS = {  # instance: (state, PR opened, resolved by the hidden tests, reason contains)
    "parse-subsecond-good": ("awaiting_review", True, True, "failing: none"),
    "parse-subsecond-source-only": ("blocked", False, True, "adds or changes no test file"),
    "parse-subsecond-tests-only": ("blocked", False, False, "touches only test files"),
    "parse-hyphen-field-good": ("blocked", False, True, "Diff coverage: 50.0%"),
    "parse-hyphen-field-source-only": ("blocked", False, True, "adds or changes no test file"),
    "parse-hyphen-field-tests-only": ("blocked", False, False, "touches only test files"),
    "humanize-naturalsize-float-good": ("awaiting_review", True, True, ""),
    "humanize-naturalsize-float-source-only": ("blocked", False, True, "adds or changes no test file"),
    "humanize-naturalsize-float-tests-only": ("blocked", False, False, "touches only test files"),
}


@pytest.mark.slow
@pytest.mark.workers
def test_every_verdict_on_the_upstream_set_matches_the_hand_check(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "orchestrator", "eval", str(SET / "instances.jsonl")]
        + ["--cassettes", str(SET / "cassettes"), "--sandbox", "local", "--data-dir", str(tmp_path / "e")]
        + ["--json", "--predictions-out", str(tmp_path / "preds.jsonl")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (report,) = json.loads(out.stdout)
    results = {r["instance_id"]: r for r in report["results"]}
    got = {i: (r["state"], r["pr_opened"], r["resolved"]) for i, r in results.items()}
    assert got == {i: v[:3] for i, v in VERDICTS.items()}, json.dumps(report, indent=1)[:6000]
    for instance, (*_, why) in VERDICTS.items():
        assert why in Path(results[instance]["log"]).read_text(), instance
    hand = {
        "resolved": 6,
        "prs_opened": 2,
        "prs_failing_hidden_tests": 0,
        "gate_precision": 1.0,
        "blocked_but_would_pass": 4,
        "gate_recall": round(2 / 6, 4),
    }
    assert {k: report[k] for k in hand} == hand
    humanize = Path(results["humanize-naturalsize-float-good"]["log"]).read_text()
    assert "reset tests/test_filesize.py to the base commit" in humanize
    assert "pip install" in humanize and "failing: none" in humanize
    assert "reused from the cache" in humanize  # judged in the environment the job's setup built
    # The good change's prediction is the upstream change itself: source and tests.
    preds = {p["instance_id"]: p for p in map(json.loads, (tmp_path / "preds.jsonl").read_text().splitlines())}
    assert '+        return f"{int(bytes_)}B"' in preds["humanize-naturalsize-float-good"]["model_patch"]
