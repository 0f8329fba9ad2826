"""A job as it happens: Server-Sent Events of its new timeline events and state changes.

The job page subscribes while the job is queued or running; the browser's ``EventSource``
reconnects by itself (sending ``Last-Event-ID``), so a stream may end at any time — it ends
when the job leaves queued/running, after ``MAX_STREAM_S``, or when the client goes away.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from orchestrator.store import Store
from orchestrator.store.models import Event, JobState
from orchestrator.web.read_models import job_status

router = APIRouter()

POLL_S = 0.5
"""How often the stream looks at the store for news."""
MAX_STREAM_S = 300.0
KEEPALIVE_S = 15.0
LIVE_STATES = {JobState.QUEUED.value, JobState.RUNNING.value}
OUTPUT_CHARS = 4000


def _events_after(store: Store, job_id: int, after: int) -> list[dict]:
    with store.session() as s:
        rows = s.scalars(select(Event).where(Event.job_id == job_id, Event.id > after).order_by(Event.id).limit(200)).all()
        return [
            {"id": e.id, "at": e.at.isoformat(), "kind": e.kind, "message": e.message,
             "output": str((e.data or {}).get("output", ""))[:OUTPUT_CHARS] if e.kind == "tool" else ""}
            for e in rows
        ]  # fmt: skip


def _sse(event: str, data: dict, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


async def _stream(request: Request, store: Store, job_id: int, after: int) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    status = await run_in_threadpool(job_status, store, job_id)
    yield _sse("state", status)
    state = status["state"]
    while time.monotonic() - started < MAX_STREAM_S and not await request.is_disconnected():
        for event in await run_in_threadpool(_events_after, store, job_id, after):
            after = event["id"]
            last_sent = time.monotonic()
            yield _sse("job-event", event, event["id"])
        status = await run_in_threadpool(job_status, store, job_id)
        if status["state"] != state:
            state = status["state"]
            yield _sse("state", status)
        if state not in LIVE_STATES:
            return
        if time.monotonic() - last_sent > KEEPALIVE_S:
            last_sent = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)


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
