"""What a worker process is: the Celery app and its embedded transport, the job runner that drives
a ticket's workflow, the recorder of its timeline, sandboxes and models for it, stopping, leases and
heartbeats, provider waits and the watchdog."""
