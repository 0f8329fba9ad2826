"""At most ``max_concurrent_requests`` requests in flight to one model server from this host.

A local server (llama.cpp, a single-GPU vLLM, Ollama with one slot) answers one request at a
time; the others wait in its queue while their client timeouts run, then fail and are sent
again. Here a request first takes a slot — an exclusive ``flock`` on one of N files named after
the server's URL, so every worker process on the host shares the count and a slot is freed
when its holder dies — and only then starts its timeout."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from agents.catalogue import ModelSpec

POLL_S = 0.25
SLOTS_DIR_ENV = "SHIPYARD_REQUEST_SLOTS_DIR"
"""Where the slot files live (default: ``shipyard-request-slots`` in the temporary directory)."""


def slots_dir() -> Path:
    path = Path(os.environ.get(SLOTS_DIR_ENV) or Path(tempfile.gettempdir()) / "shipyard-request-slots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _server_key(spec: ModelSpec) -> str:
    where = spec.base_url or f"{spec.provider}:{spec.model_id}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


@contextmanager
def request_slot(
    spec: ModelSpec, *, on_wait: Callable[[float], None] | None = None, sleep: Callable[[float], None] = time.sleep
) -> Iterator[None]:
    """Hold one of the spec's server slots for the duration of a request (no limit: no-op).
    ``on_wait(seconds)`` is told once when the request had to wait for a slot."""
    limit = spec.max_concurrent_requests
    if limit is None:
        yield
        return
    key, root, started = _server_key(spec), slots_dir(), time.monotonic()
    files = [open(root / f"{key}.{i}.lock", "a+b") for i in range(limit)]
    held = None
    try:
        while held is None:
            for handle in files:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                held = handle
                break
            else:
                sleep(POLL_S)
        waited = time.monotonic() - started
        if on_wait is not None and waited >= 1.0:
            on_wait(waited)
        yield
    finally:
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_UN)
        for handle in files:
            handle.close()
