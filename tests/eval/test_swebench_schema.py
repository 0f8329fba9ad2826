"""``shipyard eval --predictions-out`` read by the swebench package itself: installed from PyPI into
a virtualenv of its own, its harness loads the file as it loads any agent's predictions and finds
each field where its evaluation reads it. The package brings its whole harness (``datasets``,
``docker``, ``modal``…): about 25 s and 500 MB to install, removed afterwards."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.eval.test_eval_command import EVAL, PER_INSTANCE, shipyard

pytestmark = [pytest.mark.swebench, pytest.mark.slow, pytest.mark.workers]

SWEBENCH = "swebench==5.0.2"

READ_AS_THE_HARNESS_DOES = """
import json, sys
from swebench.harness.utils import get_predictions_from_file

# swebench 5.0.2's run_evaluation: the loader, then per prediction its log directory name and the
# patch it writes to patch.diff and `git apply`s; an empty patch is reported as "empty patch".
predictions = get_predictions_from_file(sys.argv[1], "SWE-bench/SWE-bench_Lite", "test")
print(json.dumps([
    {
        "instance_id": p["instance_id"],
        "log_dir": p.get("model_name_or_path", "None").replace("/", "__"),
        "patch": p["model_patch"] or "",
        "empty": p.get("model_patch", None) in ["", None],
    }
    for p in predictions
]))
"""


def swebench_python(venv: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", SWEBENCH],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, f"pip install {SWEBENCH} failed:\n{install.stdout[-2000:]}{install.stderr[-3000:]}"
    return python


@pytest.fixture
def swebench(tmp_path) -> Iterator[Path]:
    venv = tmp_path / "swebench-venv"
    try:
        yield swebench_python(venv)
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def test_the_predictions_file_loads_with_swebenchs_own_harness(tmp_path, swebench):
    # Two instances of the shipped set: one whose change opens a pull request, one refused at triage.
    chosen = {"textkit-slugify-dashes", "textkit-rotate-keys"}
    lines = [json.loads(line) for line in (EVAL / "instances.jsonl").read_text().splitlines() if line.strip()]
    subset = [dict(i, repo=str((EVAL / i["repo"]).resolve())) for i in lines if i["instance_id"] in chosen]
    (tmp_path / "instances.jsonl").write_text("".join(json.dumps(i) + "\n" for i in subset))
    preds = tmp_path / "preds.jsonl"
    out = shipyard(
        "eval", str(tmp_path / "instances.jsonl"), "--cassettes", str(EVAL / "cassettes"), "--sandbox", "local",
        "--data-dir", str(tmp_path / "eval"), "--json", "--predictions-out", str(preds),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (report,) = json.loads(out.stdout)
    assert {r["instance_id"]: r["pr_opened"] for r in report["results"]} == {
        iid: PER_INSTANCE[iid][1] for iid in chosen
    }

    read = subprocess.run([str(swebench), "-c", READ_AS_THE_HARNESS_DOES, str(preds)], capture_output=True, text=True)
    assert read.returncode == 0, read.stderr[-3000:]
    got = {p["instance_id"]: p for p in json.loads(read.stdout)}
    assert set(got) == chosen
    assert {p["log_dir"] for p in got.values()} == {"shipyard__cassettes"}
    dashes, rotate = got["textkit-slugify-dashes"], got["textkit-rotate-keys"]
    assert "diff --git a/textkit/slug.py b/textkit/slug.py" in dashes["patch"] and not dashes["empty"]
    assert rotate["patch"] == "" and rotate["empty"]  # refused at triage: no change
