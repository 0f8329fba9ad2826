"""Run the local GitHub emulator on a uvicorn server in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from orchestrator.emulators.github.asgi import State, create_app


class EmulatorError(RuntimeError):
    """The emulator could not start; the message says why."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_emulator(root: Path, seed: Path, repo: str, token: str, start_timeout_s: float = 10) -> Iterator[State]:
    """The emulator on 127.0.0.1 (a free port), ``repo`` cloned from the git work tree ``seed``,
    accepting ``token``; stopped when the block ends."""
    st = State(root=root, tokens={token})
    port = _free_port()
    st.base = f"http://127.0.0.1:{port}"
    st.create_repo(repo, seed)
    server = uvicorn.Server(
        uvicorn.Config(create_app(st), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="github-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise EmulatorError(f"the local GitHub emulator did not start on {st.base}")
        time.sleep(0.02)
    try:
        yield st
    finally:
        server.should_exit = True
        thread.join(timeout=5)
