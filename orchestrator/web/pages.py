"""Server-rendered pages: jobs, job detail with the human-gate forms, review inbox, outcomes."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from orchestrator.domain.jobs import GATE_OF_STATE, JobError
from orchestrator.reporting.charts import bar_chart
from orchestrator.reporting.gate_view import gate_view
from orchestrator.reporting.job_views import commits_diff, job_detail, latest_plan, list_jobs, review_inbox
from orchestrator.reporting.outcomes import outcome_metrics
from orchestrator.store.tables import JobState
from orchestrator.web.auth import gate_action, require
from orchestrator.web.diff_view import checked_view, diff_files
from orchestrator.web.paging import FILTERS, checked_page
from orchestrator.web.queue_overview import queue_overview
from orchestrator.web.read_models import (
    STATES,
    BadParameter,
    checked_decision,
    checked_extra_usd,
    decision_log,
    job_status,
    resumes_when,
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
    who = getattr(request.state, "principal", None)
    context = {"flash": flash, "nonce": nonce, "states": STATES, "principal": who, **context}
    response = request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)


def redirect_with_flash(request: Request, url: str, kind: str, text: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLASH_COOKIE, request.app.state.signer.flash_value(kind, text), httponly=True, samesite="strict", path="/"
    )
    return response


def _jobs_context(request: Request, query: dict | None = None) -> dict:
    """Rows of one page of jobs plus the links to the next one; raises BadParameter."""
    page = checked_page(dict(request.query_params) if query is None else query)
    store = request.app.state.ship.store
    rows = list_jobs(store, limit=page.limit + 1, cursor=page.cursor, where=page.where, oldest=page.oldest)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return {
        "jobs": rows,
        "state": page.state,
        "repo": page.repo,
        "filters": page.params,
        "csrf_bulk": request.app.state.signer.csrf_token(0),
        "page": page,
        "next_url": page.link(cursor=rows[-1]["id"]) if more else None,
        "first_url": page.link(cursor=None) if page.cursor else None,
    }


@router.get("/", response_class=HTMLResponse)
def jobs_page(request: Request) -> Response:
    status_code = 200
    try:
        context = _jobs_context(request)
    except BadParameter as exc:
        # The form comes back as it was typed, with the reason beside it; no rows until it is fixed.
        context = _jobs_context(request, query={})
        typed = {k: v for k, v in request.query_params.items() if k in FILTERS and isinstance(v, str) and v}
        context |= {"jobs": [], "filters": typed, "state": typed.get("state"), "repo": typed.get("repo"),
                    "filter_error": str(exc), "next_url": None, "first_url": None}  # fmt: skip
        status_code = 400
    overview = queue_overview(request.app.state.ship.store)
    chart = bar_chart(overview["hourly"], overview["hour_labels"], title="Jobs finished per hour, last 24 hours")
    workers = request.app.state.ship.workers()
    live = [w for w in workers if w["status"] == "alive"]
    return render(
        request,
        "jobs.html",
        {
            **context,
            "overview": overview,
            "throughput_chart": chart,
            "live_workers": len(live),
            "dead_workers": sum(w["status"] == "dead" for w in workers),
        },
        status_code,
    )


@router.get("/partials/jobs", response_class=HTMLResponse)
def jobs_rows(request: Request) -> Response:
    """The jobs table body, polled by the jobs page to refresh itself."""
    try:
        context = _jobs_context(request)
    except BadParameter as exc:
        return HTMLResponse(str(exc), status_code=400)
    context["principal"] = getattr(request.state, "principal", None)  # the tick boxes are for operators
    return request.app.state.templates.TemplateResponse(request, "_job_rows.html", context)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int, view: str | None = None) -> Response:
    ship = request.app.state.ship
    try:
        view = checked_view(view)
    except ValueError as exc:
        return error_page(request, 400, str(exc))
    detail = job_detail(ship.store, ship.settings.job_dirs, job_id)
    if detail is None:
        return error_page(request, 404, f"job {job_id} does not exist")
    detail["decisions"] = decision_log(ship.store, job_id)
    state = JobState(detail["state"])
    context = {
        "job": detail,
        "job_state": state,
        "gate_name": GATE_OF_STATE.get(state),
        "gate_title": GATE_TITLE.get(GATE_OF_STATE.get(state, ""), ""),
        "plan": latest_plan(detail),
        "gates": [gate_view(a["gate"]) for a in detail["attempt_list"]],
        "attempt_changes": _attempt_changes(ship.store, ship.settings.job_dirs, detail),
        "diff_files": diff_files(detail["diff"], _last_gate(detail)),
        "csrf": request.app.state.signer.csrf_token(job_id),
        "polls": not state.is_final,  # waiting for a decision too: the page follows the job when it moves on
        "can_comment": state == JobState.AWAITING_REVIEW
        and not detail.get("pending_decision")
        and request.state.principal.allows("decide"),
        "view": view,
        "diff_template": "_diff_split.html" if view == "split" else "_diff.html",
        "can_decide": request.state.principal.allows(gate_action(GATE_OF_STATE.get(state))),
        "holder": request.app.state.ship.holder_of(job_id) if state == JobState.RUNNING else None,
        "no_live_worker": state == JobState.RUNNING and request.app.state.ship.no_worker_hint() is not None,
        "pr_left_open": state in (JobState.BLOCKED, JobState.FAILED) and (detail["pr"] or {}).get("state") == "open",
        "can_operate": request.state.principal.allows("operate"),
    }
    return render(request, "job.html", context)


def _attempt_changes(store, job_dirs, detail: dict) -> list[dict | None]:
    """Per attempt: the diff from the previous attempt that left a commit, and why there was another attempt."""
    with store.session() as session:
        return _attempt_changes_in(session, job_dirs, detail)


def _attempt_changes_in(session, job_dirs, detail: dict) -> list[dict | None]:
    out: list[dict | None] = []
    previous = None
    for a in detail["attempt_list"]:
        change = None
        if previous and a.get("head_sha") and previous["head_sha"] != a["head_sha"]:
            text = commits_diff(job_dirs, detail["id"], previous["head_sha"], a["head_sha"], session=session)
            why = f"attempt {previous['number']} ended {previous['outcome'] or '?'}"
            reviews = [
                e["message"] for e in detail["events"] if e["kind"] == "review" and "changes requested" in e["message"]
            ]
            if previous["outcome"] == "gate_failed":
                why = f"the gate failed attempt {previous['number']}: {(previous['summary'] or '')[:300]}"
            elif reviews and previous["outcome"] == "gate_passed":
                why = reviews[-1]
            change = {"since": previous["number"], "files": diff_files(text, None), "why": why}
        out.append(change)
        if a.get("head_sha"):
            previous = a
    return out


def _last_gate(detail: dict) -> dict | None:
    return next((a["gate"] for a in reversed(detail["attempt_list"]) if a["gate"]), None)


async def _form(request: Request, job_id: int) -> dict | None:
    """The posted form when its CSRF token is this job's; else None. Repeated fields
    (``line_path``/``line_no``/``line_body``: comments on diff lines) become ``line_comments``."""
    form = await request.form()
    if not request.app.state.signer.csrf_ok(job_id, form.get("csrf")):
        return None
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    paths, numbers, bodies = (form.getlist(k) for k in ("line_path", "line_no", "line_body"))
    fields["line_comments"] = [
        {"path": p, "line": n, "body": b}
        for p, n, b in zip(paths, numbers, bodies, strict=False)
        if isinstance(b, str) and b.strip()
    ]
    return fields


CSRF_REFUSED = (
    "this form is stale or did not come from this site (the server may have restarted): reload the page and try again"
)


@router.post("/jobs/{job_id}/decision")
async def decide(request: Request, job_id: int) -> Response:
    form = await _form(request, job_id)
    if form is None:
        return error_page(request, 403, CSRF_REFUSED)
    back = f"/jobs/{job_id}"
    ship = request.app.state.ship
    status = await run_in_threadpool(job_status, ship.store, job_id)
    if status is None:
        return error_page(request, 404, f"job {job_id} does not exist")
    who = require(request, gate_action(GATE_OF_STATE.get(JobState(status["state"]))))
    try:
        decision = checked_decision(form.get("decision"))
        extra = checked_extra_usd(form.get("extra_usd"))
        gate = await run_in_threadpool(
            ship.decide,
            job_id,
            decision,
            comment=form.get("comment", ""),
            extra_usd=extra,
            reviewer=who.signature,
            line_comments=form["line_comments"],
        )
    except JobError as exc:
        return redirect_with_flash(request, back, "error", f"Decision not recorded: {exc}")
    if status["state"] in ("blocked", "failed"):  # its pull request, left open, is closed now
        return redirect_with_flash(request, back, "ok", f"Rejected: the pull request is closed and job {job_id} ended.")
    text = (
        f"{DECISION_DONE[decision]}: decision on the {GATE_TITLE.get(gate, gate)} recorded; "
        + await run_in_threadpool(resumes_when, ship)
    )
    return redirect_with_flash(request, back, "ok", text)


BULK_ACTIONS = {"cancel": "cancelled", "retry": "retried"}
MAX_BULK = 200


@router.post("/jobs/bulk")
async def bulk(request: Request) -> Response:
    """Cancel or retry the jobs ticked on the jobs page; each one's result is reported."""
    form = await request.form()
    back = str(form.get("back") or "/")
    back = back if back.startswith("/") and not back.startswith("//") else "/"
    if not request.app.state.signer.csrf_ok(0, form.get("csrf")):
        return error_page(request, 403, CSRF_REFUSED)
    require(request, "operate")
    action = form.get("action")
    if action not in BULK_ACTIONS:
        return redirect_with_flash(request, back, "error", f"Nothing done: unknown action {action!r} (cancel or retry)")
    ids = [int(v) for v in form.getlist("job") if isinstance(v, str) and v.isdigit()][:MAX_BULK]
    if not ids:
        return redirect_with_flash(request, back, "error", "Nothing done: tick at least one job")
    ship = request.app.state.ship
    done, refused = [], []
    for job_id in ids:
        try:
            await run_in_threadpool(ship.cancel if action == "cancel" else ship.retry, job_id)
            done.append(f"#{job_id}")
        except JobError as exc:
            refused.append(f"#{job_id} ({exc})")
    text = f"{len(done)} job(s) {BULK_ACTIONS[action]}" + (f": {', '.join(done)}" if done else "")
    if refused:
        text += f". Not {BULK_ACTIONS[action]}: " + "; ".join(refused)
    return redirect_with_flash(request, back, "error" if refused and not done else "ok", text)


