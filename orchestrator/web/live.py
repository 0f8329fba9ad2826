"""A job as it happens: Server-Sent Events of its new timeline events and state changes.

The job page subscribes until the job ends (a job waiting for a decision moves on when a worker
applies it); the browser's ``EventSource`` reconnects by itself (sending ``Last-Event-ID``), so a
stream may end at any time — it ends when the job ends, when a working job stops to wait for a
human, after ``MAX_STREAM_S``, or when the client goes away.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from orchestrator.store import Store
from orchestrator.store.tables import Event, Job, JobState, ModelUsage
from orchestrator.web.read_models import job_status

router = APIRouter()

POLL_S = 0.5
"""How often the stream looks at the store for news."""
MAX_STREAM_S = 300.0
KEEPALIVE_S = 15.0
WORKING_STATES = {JobState.QUEUED.value, JobState.RUNNING.value}
FOLLOWED_STATES = {s.value for s in JobState if not s.is_final}
"""A page follows its job until the job ends: one waiting for a decision moves on once a worker applies it."""
OUTPUT_CHARS = 4000


def _events_after(store: Store, job_id: int, after: int) -> list[dict]:
    with store.session() as s:
        rows = s.scalars(
            select(Event).where(Event.job_id == job_id, Event.id > after).order_by(Event.id).limit(200)
        ).all()
        return [
            {"id": e.id, "at": e.at.isoformat(), "kind": e.kind, "message": e.message,
             "output": str((e.data or {}).get("output", ""))[:OUTPUT_CHARS] if e.kind == "tool" else ""}
            for e in rows
        ]  # fmt: skip


def _spend(store: Store, job_id: int) -> dict:
    """The job's model spend so far and the model of its latest call."""
    with store.session() as s:
        cost, calls = s.execute(
            select(func.coalesce(func.sum(ModelUsage.cost_usd), 0.0), func.count()).where(ModelUsage.job_id == job_id)
        ).one()
        model = s.scalar(
            select(ModelUsage.model).where(ModelUsage.job_id == job_id).order_by(ModelUsage.id.desc()).limit(1)
        )
    return {"cost_usd": round(float(cost), 6), "calls": calls, "model": model or ""}


def _jobs_mark(store: Store) -> list:
    """Changes whenever a job is added or changes (state, reason, attempts, cost…)."""
    with store.session() as s:
        count, newest, latest = s.execute(select(func.count(), func.max(Job.id), func.max(Job.updated_at))).one()
        spent = s.scalar(select(func.max(ModelUsage.id)))
    return [count, newest, latest.isoformat() if latest else None, spent]


def _sse(event: str, data: dict, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


async def _stream(request: Request, store: Store, job_id: int, after: int) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    status = await run_in_threadpool(job_status, store, job_id)
    yield _sse("state", status)
    state, spend = status["state"], None
    working = state in WORKING_STATES
    while time.monotonic() - started < MAX_STREAM_S and not await request.is_disconnected():
        for event in await run_in_threadpool(_events_after, store, job_id, after):
            after = event["id"]
            last_sent = time.monotonic()
            yield _sse("job-event", event, event["id"])
        now_spend = await run_in_threadpool(_spend, store, job_id)
        if now_spend != spend:
            spend = now_spend
            yield _sse("cost", spend)
        status = await run_in_threadpool(job_status, store, job_id)
        if status["state"] != state:
            state = status["state"]
            yield _sse("state", status)
        if state not in FOLLOWED_STATES or (working and state not in WORKING_STATES):
            return  # ended, or stopped working (to wait for a human): the page reloads into its new state
        if time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)


async def _jobs_stream(request: Request, store: Store) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    mark = await run_in_threadpool(_jobs_mark, store)
    # First what the list is now: the page fetches its rows on it, so a change made before this
    # stream looked is in those rows, and any later one is announced below.
    yield _sse("changed", {"jobs": mark[0], "newest": mark[1], "updated_at": mark[2]})
    while time.monotonic() - started < MAX_STREAM_S and not await request.is_disconnected():
        await asyncio.sleep(POLL_S * 2)
        now = await run_in_threadpool(_jobs_mark, store)
        if now != mark:
            mark, last_sent = now, time.monotonic()
            yield _sse("changed", {"jobs": now[0], "newest": now[1], "updated_at": now[2]})
        elif time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"


@router.get("/live/jobs")
async def live_jobs(request: Request):
    """``text/event-stream`` of ``changed`` at once and then whenever a job is added or changes: the
    jobs page fetches its rows (with its own filters) on each, instead of polling on a timer."""
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _jobs_stream(request, request.app.state.ship.store), media_type="text/event-stream", headers=headers
    )


@router.get("/jobs/{job_id}/live")
async def live(request: Request, job_id: int, after: int = 0):
    """``text/event-stream``: ``state`` (state, reason, updated_at) first and on every change, then
    ``job-event`` (id, at, kind, message, tool output excerpt) for every timeline event after ``after``."""
    store = request.app.state.ship.store
    if await run_in_threadpool(job_status, store, job_id) is None:
        return JSONResponse({"error": f"job {job_id} does not exist"}, status_code=404)
    resume = request.headers.get("last-event-id", "")
    after = int(resume) if resume.isdigit() else max(after, 0)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_stream(request, store, job_id, after), media_type="text/event-stream", headers=headers)
