"""The exec stream reader keeps the output that arrives after the engine reports the exit
(``sleep 3 && echo rested`` once returned exit 0 with empty output under load)."""

from __future__ import annotations

import socket
import threading
import time

from sandboxes.docker_stream import pump_exec_output
from sandboxes.output_cap import CappedOutput


def frame(payload: bytes, stream: int = 1) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_output_that_arrives_just_after_the_exit_is_read():
    reader, writer = socket.socketpair()
    exited = threading.Event()

    def command() -> None:
        time.sleep(0.6)  # quiet, like `sleep 3`
        exited.set()  # the engine already says "exited"…
        time.sleep(0.15)  # …while the tail is still on its way
        writer.sendall(frame(b"rested\n"))
        writer.close()

    threading.Thread(target=command, daemon=True).start()
    sink = CappedOutput(1 << 20)
    how = pump_exec_output(reader, sink, time.monotonic() + 10, exited.is_set)
    assert how in {"eof", "exited"}
    assert "rested" in sink.text()
    reader.close()
