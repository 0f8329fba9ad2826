"""The ``shipyard eval`` edge: run each configuration, print or save the report."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.eval.instances import EvalError
from orchestrator.eval.predictions import Prediction, write_predictions
from orchestrator.eval.run import EvalSetup, run_eval
from orchestrator.eval.score import score_predictions as score_file
from orchestrator.eval.scorecard import to_markdown


def _fresh(run_dir: Path) -> Path:
    if run_dir.exists() and any(run_dir.iterdir()):
        raise EvalError(f"{run_dir}: not empty; give a fresh --data-dir so results are not mixed")
    return run_dir


def eval_reports(
    setup: EvalSetup,
    *,
    data_dir: Path,
    models: list[Path],
    compare_with: list[Path],
    run: bool = True,
    predictions_out: Path | None = None,
    score_predictions: Path | None = None,
    label: str = "",
) -> list[dict]:
    """One report per model configuration (``models`` files; none → cassettes or the default
    catalogue), or with ``score_predictions`` one per agent in that predictions file, followed by
    earlier JSON reports given to compare with. ``predictions_out``: every configuration's
    changes, in SWE-bench's predictions JSONL."""
    reports = []
    if score_predictions is not None:
        run_dir = _fresh(data_dir / "scored")
        reports += score_file(
            setup.instances, score_predictions, data_dir=run_dir, sandbox_backend=setup.sandbox_backend
        )
        run = False
    if predictions_out is not None and not predictions_out.parent.is_dir():
        raise EvalError(f"{predictions_out}: --predictions-out: no such directory {predictions_out.parent}")
    predictions: list[Prediction] = []
    for n, models_file in enumerate((models or [None]) if run else []):  # type: ignore[list-item]
        run_dir = _fresh(data_dir / (f"config-{n + 1}" if models else "run"))
        name = f"{label} ({n + 1})" if label and len(models) > 1 else label
        reports.append(run_eval(setup, data_dir=run_dir, models_file=models_file, predictions=predictions, label=name))
    if predictions_out is not None and predictions:
        write_predictions(predictions_out, predictions)
    for path in compare_with:
        try:
            earlier = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise EvalError(f"{path}: not a saved eval report: {exc}") from None
        reports += earlier if isinstance(earlier, list) else [earlier]
    return reports


def render(reports: list[dict], *, as_json: bool, markdown_out: Path | None) -> str:
    if markdown_out is not None:
        markdown_out.write_text(to_markdown(reports))
    return json.dumps(reports, indent=2) if as_json else to_markdown(reports)
