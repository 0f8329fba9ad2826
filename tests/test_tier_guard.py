"""The tier guard: a test that starts a worker process, a container or Chromium unmarked fails, and
fails before it starts it; a marked one runs."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT
from tests.tier_guard import needed_marker

PY = sys.executable


@pytest.mark.parametrize(
    ("argv", "marker"),
    [
        ([PY, "-m", "orchestrator", "worker", "--concurrency", "2"], "workers"),
        ([PY, "-m", "orchestrator", "demo", "--data-dir", "d"], "workers"),
        (["/venv/bin/shipyard", "eval", "set.jsonl"], "workers"),
        (["celery", "-A", "app", "worker"], "workers"),
        (["/usr/bin/chromium", "--headless"], "browser"),
        (["/venv/lib/playwright/driver/node", "/venv/lib/playwright/driver/package/cli.js", "run-driver"], "browser"),
        (["docker", "run", "--rm", "img"], "docker"),
        (["/usr/bin/docker-compose", "-p", "x", "up", "-d"], "docker"),
        ([PY, "-m", "orchestrator", "workers"], None),
        ([PY, "-m", "orchestrator", "jobs", "list"], None),
        (["git", "worker"], None),
        (["docker", "ps"], None),
    ],
)
def test_commands_are_told_apart(argv, marker):
    needed = needed_marker(argv)
    assert (needed[0] if needed else None) == marker, needed


def test_an_unmarked_test_that_starts_a_worker_fails_and_starts_nothing(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    started = pytester.path / "started"
    pytester.makepyfile(
        test_starts=f"""
        import subprocess, sys

        import pytest

        # `python -c CODE shipyard worker` looks like a worker start and only writes a file.
        START = [sys.executable, "-c", "open({str(started)!r}, 'a').write('x')", "shipyard", "worker"]

        def test_unmarked():
            subprocess.run(START, check=True)

        def test_unmarked_in_a_thread():
            import threading
            t = threading.Thread(target=lambda: subprocess.run(START))
            t.start()
            t.join()

        @pytest.mark.workers
        def test_marked():
            subprocess.run(START, check=True)
        """
    )
    result = pytester.runpytest_subprocess("-p", "tests.tier_guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*test_unmarked starts `shipyard worker` (Celery worker processes)*add @pytest.mark.workers*"]
    )
    assert started.read_text() == "x", "only the marked test may start it"
