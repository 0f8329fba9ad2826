"""Warm pool: ready sandboxes handed out fast, refilled in the background, never reused."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sandbox_test_support import SMALL_SPEC, wait_until

from sandboxes.base import SandboxError
from sandboxes.docker import DockerSandboxProvider
from sandboxes.pool import WarmPool


@pytest.fixture
def pool(docker_provider):
    warm = WarmPool(docker_provider, SMALL_SPEC, size=2)
    assert warm.wait_ready(timeout_s=60), warm.last_error
    yield warm
    warm.close()


@pytest.mark.docker
def test_acquire_hands_out_a_ready_sandbox_and_refills(pool):
    started = time.monotonic()
    box = pool.acquire()
    took = time.monotonic() - started
    try:
        assert took < 0.5, f"warm acquire took {took:.3f}s"
        assert box.container.status == "running"
        assert list(box.host_workspace.iterdir()) == []
        assert box.exec("echo warm").output == "warm\n"
        assert pool.wait_ready(timeout_s=60), pool.last_error
        assert pool.ready_count == 2
    finally:
        box.close()


@pytest.mark.docker
def test_a_sandbox_is_never_handed_out_twice(pool):
    boxes = [pool.acquire() for _ in range(4)]
    try:
        assert len({b.container.id for b in boxes}) == 4
        assert len({b.host_workspace for b in boxes}) == 4
        boxes[0].write_file("secret-of-job-a.txt", b"a")
    finally:
        for box in boxes:
            box.close()
    again = pool.acquire()
    try:
        assert again.container.id not in {b.container.id for b in boxes}
        assert list(again.host_workspace.iterdir()) == []
    finally:
        again.close()


@pytest.mark.docker
def test_a_dead_pooled_container_is_skipped(pool):
    pool.wait_ready()
    victim = pool._ready[0]
    victim.container.kill()
    box = pool.acquire()
    try:
        assert box.container.id != victim.container.id
        assert box.exec("true").ok
    finally:
        box.close()


@pytest.mark.docker
def test_provider_pool_applies_the_jobs_own_limits(sandbox_root):
    provider = DockerSandboxProvider(sandbox_root / "pooled", pool_size=1)
    try:
        job_spec = replace(SMALL_SPEC, command_timeout_s=1.5, output_cap_bytes=2000)
        assert provider.pool_for(job_spec).wait_ready(timeout_s=60)
        box = provider.acquire(job_spec)
        try:
            assert box.container.attrs["Config"]["Labels"]["shipyard.pooled"] == "1"
            result = box.exec("head -c 100000 /dev/zero | tr '\\0' x; sleep 30")
            assert result.timed_out and result.duration_s < 10
            assert result.elided_bytes == 100_000 - 2000
        finally:
            box.close()
    finally:
        provider.close()


@pytest.mark.docker
def test_close_removes_idle_containers(docker_provider):
    warm = WarmPool(docker_provider, SMALL_SPEC, size=2)
    assert warm.wait_ready(timeout_s=60)
    idle = [box.container.id for box in warm._ready]
    warm.close()
    client = docker_provider.client
    assert wait_until(lambda: not [c for c in client.api.containers(all=True) if c["Id"] in idle])
    with pytest.raises(SandboxError, match="closed"):
        warm.acquire()


@pytest.mark.docker
def test_setup_network_is_never_pooled(docker_provider):
    with pytest.raises(SandboxError, match="only network policy 'none'"):
        WarmPool(docker_provider, replace(SMALL_SPEC, network="setup"), size=1)
