"""JSON API: jobs, job detail, outcomes, review inbox, decisions, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from sqlalchemy import text

from orchestrator.jobs import JobError
from orchestrator.outcomes import outcome_metrics
from orchestrator.views import job_detail, list_jobs, review_inbox
from orchestrator.web.read_models import (
    BadParameter,
    checked_decision,
    checked_extra_usd,
    checked_state,
    job_status,
    since_days,
)

router = APIRouter(prefix="")


def error(status_code: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status_code)


@router.get("/api/jobs")
def api_jobs(request: Request, state: str | None = None, limit: int = 100, cursor: int | None = None) -> Any:
    """Jobs newest first, ``limit`` per page; ``X-Next-Cursor`` (when present) is the next page's ``?cursor=``."""
    try:
        rows = list_jobs(request.app.state.ship.store, checked_state(state), limit=limit, before=cursor)
    except BadParameter as exc:
        return error(400, str(exc))
    except ValueError as exc:
        return error(400, str(exc))
    headers = {"X-Next-Cursor": str(rows[-1]["id"])} if len(rows) == limit else {}
    return JSONResponse(rows, headers=headers)


@router.get("/api/jobs/{job_id}")
def api_job(request: Request, job_id: int) -> Any:
    ship = request.app.state.ship
    detail = job_detail(ship.store, ship.settings.jobs_dir, job_id)
    return detail if detail is not None else error(404, f"job {job_id} does not exist")


@router.get("/api/jobs/{job_id}/status")
def api_job_status(request: Request, job_id: int) -> Any:
    status = job_status(request.app.state.ship.store, job_id)
    return status if status is not None else error(404, f"job {job_id} does not exist")


@router.get("/api/reviews")
def api_reviews(request: Request) -> Any:
    return review_inbox(request.app.state.ship.store)


@router.get("/api/outcomes")
def api_outcomes(request: Request, days: str | None = None) -> Any:
    try:
        since = since_days(days)
    except BadParameter as exc:
        return error(400, str(exc))
    return outcome_metrics(request.app.state.ship.store, since).model_dump(mode="json")


async def _json_body(request: Request) -> dict:
    # Requiring a JSON content type keeps cross-site forms out: a browser sends one only after a CORS preflight we never grant.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise JobError("send the decision as JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError as exc:
        raise JobError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise JobError("request body must be a JSON object {decision, comment, extra_usd}")
    return body


@router.post("/api/jobs/{job_id}/decision")
async def api_decide(request: Request, job_id: int) -> Any:
    """Body ``{"decision": "approve"|"reject"|"request_changes", "comment": "", "extra_usd": 0}``;
    409 with ``{"error": reason}`` when the job cannot take it."""
    try:
        body = await _json_body(request)
    except JobError as exc:
        return error(400, str(exc))
    ship = request.app.state.ship
    if await run_in_threadpool(job_status, ship.store, job_id) is None:
        return error(404, f"job {job_id} does not exist")
    try:
        decision = checked_decision(body.get("decision"))
        extra = checked_extra_usd(body.get("extra_usd"))
        comment = body.get("comment") or ""
        if not isinstance(comment, str):
            raise JobError("comment: must be a string")
        reviewer = str(body.get("reviewer") or "api")[:200]
        gate = await run_in_threadpool(ship.decide, job_id, decision, comment=comment, extra_usd=extra, reviewer=reviewer)
    except JobError as exc:
        return error(409, str(exc))
    return {"job_id": job_id, "gate": gate, "decision": decision, "status": "recorded; the job resumes shortly"}


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
    except Exception as exc:  # any database failure makes the app unhealthy; say which
        return JSONResponse({"status": "unhealthy", "database": f"{type(exc).__name__}: {exc}"}, status_code=503)
    alive = sum(1 for w in ship.workers() if w["status"] == "alive")
    return {"status": "ok", "database": "ok", "live_workers": alive}
