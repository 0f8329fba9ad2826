"""Server-rendered pages: jobs, job detail with the human-gate forms, review inbox, outcomes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from orchestrator.jobs import GATE_OF_STATE, JobError
from orchestrator.outcomes import outcome_metrics
from orchestrator.store.models import JobState
from orchestrator.views import job_detail, list_jobs, review_inbox
from orchestrator.web.diff_view import diff_files
from orchestrator.web.gate_view import gate_view
from orchestrator.web.paging import checked_page
from orchestrator.web.queue_overview import queue_overview
from orchestrator.web.svg_chart import bar_chart
from orchestrator.web.read_models import (
    STATES,
    BadParameter,
    checked_decision,
    checked_extra_usd,
    checked_state,
    latest_plan,
    since_days,
)
from orchestrator.web.signing import FLASH_COOKIE

router = APIRouter()

DECISION_DONE = {"approve": "Approved", "reject": "Rejected", "request_changes": "Changes requested"}
GATE_TITLE = {"plan": "plan", "budget": "budget extension", "provider": "provider outage", "pr": "pull request"}


def render(request: Request, name: str, context: dict, status_code: int = 200) -> Response:
    """A page with the shared context (flash message, CSP nonce, nav); consumes the flash cookie."""
    signer = request.app.state.signer
    flash = signer.read_flash(request.cookies.get(FLASH_COOKIE))
    nonce = getattr(request.state, "nonce", "")
    context = {"flash": flash, "nonce": nonce, "states": STATES, **context}
    response = request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)


def redirect_with_flash(request: Request, url: str, kind: str, text: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(FLASH_COOKIE, request.app.state.signer.flash_value(kind, text), httponly=True, samesite="strict", path="/")
    return response


def _jobs_context(request: Request, state, repo, cursor, limit) -> dict:
    """Rows of one page of jobs plus the links to the next one; raises BadParameter."""
    page = checked_page(checked_state(state), repo, cursor, limit)
    store = request.app.state.ship.store
    rows = list_jobs(store, page.state, page.limit + 1, cursor=page.cursor, repo=page.repo)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return {
        "jobs": rows,
        "state": page.state,
        "repo": page.repo,
        "page": page,
        "next_url": page.link(cursor=rows[-1]["id"]) if more else None,
        "first_url": page.link(cursor=None) if page.cursor else None,
    }


@router.get("/", response_class=HTMLResponse)
def jobs_page(request: Request, state: str | None = None, repo: str | None = None, cursor: str | None = None, limit: str | None = None) -> Response:
    try:
        context = _jobs_context(request, state, repo, cursor, limit)
    except BadParameter as exc:
        return error_page(request, 400, str(exc))
    overview = queue_overview(request.app.state.ship.store)
    chart = bar_chart(overview["hourly"], overview["hour_labels"], title="Jobs finished per hour, last 24 hours")
    return render(request, "jobs.html", {**context, "overview": overview, "throughput_chart": chart})


@router.get("/partials/jobs", response_class=HTMLResponse)
def jobs_rows(request: Request, state: str | None = None, repo: str | None = None, cursor: str | None = None, limit: str | None = None) -> Response:
    """The jobs table body, polled by the jobs page to refresh itself."""
    try:
        context = _jobs_context(request, state, repo, cursor, limit)
    except BadParameter as exc:
        return HTMLResponse(str(exc), status_code=400)
    return request.app.state.templates.TemplateResponse(request, "_job_rows.html", context)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int) -> Response:
    ship = request.app.state.ship
    detail = job_detail(ship.store, ship.settings.jobs_dir, job_id)
    if detail is None:
        return error_page(request, 404, f"job {job_id} does not exist")
    state = JobState(detail["state"])
    context = {
        "job": detail,
        "job_state": state,
        "gate_name": GATE_OF_STATE.get(state),
        "gate_title": GATE_TITLE.get(GATE_OF_STATE.get(state, ""), ""),
        "plan": latest_plan(detail),
        "gates": [gate_view(a["gate"]) for a in detail["attempt_list"]],
        "diff_files": diff_files(detail["diff"], _last_gate(detail)),
        "csrf": request.app.state.signer.csrf_token(job_id),
        "polls": state in (JobState.QUEUED, JobState.RUNNING),
    }
    return render(request, "job.html", context)


def _last_gate(detail: dict) -> dict | None:
    return next((a["gate"] for a in reversed(detail["attempt_list"]) if a["gate"]), None)


async def _form(request: Request, job_id: int) -> dict | None:
    """The posted form when its CSRF token is this job's; else None."""
    form = await request.form()
    if not request.app.state.signer.csrf_ok(job_id, form.get("csrf")):
        return None
    return {k: v for k, v in form.items() if isinstance(v, str)}


CSRF_REFUSED = "this form is stale or did not come from this site (the server may have restarted): reload the page and try again"


@router.post("/jobs/{job_id}/decision")
async def decide(request: Request, job_id: int) -> Response:
    form = await _form(request, job_id)
    if form is None:
        return error_page(request, 403, CSRF_REFUSED)
    back = f"/jobs/{job_id}"
    try:
        decision = checked_decision(form.get("decision"))
        extra = checked_extra_usd(form.get("extra_usd"))
        ship = request.app.state.ship
        gate = await run_in_threadpool(ship.decide, job_id, decision, comment=form.get("comment", ""), extra_usd=extra, reviewer="web")
    except JobError as exc:
        return redirect_with_flash(request, back, "error", f"Decision not recorded: {exc}")
    text = f"{DECISION_DONE[decision]}: decision on the {GATE_TITLE.get(gate, gate)} recorded; the job resumes shortly."
    return redirect_with_flash(request, back, "ok", text)


@router.post("/jobs/{job_id}/cancel")
async def cancel(request: Request, job_id: int) -> Response:
    if await _form(request, job_id) is None:
        return error_page(request, 403, CSRF_REFUSED)
    try:
        await run_in_threadpool(request.app.state.ship.cancel, job_id)
    except JobError as exc:
        return redirect_with_flash(request, f"/jobs/{job_id}", "error", f"Not cancelled: {exc}")
    return redirect_with_flash(request, f"/jobs/{job_id}", "ok", f"Job {job_id} cancelled.")


@router.post("/jobs/{job_id}/retry")
async def retry(request: Request, job_id: int) -> Response:
    if await _form(request, job_id) is None:
        return error_page(request, 403, CSRF_REFUSED)
    try:
        new_id = await run_in_threadpool(request.app.state.ship.retry, job_id)
    except JobError as exc:
        return redirect_with_flash(request, f"/jobs/{job_id}", "error", f"Not retried: {exc}")
    return redirect_with_flash(request, f"/jobs/{new_id}", "ok", f"Job {new_id} queued to retry job {job_id}.")


@router.get("/reviews", response_class=HTMLResponse)
def reviews_page(request: Request) -> Response:
    jobs = review_inbox(request.app.state.ship.store)
    return render(request, "reviews.html", {"jobs": jobs, "gate_title": {s.value: GATE_TITLE[g] for s, g in GATE_OF_STATE.items()}})


@router.get("/outcomes", response_class=HTMLResponse)
def outcomes_page(request: Request, days: str | None = None) -> Response:
    try:
        since = since_days(days)
    except BadParameter as exc:
        return error_page(request, 400, str(exc))
    metrics = outcome_metrics(request.app.state.ship.store, since)
    return render(request, "outcomes.html", {"m": metrics, "days": days or ""})
