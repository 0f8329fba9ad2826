"""A job whose agent fills the disk: the attempt fails at the sandbox's quota, the host's disk is untouched."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import pytest

from tests.pipeline.conftest import CASSETTES
from tests.pipeline.harness import queue_ticket, running_worker, wait_for_job
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from workflows.gitops import run_git

MB = 1024 * 1024


def host_free(path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@contextmanager
def lowest_free(path):
    """Samples the host's free space every 50 ms while the block runs; yields a list that ends up
    holding the lowest value seen (the peak of what the job wrote, whatever it removed afterwards)."""
    low = [host_free(path)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            low[0] = min(low[0], host_free(path))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield low
    finally:
        done.set()
        sampler.join()


# On docker its worker sweeps leaked containers host-wide (see the reaper test).
DOCKER = pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.xdist_group("docker-sweep")])


@pytest.mark.slow
@pytest.mark.parametrize("backend", [DOCKER, "local"])
@pytest.mark.workers
def test_an_agent_writing_1_gib_is_stopped_by_the_64_mb_quota_and_the_job_says_so(make_ship, backend):
    ship = make_ship(sandbox_backend=backend)
    repo = ship.settings.data_dir.parent / "textkit"
    (repo / ".shipyard.yml").write_text("sandbox:\n  disk_mb: 64\nagent:\n  max_attempts: 1\n")
    run_git(["add", ".shipyard.yml"], cwd=repo)
    run_git(["commit", "-qm", "quota"], cwd=repo)
    before = host_free(ship.settings.data_dir)
    job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, CASSETTES / "fill-disk.yml")
    with lowest_free(ship.settings.data_dir) as low, running_worker(ship.settings) as worker:
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, timeout=240, worker=worker)
    assert job["state"] == "blocked", job["reason"]
    assert "disk quota exceeded (64 MB)" in job["reason"] and "sandbox.disk_mb" in job["reason"], job["reason"]
    # At no moment did the host lose the gigabyte the agent wrote: the quota held. Tests running
    # alongside write to the same disk (environment caches, images), hence a margin of half of it.
    assert before - low[0] < 512 * MB, f"the host lost {(before - low[0]) // MB} MB while the job ran"
    sandboxes = ship.settings.data_dir / "sandboxes"
    assert not [line for line in open("/proc/mounts") if str(sandboxes) in line]
    assert not list(sandboxes.glob("*.img"))
