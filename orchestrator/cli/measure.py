"""Commands that measure: outcomes, the sprint report, `eval`, and which catalogue models answer."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from orchestrator.cli.common import JSON_HELP, _ship, console


def outcomes(
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    days: int | None = typer.Option(None, min=1, max=36_500, help="Only the last N days (1 to 36500)"),
) -> None:
    """Outcomes, not tokens: cost per merged PR, backlog automated, coverage of generated code."""
    from datetime import datetime, timedelta

    from orchestrator.reporting.outcomes import outcome_metrics

    since = datetime.now(UTC) - timedelta(days=days) if days else None
    metrics = outcome_metrics(_ship().store, since=since)
    if as_json:
        typer.echo(metrics.model_dump_json(indent=2))
        return
    table = Table("", "model work", "scripted replays (not model work)")
    for label, key, fmt in [
        ("cost per merged PR", "cost_per_merged_pr_usd", "${:.4f}"),
        ("merged / closed / blocked / failed", None, None),
        ("spend", "spend_usd", "${:.4f}"),
        ("backlog automated", "backlog_automated_share", "{:.0%}"),
        ("diff coverage of merged code (mean)", "diff_coverage_mean", "{:.1f}%"),
        ("low-complexity tickets with no human touch", "low_complexity_untouched_share", "{:.0%}"),
    ]:
        cells = []
        for figures in (metrics.real, metrics.scripted):
            if key is None:
                cells.append(f"{figures.merged} / {figures.closed} / {figures.blocked} / {figures.failed}")
            else:
                value = getattr(figures, key)
                cells.append("-" if value is None else fmt.format(value))
        table.add_row(label, *cells)
    console.print(table)


def _day(value: str | None, option: str):
    from datetime import datetime

    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-30", param_hint=option) from None


def report(
    sprint: bool = typer.Option(False, "--sprint", help="The last --days days (default 14) against the ones before"),
    days: int = typer.Option(14, min=1, max=366, help="Length of the period with --sprint"),
    from_: str | None = typer.Option(None, "--from", help="First day of the period (YYYY-MM-DD, UTC)"),
    to: str | None = typer.Option(None, "--to", help="Day after the period's last (YYYY-MM-DD, UTC; default: now)"),
    fmt: str = typer.Option("markdown", "--format", help="markdown, html or json"),
    out: Path | None = typer.Option(None, "--out", help="Write the report to this file instead of printing it"),
) -> None:
    """Outcomes of a period against the period before: cost per merged PR, automation, spend by role, gate blockers."""
    from datetime import datetime, timedelta

    from orchestrator.reporting.sprint_report import sprint_report, to_html, to_markdown

    if fmt not in ("markdown", "html", "json"):
        raise typer.BadParameter(f"{fmt!r}: choose markdown, html or json", param_hint="--format")
    if not sprint and from_ is None:
        raise typer.BadParameter(
            "say which period: --sprint (the last --days days) or --from DATE [--to DATE]", param_hint="--from"
        )
    end = _day(to, "--to") or datetime.now(UTC)
    start = _day(from_, "--from") or end - timedelta(days=days)
    try:
        figures = sprint_report(_ship().store, start, end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None
    text = {"markdown": to_markdown, "html": to_html}.get(fmt, lambda r: r.model_dump_json(indent=2) + "\n")(figures)
    if out is None:
        typer.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"{out}: cannot write: {exc.strerror or exc}", param_hint="--out") from None
        console.print(f"report written to {out}")


def eval_(
    instances: Path = typer.Argument(..., help="Tasks in SWE-bench's JSONL schema"),
    cassettes: Path | None = typer.Option(
        None, help="Directory of <instance_id>.yml cassettes standing in for the model"
    ),
    models: list[Path] = typer.Option(
        [], "--models", help="Model catalogue file of one configuration (repeat to compare)"
    ),
    compare_with: list[Path] = typer.Option([], "--compare-with", help="An earlier --json report to show side by side"),
    data_dir: Path = typer.Option(Path(".shipyard-eval"), help="Fresh directory for this run's store, queue and jobs"),
    sandbox: str = typer.Option("auto", help="auto | docker | local"),
    report: Path | None = typer.Option(None, help="Also write the Markdown report here"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    timeout_s: float = typer.Option(1800.0, help="Longest wait for one configuration's jobs"),
    run: bool = typer.Option(True, "--run/--no-run", help="--no-run: only show the --compare-with reports"),
    predictions_out: Path | None = typer.Option(
        None, "--predictions-out", help="Also write each task's change as SWE-bench predictions JSONL"
    ),
    score_predictions: Path | None = typer.Option(
        None,
        "--score-predictions",
        help="Score another agent's SWE-bench predictions (JSONL) with Shipyard's gate and the hidden tests",
    ),
    label: str = typer.Option("", help="Name of this configuration in the report (default: the models file's name)"),
) -> None:
    """Measure resolved rate, gate precision/recall and cost per resolved task on a task set."""
    from orchestrator.eval.command import eval_reports, render
    from orchestrator.eval.instances import EvalError
    from orchestrator.eval.run import EvalSetup

    setup = EvalSetup(instances, cassettes=cassettes, sandbox_backend=sandbox, timeout_s=timeout_s)
    try:
        reports = eval_reports(
            setup,
            data_dir=data_dir,
            models=models,
            compare_with=compare_with,
            run=run,
            predictions_out=predictions_out,
            score_predictions=score_predictions,
            label=label,
        )
    except EvalError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)  # one line, however long
        raise typer.Exit(2) from None
    typer.echo(render(reports, as_json=as_json, markdown_out=report))


def models_check() -> None:
    """Call each catalogue model once and report which answer (provider, model, URL)."""
    import os

    from agents.credentials import load_secrets
    from agents.health import check_models
    from orchestrator.worker.model_setup import load_catalogue

    settings = _ship().settings
    checks = check_models(load_catalogue(settings.models_file), load_secrets(os.environ, settings.secrets_file))
    table = Table("model", "provider", "model id", "URL", "answers", "detail")
    for c in checks:
        table.add_row(c.name, c.provider, c.model_id, c.url, "yes" if c.ok else "[red]no[/red]", escape(c.detail))
    console.print(table)
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


def register(app: typer.Typer) -> None:
    app.command()(outcomes)
    app.command()(report)
    app.command("eval")(eval_)
    app.command("models-check")(models_check)
