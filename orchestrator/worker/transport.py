"""The embedded broker's transport: kombu's filesystem transport, stopping at once on shutdown.

Celery's loop for transports without an event hub waits up to 2 s for a message, checks for a
shutdown request only between those waits, and waits once more after one (``celery.worker.loops.
synloop``): an idle worker took about 3 s of its 5-s exit just there. Here the wait ends as soon
as the worker is told to stop, and takes no new message then. And a message file appears whole.
"""

from __future__ import annotations

import os
import uuid
from queue import Empty
from time import monotonic, sleep

from celery.worker import state
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


def stopping() -> bool:
    """The worker (this process) was told to stop: warm or cold shutdown. The flags hold the exit
    code (0 for a warm shutdown), so only ``None`` and ``False`` mean "go on" (as in Celery)."""
    return any(flag is not None and flag is not False for flag in (state.should_stop, state.should_terminate))


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Write the message under a name no consumer reads, then rename it into place (atomic).

        kombu writes it in place: a consumer listing the folder between the file's creation and
        its write (the worker's own main thread, when its sweep dispatches) read it empty, and the
        worker stopped with "Unrecoverable error: JSONDecodeError"."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")  # consumers take only `<id>.<queue>.msg`
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel

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