@router.post("/jobs/{job_id}/cancel")
async def cancel(request: Request, job_id: int) -> Response:
    return await _operate(request, job_id, "cancel")


@router.post("/jobs/{job_id}/retry")
async def retry(request: Request, job_id: int) -> Response:
    return await _operate(request, job_id, "retry")


async def _operate(request: Request, job_id: int, action: str) -> Response:
    """Cancel or retry one job from its page (operators only); the flash says how it went."""
    if await _form(request, job_id) is None:
        return error_page(request, 403, CSRF_REFUSED)
    require(request, "operate")
    ship = request.app.state.ship
    try:
        new_id = await run_in_threadpool(ship.cancel if action == "cancel" else ship.retry, job_id)
    except JobError as exc:
        return redirect_with_flash(request, f"/jobs/{job_id}", "error", f"Not {BULK_ACTIONS[action]}: {exc}")
    if action == "cancel":
        return redirect_with_flash(request, f"/jobs/{job_id}", "ok", f"Job {job_id} cancelled.")
    return redirect_with_flash(request, f"/jobs/{new_id}", "ok", f"Job {new_id} queued to retry job {job_id}.")


@router.get("/reviews", response_class=HTMLResponse)
def reviews_page(request: Request) -> Response:
    jobs = review_inbox(request.app.state.ship.store)
    return render(
        request,
        "reviews.html",
        {"jobs": jobs, "gate_title": {s.value: GATE_TITLE[g] for s, g in GATE_OF_STATE.items()}},
    )


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request) -> Response:
    ship = request.app.state.ship
    interval, dead_after = ship.heartbeat_timing()
    workers = ship.workers()
    alive = sum(1 for w in workers if w["status"] == "alive")
    return render(
        request,
        "workers.html",
        {"workers": workers, "alive": alive, "interval_s": interval, "dead_after_s": dead_after},
    )


@router.get("/outcomes", response_class=HTMLResponse)
def outcomes_page(request: Request, days: str | None = None) -> Response:
    try:
        since = since_days(days)
    except BadParameter as exc:
        return error_page(request, 400, str(exc))
    from datetime import datetime, timedelta

    from orchestrator.reporting.trends import breakdown, weekly

    store = request.app.state.ship.store
    metrics = outcome_metrics(store, since)
    weeks = weekly(store, 12)
    labels = [f"week of {w.week:%Y-%m-%d}" for w in weeks]
    now = datetime.now(UTC)
    charts = {
        "merged": bar_chart([w.merged for w in weeks], labels, title="Merged pull requests per week"),
        "cost": bar_chart(
            [w.cost_per_merged_pr_usd or 0.0 for w in weeks], labels, title="Cost per merged PR per week (USD)"
        ),
    }
    split = breakdown(store, since or datetime(1970, 1, 1, tzinfo=UTC), now + timedelta(seconds=1))
    return render(
        request, "outcomes.html", {"m": metrics, "days": days or "", "weeks": weeks, "charts": charts, "split": split}
    )
