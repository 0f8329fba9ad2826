"""The embedded broker's transport: kombu's filesystem transport, stopping at once on shutdown.

Celery's loop for transports without an event hub waits up to 2 s for a message, checks for a
shutdown request only between those waits, and waits once more after one (``celery.worker.loops.
synloop``): an idle worker took about 3 s of its 5-s exit just there. Here the wait ends as soon
as the worker is told to stop, and takes no new message then.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic, sleep

from celery.worker import state
from kombu.transport import filesystem


def stopping() -> bool:
    """The worker (this process) was told to stop: warm or cold shutdown. The flags hold the exit
    code (0 for a warm shutdown), so only ``None`` and ``False`` mean "go on" (as in Celery)."""
    return any(flag is not None and flag is not False for flag in (state.should_stop, state.should_terminate))


class Transport(filesystem.Transport):
    def drain_events(self, connection, timeout=None):
        started = monotonic()
        interval = self.polling_interval
        if timeout and interval and interval > timeout:
            interval = timeout
        while not stopping():
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                if timeout is not None and monotonic() - started >= timeout:
                    break
                if interval is not None:
                    sleep(interval)
        raise TimeoutError()
