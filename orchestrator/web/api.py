"""JSON API: jobs, job detail, outcomes, review inbox, decisions, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from orchestrator.domain.jobs import GATE_OF_STATE, InvalidDecision, JobError
from orchestrator.reporting.job_views import job_detail, list_jobs, review_inbox
from orchestrator.reporting.outcomes import outcome_metrics
from orchestrator.store.tables import JobState
from orchestrator.web import read_models
from orchestrator.web.auth import gate_action, require

router = APIRouter(prefix="")


def error(status_code: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status_code)


@router.get("/api/jobs")
def api_jobs(request: Request) -> Any:
    """Jobs newest first (``sort=oldest``: oldest first), ``limit`` per page (default 100, at most 1000), filtered
    by ``state``, ``repo``, ``label``, ``model``, ``q`` (title words), ``since``/``until`` (YYYY-MM-DD);
    ``X-Next-Cursor`` (when present) is the next page's ``?cursor=``."""
    from orchestrator.reporting.job_views import MAX_PAGE
    from orchestrator.web.paging import checked_page

    try:
        page = checked_page(dict(request.query_params), default_limit=100, max_limit=MAX_PAGE)
        rows = list_jobs(
            request.app.state.ship.store, limit=page.limit, cursor=page.cursor, where=page.where, oldest=page.oldest
        )
    except read_models.BadParameter as exc:
        return error(400, str(exc))
    headers = {"X-Next-Cursor": str(rows[-1]["id"])} if len(rows) == page.limit else {}
    return JSONResponse(rows, headers=headers)


@router.get("/api/jobs/{job_id}")
def api_job(request: Request, job_id: int) -> Any:
    ship = request.app.state.ship
    detail = job_detail(ship.store, ship.settings.job_dirs, job_id)
    if detail is None:
        return error(404, f"job {job_id} does not exist")
    return {**detail, "decisions": read_models.decision_log(ship.store, job_id)}


@router.get("/api/jobs/{job_id}/status")
def api_job_status(request: Request, job_id: int) -> Any:
    status = read_models.job_status(request.app.state.ship.store, job_id)
    return status if status is not None else error(404, f"job {job_id} does not exist")


@router.get("/api/reviews")
def api_reviews(request: Request) -> Any:
    return review_inbox(request.app.state.ship.store)


@router.get("/api/outcomes")
def api_outcomes(request: Request, days: str | None = None) -> Any:
    try:
        since = read_models.since_days(days)
    except read_models.BadParameter as exc:
        return error(400, str(exc))
    return outcome_metrics(request.app.state.ship.store, since).model_dump(mode="json")


def _bounded(name: str, value: str | None, *, default: int, top: int) -> int:
    try:
        n = int(value or default)
    except ValueError:
        raise read_models.BadParameter(f"{name}: must be a whole number, got {value!r}") from None
    if not 1 <= n <= top:
        raise read_models.BadParameter(f"{name}: must be between 1 and {top}, got {n}")
    return n


@router.get("/api/outcomes/weekly")
def api_outcomes_weekly(request: Request, weeks: str | None = None, format: str = "json") -> Any:
    """Finished jobs per ISO week (real-model work): outcomes, spend, cost per merged PR; ``format=csv`` too."""
    from orchestrator.reporting.trends import as_csv, weekly

    try:
        weeks_ = weekly(request.app.state.ship.store, _bounded("weeks", weeks, default=12, top=104))
        rows = [{"week": str(r.week), **r.model_dump(mode="json")} for r in weeks_]  # the week first, in CSV too
    except read_models.BadParameter as exc:
        return error(400, str(exc))
    if format == "csv":
        return Response(
            as_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="outcomes-weekly.csv"'},
        )
    if format != "json":
        return error(400, f"format: csv or json, got {format!r}")
    return rows


