"""The judge scores as SWE-bench's harness does, in the environment the job's gate used, and
``--score-predictions`` puts another agent's patches through the gate and the hidden tests.

The repository here is a src-layout package whose tests import it only once the repository's
``setup`` has run, and whose test command uses the interpreter that setup made: a judge that
runs the hidden tests in a bare sandbox gets them wrong."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.eval.instances import EvalError, load_instances
from orchestrator.eval.predictions import load_predictions
from orchestrator.eval.scorecard import summarize, to_markdown
from workflows.gitops import run_git

ROOT = Path(__file__).resolve().parents[2]

PY = ".shipyard/py -m pytest -q -p no:cacheprovider --junitxml=.shipyard/junit.xml"
SHIPYARD_YML = yaml.safe_dump(
    {
        # The package is importable only through the interpreter setup makes.
        "setup": [
            'mkdir -p .shipyard && printf \'#!/bin/sh\\nPYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" '
            'exec python "$@"\\n\' > .shipyard/py && chmod +x .shipyard/py'
        ],
        "test": {
            "command": f"{PY} --cov=src --cov-report=xml:.shipyard/coverage.xml --cov-context=test",
            "select_command": f"{PY} {{tests}}",
        },
    }
)

BASE_SRC = "def double(x):\n    return x * 3\n\n\ndef half(x):\n    return x / 2\n"
FIXED_SRC = BASE_SRC.replace("x * 3", "x * 2")
BASE_TEST = "from mini import half\n\n\ndef test_half():\n    assert half(4) == 2\n"
AGENT_TEST = BASE_TEST + "\n\ndef test_double_two():\n    assert __import__('mini').double(2) == 4\n"
HIDDEN_TEST = BASE_TEST + "\n\ndef test_double():\n    assert __import__('mini').double(3) == 6\n"


def diff(repo: Path, files: dict[str, str]) -> str:
    for path, text in files.items():
        (repo / path).write_text(text)
    out = run_git(["diff"], cwd=repo)
    run_git(["checkout", "-q", "--", "."], cwd=repo)
    return out


@pytest.fixture
def task(tmp_path: Path) -> Path:
    repo = tmp_path / "mini"
    (repo / "src" / "mini").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / ".shipyard.yml").write_text(SHIPYARD_YML)
    (repo / "src" / "mini" / "__init__.py").write_text(BASE_SRC)
    (repo / "tests" / "test_mini.py").write_text(BASE_TEST)
    run_git(["init", "-q", "-b", "main"], cwd=repo)
    run_git(["add", "-A"], cwd=repo)
    run_git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base"], cwd=repo)
    base = run_git(["rev-parse", "HEAD"], cwd=repo).strip()
    instance = {
        "instance_id": "mini-double",
        "repo": "mini",
        "base_commit": base,
        "problem_statement": "double() triples\n`double(3)` returns 9.",
        "patch": diff(repo, {"src/mini/__init__.py": FIXED_SRC}),
        "test_patch": diff(repo, {"tests/test_mini.py": HIDDEN_TEST}),
        "FAIL_TO_PASS": json.dumps(["tests/test_mini.py::test_double"]),
        "PASS_TO_PASS": json.dumps(["tests/test_mini.py::test_half"]),
        # Fields real SWE-bench datasets carry, some typed as pandas writes them.
        "version": 1.2,
        "environment_setup_commit": base,
        "hints_text": "",
        "created_at": "2024-01-28T04:08:47Z",
    }
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text(json.dumps(instance) + "\n")
    agents = {
        # Fixes the bug and edits the very test file the hidden test_patch touches.
        "agent-good": {"src/mini/__init__.py": FIXED_SRC, "tests/test_mini.py": AGENT_TEST},
        "agent-source-only": {"src/mini/__init__.py": FIXED_SRC},
        "agent-tests-only": {"tests/test_mini.py": AGENT_TEST},
    }
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        "".join(
            json.dumps({"instance_id": "mini-double", "model_name_or_path": name, "model_patch": diff(repo, files)})
            + "\n"
            for name, files in agents.items()
        )
    )
    return tmp_path


def shipyard(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
@pytest.mark.workers  # `shipyard eval` counts as a worker command; --score-predictions starts none
def test_score_predictions_judges_each_agent_in_the_gates_environment(task: Path):
    out = shipyard(
        "eval",
        str(task / "tasks.jsonl"),
        "--score-predictions",
        str(task / "preds.jsonl"),
        "--sandbox",
        "local",
        "--data-dir",
        str(task / "eval"),
        "--json",
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    reports = {r["configuration"]: r for r in json.loads(out.stdout)}
    got = {
        name: (r["results"][0]["state"], r["results"][0]["pr_opened"], r["results"][0]["resolved"])
        for name, r in reports.items()
    }
    assert got == {
        # The agent's own edit to tests/test_mini.py is reset before the hidden patch applies.
        "agent-good (predictions)": ("gate_passed", True, True),
        # Fixes the bug, so the hidden tests pass (run after setup, with setup's interpreter);
        # the gate blocks it for want of a test.
        "agent-source-only (predictions)": ("blocked", False, True),
        "agent-tests-only (predictions)": ("blocked", False, False),
    }, json.dumps(reports, indent=1)[:4000]
    good, source_only = reports["agent-good (predictions)"], reports["agent-source-only (predictions)"]
    assert (good["gate_precision"], good["gate_recall"]) == (1.0, 1.0)
    assert (source_only["gate_precision"], source_only["gate_recall"]) == (None, 0.0)
    assert "tests" in source_only["results"][0]["reason"]
    log = Path(good["results"][0]["log"]).read_text()
    assert "reset tests/test_mini.py to the base commit" in log and ".shipyard/py -m pytest" in log


@pytest.mark.workers  # `shipyard eval` counts as a worker command; a bad input stops before any
def test_a_missing_repo_path_is_one_line_naming_file_line_and_field(tmp_path: Path):
    jsonl = tmp_path / "tasks.jsonl"
    row = {
        "instance_id": "a",
        "repo": "nowhere",
        "base_commit": "HEAD",
        "problem_statement": "x",
        "test_patch": "",
        "FAIL_TO_PASS": ["t::a"],
    }
    jsonl.write_text("\n" + json.dumps(row) + "\n")
    out = shipyard("eval", str(jsonl), "--data-dir", str(tmp_path / "d"), "--cassettes", str(tmp_path))
    assert out.returncode == 2
    text = " ".join(out.stdout.split())
    assert f"{jsonl}:2: repo: nowhere: no such directory" in text
    assert "Traceback" not in out.stdout + out.stderr and len(out.stdout.strip().splitlines()) <= 2


def test_real_swebench_fields_are_accepted_and_owner_name_repos_resolve(task: Path, tmp_path: Path):
    (instance,) = load_instances(task / "tasks.jsonl")
    assert (instance.version, instance.created_at, instance.hints_text) == ("1.2", "2024-01-28T04:08:47Z", "")
    assert "x * 2" in instance.patch and instance.environment_setup_commit == instance.base_commit
    # SWE-bench names repositories owner/name: a directory of that name beside the file, else GitHub.
    row = json.loads((task / "tasks.jsonl").read_text())
    (tmp_path / "swe.jsonl").write_text(json.dumps({**row, "repo": "astropy/astropy"}) + "\n")
    from orchestrator.eval.instances import repo_source

    (remote,) = load_instances(tmp_path / "swe.jsonl")
    assert repo_source(remote, tmp_path / "swe.jsonl") == "https://github.com/astropy/astropy.git"


def test_bad_predictions_are_named_by_line_and_key(tmp_path: Path):
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"instance_id": "a", "model_name_or_path": "m", "model_patch": null}\n{"instance_id": "b"}\n')
    with pytest.raises(EvalError, match=r"p.jsonl:2: model_name_or_path: missing"):
        load_predictions(preds)
    preds.write_text('{"instance_id": "a", "model_name_or_path": "m", "model_patch": null}\n')
    (pred,) = load_predictions(preds)
    assert pred.model_patch == ""


def test_report_cells_cannot_break_their_row():
    class R:
        instance_id = "a|b"
        job_id = 1
        state = "blocked"
        reason = ""
        pr_opened = False
        resolved = False
        failing_tests = ["(setup command `pip install x | tee` exited 1:\nline two\nline | three)"]
        cost_usd = 0.0
        input_tokens = 10
        output_tokens = 2
        wall_s = 1.0
        stop_reasons = ["stuck"]
        log = "/tmp/a.log"

    from dataclasses import make_dataclass

    row = make_dataclass("Row", [(k, object) for k in vars(R) if not k.startswith("_")])
    result = row(**{k: v for k, v in vars(R).items() if not k.startswith("_")})
    markdown = to_markdown([summarize("multi\nline | name", [result])])
    table = [line for line in markdown.splitlines() if line.startswith("| a\\|b ")]
    assert len(table) == 1, markdown
    cells = re.split(r"(?<!\\)\|", table[0])[1:-1]
    assert len(cells) == 9, table[0]
    assert "line two<br>line \\| three" in table[0] and "a\\|b" in table[0]
    assert "| figure | multi<br>line \\| name |" in markdown
    assert markdown.count("\n## multi line | name\n") == 1
