"""Docker-specific behaviour: start failures, hardening settings, the ``setup`` network window."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sandbox_test_support import SMALL_SPEC

from sandboxes.base import SandboxError

PYPI_PROBE = (
    'python3 -c "import urllib.request; '
    "print(urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=10).status)\""
)


@pytest.mark.docker
def test_missing_image_says_how_to_build_it(docker_provider):
    with pytest.raises(SandboxError) as err:
        docker_provider.acquire(replace(SMALL_SPEC, image="shipyard-no-such-image:latest"))
    message = str(err.value)
    assert "shipyard-no-such-image:latest not found" in message
    assert "make sandbox-image" in message


@pytest.mark.docker
def test_container_is_hardened_and_labelled(docker_provider):
    box = docker_provider.acquire(replace(SMALL_SPEC, labels={"shipyard.job": "job-42"}))
    try:
        host = box.container.attrs["HostConfig"]
        box.container.reload()
        host = box.container.attrs["HostConfig"]
        labels = box.container.attrs["Config"]["Labels"]
        assert labels["shipyard.sandbox"] == "1" and labels["shipyard.job"] == "job-42"
        assert host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["NetworkMode"] == "none" and host["Init"] is True
        assert host["Memory"] == host["MemorySwap"] == 512 * 1024 * 1024
        assert host["PidsLimit"] == 128
        mounts = box.container.attrs["Mounts"]
        assert sorted((m["Destination"], m["RW"]) for m in mounts) == [
            ("/shipyard/env", True),
            ("/shipyard/gate", False),
            ("/shipyard/records", True),
            ("/shipyard/tools", False),
            ("/workspace", True),
        ]
        result = box.exec("id -u; touch /usr/evil 2>&1; cat /proc/self/status | grep CapEff")
        assert result.output.splitlines()[0] == "10001"
        assert "Read-only file system" in result.output
        assert "0000000000000000" in result.output
    finally:
        box.close()


@pytest.mark.docker
def test_setup_network_window_closes_before_run_setup_returns(docker_provider):
    box = docker_provider.acquire(replace(SMALL_SPEC, network="setup"))
    try:
        setup = box.run_setup([PYPI_PROBE, "python3 -c \"import socket; print(socket.gethostbyname('pypi.org'))\""])
        assert [r.ok for r in setup] == [True, True] and "200" in setup[0].output, setup[0].output
        pypi_ip = setup[1].output.strip()
        # By address, so the check does not wait on a DNS timeout.
        after = box.exec(f"python3 -c \"import socket; socket.create_connection(('{pypi_ip}', 443), 3)\"")
        assert not after.ok and "unreachable" in after.output.lower(), after.output
        assert box.exec("ls /sys/class/net").output.split() == ["lo"]
    finally:
        box.close()


@pytest.mark.docker
def test_network_policy_none_has_no_network_even_during_setup(docker_provider):
    box = docker_provider.acquire(SMALL_SPEC)
    try:
        [setup] = box.run_setup([PYPI_PROBE])
        assert not setup.ok
        assert "PIP_CERT" not in box.exec("env").output
    finally:
        box.close()


def test_bwrap_setup_window_has_network_and_exec_does_not(bwrap_provider):
    box = bwrap_provider.acquire(replace(SMALL_SPEC, network="setup"))
    try:
        [setup] = box.run_setup([PYPI_PROBE])
        assert setup.ok and "200" in setup.output, setup.output
        assert not box.exec(PYPI_PROBE, timeout_s=20).ok
    finally:
        box.close()