@router.get("/api/outcomes/report")
def api_outcomes_report(request: Request, days: str | None = None, format: str = "json") -> Any:
    """The sprint report (the last ``days`` days, default 14, against the ones before) as JSON, Markdown or HTML."""
    from orchestrator.reporting.sprint_report import last_days, sprint_report, to_html, to_markdown

    try:
        n = _bounded("days", days, default=14, top=366)
    except read_models.BadParameter as exc:
        return error(400, str(exc))
    start, end = last_days(n)
    report = sprint_report(request.app.state.ship.store, start, end)
    if format == "markdown":
        return Response(to_markdown(report), media_type="text/markdown; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="shipyard-report.md"'})  # fmt: skip
    if format == "html":
        return Response(to_html(report), media_type="text/html; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="shipyard-report.html"'})  # fmt: skip
    if format != "json":
        return error(400, f"format: json, markdown or html, got {format!r}")
    return report.model_dump(mode="json")


async def _json_body(request: Request) -> dict:
    # Requiring a JSON content type keeps cross-site forms out: a browser sends one only after a CORS preflight we
    # never grant.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise JobError("send the decision as JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError as exc:
        raise JobError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise JobError("request body must be a JSON object {decision, comment, extra_usd}")
    return body


DECISION_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["decision"],
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject", "request_changes"]},
            "comment": {"type": "string"},
            "extra_usd": {"type": "number", "minimum": 0},
            "line_comments": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string"}, "line": {"type": "integer"}, "body": {"type": "string"}}}},
        },
    }}},
}  # fmt: skip


@router.post("/api/jobs/{job_id}/decision", openapi_extra={"requestBody": DECISION_BODY})
async def api_decide(request: Request, job_id: int) -> Any:
    """Body ``{"decision": "approve"|"reject"|"request_changes", "comment": "", "extra_usd": 0}``;
    422 with ``{"error": reason}`` naming the field when the decision is malformed, 409 when the job cannot
    take it in its state."""
    try:
        body = await _json_body(request)
    except JobError as exc:
        return error(400, str(exc))
    ship = request.app.state.ship
    status = await run_in_threadpool(read_models.job_status, ship.store, job_id)
    if status is None:
        return error(404, f"job {job_id} does not exist")
    who = require(request, gate_action(GATE_OF_STATE.get(JobState(status["state"]))))
    try:
        decision = read_models.checked_decision(body.get("decision"))
        extra = read_models.checked_extra_usd(body.get("extra_usd"))
        comment = body.get("comment") or ""
        if not isinstance(comment, str):
            raise InvalidDecision("comment: must be a string")
        # The decision is signed by the caller's login, never by a name the body claims.
        gate = await run_in_threadpool(
            ship.decide,
            job_id,
            decision,
            comment=comment,
            extra_usd=extra,
            reviewer=who.signature,
            line_comments=body.get("line_comments"),
        )
    except InvalidDecision as exc:  # the request itself is wrong, whatever the job's state
        return error(422, str(exc))
    except JobError as exc:  # the job cannot take it now
        return error(409, str(exc))
    return {
        "job_id": job_id,
        "gate": gate,
        "decision": decision,
        "by": who.signature,
        "status": "recorded; " + (await run_in_threadpool(read_models.resumes_when, ship)).rstrip("."),
    }


@router.get("/api/workers")
def workers(request: Request) -> Any:
    return {"workers": request.app.state.ship.workers()}


@router.get("/healthz")
def healthz(request: Request) -> Any:
    """The web app's health (its database); the workers' count is reported, not judged: a
    deployment may run its workers elsewhere or start them later."""
    ship = request.app.state.ship
    try:
        with ship.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure makes the app unhealthy; say which
        return JSONResponse({"status": "unhealthy", "database": f"{type(exc).__name__}: {exc}"}, status_code=503)
    alive = sum(1 for w in ship.workers() if w["status"] == "alive")
    return {"status": "ok", "database": "ok", "live_workers": alive}
