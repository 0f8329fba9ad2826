"""SWE-bench predictions: written from Shipyard's results, and read from any agent to score.

A prediction is one JSON object per line with SWE-bench's three keys: ``instance_id``,
``model_name_or_path`` and ``model_patch`` (a unified diff against ``base_commit``; empty when
the agent made no change). SWE-bench's harness scores such a file; ``shipyard eval
--score-predictions`` puts the same patches through Shipyard's gate and the hidden tests
(``orchestrator.eval.score``).

The format is checked against what SWE-bench's harness reads (``swebench.harness.utils.
get_predictions_from_file`` and ``run_evaluation``): a ``.jsonl`` file of objects, or a ``.json``
list or mapping; every object has ``instance_id``; ``model_name_or_path`` names the run's log
directory; ``model_patch`` may be empty or null (no change)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestrator.eval.instances import EvalError

PREDICTION_KEYS = ("instance_id", "model_name_or_path", "model_patch")


@dataclass(frozen=True)
class Prediction:
    instance_id: str
    model_name_or_path: str
    model_patch: str


def write_predictions(path: Path, predictions: list[Prediction]) -> None:
    lines = [json.dumps({k: getattr(p, k) for k in PREDICTION_KEYS}) for p in predictions]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def load_predictions(path: Path) -> list[Prediction]:
    """Read a predictions file (JSONL, or a JSON list or ``{instance_id: prediction}`` as SWE-bench
    also accepts); errors name the file, the line or entry, and the key."""
    if not path.is_file():
        raise EvalError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    entries: list[tuple[str, object]] = []
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}: not JSON: {exc.msg} (line {exc.lineno})") from None
        items = list(data.values()) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise EvalError(f"{path}: must be a list of predictions or a mapping of instance_id to prediction")
        entries = [(f"entry {n}", item) for n, item in enumerate(items, start=1)]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    entries.append((f"{number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise EvalError(f"{path}:{number}: not JSON: {exc.msg}") from None
    out = []
    for where, raw in entries:
        if not isinstance(raw, dict):
            raise EvalError(f"{path}:{where}: a prediction must be a JSON object")
        for key in PREDICTION_KEYS:
            value = raw.get(key)
            if key == "model_patch" and value is None:
                value = raw[key] = ""
            if not isinstance(value, str) or (key != "model_patch" and not value.strip()):
                raise EvalError(
                    f"{path}:{where}: {key}: {'missing' if key not in raw else 'must be a non-empty string'}"
                )
        out.append(Prediction(raw["instance_id"], raw["model_name_or_path"], raw["model_patch"]))
    if not out:
        raise EvalError(f"{path}: no predictions")
    return out
