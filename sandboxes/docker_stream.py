"""Reading a Docker exec's attached output with a deadline and a memory cap.

Without a TTY the engine multiplexes stdout and stderr into frames (8-byte header: stream
type, three zero bytes, big-endian payload size). Payload bytes are fed to the
``CappedOutput`` as they arrive, so a frame is never buffered whole.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from typing import Literal

from sandboxes.output_cap import CappedOutput

_HEADER = 8
_QUIET_CHECK_S = 0.2
"""How long the stream may be quiet before asking the engine whether the command exited."""
_BUSY_CHECK_S = 1.0
"""How often to ask while output keeps flowing."""
_DRAIN_MAX_S = 0.5
"""After the command exited, how long output (its own tail, or a child's) is still read."""
_DRAIN_SILENT_MAX_S = 2.0
"""The same while nothing at all has arrived: on a loaded engine a quick command's whole output can
follow the exit report by more than half a second (EOF usually ends the wait at once)."""


class FrameDecoder:
    """Turns multiplexed exec bytes into combined stdout+stderr payload bytes."""

    def __init__(self, sink: CappedOutput) -> None:
        self._sink = sink
        self._header = bytearray()
        self._left = 0

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._left == 0:
                need = _HEADER - len(self._header)
                self._header += view[:need]
                view = view[need:]
                if len(self._header) == _HEADER:
                    self._left = int.from_bytes(self._header[4:8], "big")
                    self._header.clear()
                continue
            take = min(self._left, len(view))
            self._sink.feed(bytes(view[:take]))
            self._left -= take
            view = view[take:]


def raw_socket(sock: object) -> socket.socket:
    """The OS socket behind what ``APIClient.exec_start(socket=True)`` returns."""
    return getattr(sock, "_sock", sock)  # type: ignore[return-value]


def pump_exec_output(
    sock: socket.socket, sink: CappedOutput, deadline: float, exited: Callable[[], bool]
) -> Literal["eof", "exited", "timeout"]:
    """Read until EOF (``eof``), the deadline (``timeout``), or the command's exit while a
    background child still holds the stream open (``exited``).

    ``exited`` asks the engine; it is only called when the stream has been quiet, because a
    background child that inherited the output keeps the stream open after the command ends.
    """
    decoder = FrameDecoder(sink)
    sock.setblocking(False)
    quiet_since = last_check = time.monotonic()
    exited_at: float | None = None
    heard = False
    while True:
        now = time.monotonic()
        if now >= deadline:
            return "timeout"
        if exited_at is None and now - last_check >= _BUSY_CHECK_S:
            # A background child may print forever after the command ended.
            last_check = now
            exited_at = now if exited() else None
        if exited_at is not None and now - exited_at >= (_DRAIN_MAX_S if heard else _DRAIN_SILENT_MAX_S):
            return "exited"
        ready, _, _ = select.select([sock], [], [], min(deadline - now, _QUIET_CHECK_S))
        if not ready:
            if exited_at is None and time.monotonic() - quiet_since >= _QUIET_CHECK_S and exited():
                # The engine may report the exit before the last output reaches this socket:
                # keep reading (EOF usually follows at once) instead of returning without it.
                exited_at = time.monotonic()
            continue
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            return "eof"
        if not data:
            return "eof"
        quiet_since, heard = time.monotonic(), True
        decoder.feed(data)
