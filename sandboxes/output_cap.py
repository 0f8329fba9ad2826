"""Bounded capture of a command's output: the head and the tail are kept, the middle dropped.

A command may print gigabytes (a runaway loop, ``yes``); the orchestrator must stay flat in
memory, so output is fed in chunks as it is read from the pipe and never held whole.
"""

from __future__ import annotations


class CappedOutput:
    """Collects at most ``cap_bytes`` of output: the first half and the most recent half."""

    def __init__(self, cap_bytes: int) -> None:
        self._head_cap = max(cap_bytes, 0) // 2
        self._tail_cap = max(cap_bytes, 0) - self._head_cap
        self._head = bytearray()
        self._tail = bytearray()
        self.total_bytes = 0
        """Every byte the command wrote, kept or not."""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total_bytes += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk or self._tail_cap == 0:
            return
        if len(chunk) >= self._tail_cap:
            self._tail[:] = chunk[-self._tail_cap :]
            return
        self._tail += chunk
        overflow = len(self._tail) - self._tail_cap
        if overflow > 0:
            # Trim in place; keeps the buffer bounded at the tail cap.
            del self._tail[:overflow]

    @property
    def elided_bytes(self) -> int:
        return self.total_bytes - len(self._head) - len(self._tail)

    def text(self) -> str:
        """The kept output as text, with a marker where the middle was dropped."""
        head = self._head.decode("utf-8", errors="replace")
        tail = self._tail.decode("utf-8", errors="replace")
        if self.elided_bytes:
            return f"{head}\n[... {self.elided_bytes} bytes of output elided ...]\n{tail}"
        return head + tail
