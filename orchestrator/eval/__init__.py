"""``shipyard eval``: a measured baseline on tasks in SWE-bench's JSONL schema.

Each task runs through the real pipeline (queue, worker, sandbox, agent, gate); then the hidden
``test_patch`` is applied to the agent's result in a fresh sandbox and ``FAIL_TO_PASS`` +
``PASS_TO_PASS`` decide whether it is resolved. See the README section "shipyard eval"."""
