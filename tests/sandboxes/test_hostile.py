"""Hostile commands against the isolated backends (real Docker engine, real bwrap).

Each test is what a malicious or broken repository could run; the assertion is that the
orchestrator and its host are unaffected and the result says what happened.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import struct
import threading
import uuid
from dataclasses import replace

import pytest
from sandbox_test_support import SMALL_SPEC, backends, processes_with_env, wait_until

from sandboxes.base import SandboxError

ISOLATED = ["docker", "bwrap"]


@pytest.fixture(params=backends(*ISOLATED))
def hostile(request, provider_for):
    box = provider_for(request.param).acquire(replace(SMALL_SPEC, memory_mb=256, pids=64))
    yield box
    box.close()


def connect_probe(host: str, port: int) -> str:
    return f"python3 -c \"import socket; socket.create_connection(('{host}', {port}), 3); print('CONNECTED')\""


SIOCGIFADDR = 0x8915


def _interface_address(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def bridge_gateway(docker_provider) -> str:
    """The host's address on Docker's default bridge (where host services are reachable).

    Read from the ``docker0`` interface; else from the engine, whose IPAM entry names the
    gateway on some versions and only the subnet on others (Debian's 20.10)."""
    address = _interface_address("docker0")
    if address:
        return address
    configs = docker_provider.client.api.inspect_network("bridge")["IPAM"]["Config"] or []
    for config in configs:
        if config.get("Gateway"):
            return config["Gateway"]
        if config.get("Subnet") and ":" not in config["Subnet"]:
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    pytest.fail(f"cannot tell the host's address on Docker's bridge: no docker0 address and IPAM config {configs!r}")


@pytest.fixture(scope="module")
def host_service() -> int:
    """A TCP service of the test's own on every host address (loopback and Docker's bridge
    included): the port a sandbox must not reach. Accepts and closes each connection."""
    server = socket.create_server(("0.0.0.0", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


@pytest.mark.docker
def test_no_connection_to_outside_or_to_host_services(hostile, docker_provider, host_service):
    targets = [
        ("151.101.0.223", 443),
        ("pypi.org", 443),
        (bridge_gateway(docker_provider), host_service),
        ("127.0.0.1", host_service),
    ]
    for host, port in targets:
        result = hostile.exec(connect_probe(host, port), timeout_s=15)
        assert not result.ok and "CONNECTED" not in result.output, (host, port, result.output)


@pytest.mark.docker
def test_the_probes_do_connect_when_a_network_exists(docker_provider, host_service):
    # Guards the previous test: its probes would succeed on a plain bridge network.
    gateway = bridge_gateway(docker_provider)
    for host in ("127.0.0.1", gateway):
        socket.create_connection((host, host_service), 3).close()
    plain = docker_provider.client.containers.run(
        SMALL_SPEC.image,
        ["python3", "-c", connect_probe(gateway, host_service).split('"')[1]],
        remove=True,
        network_mode="bridge",
    )
    assert b"CONNECTED" in plain


def test_fork_bomb_is_contained_and_the_orchestrator_stays_healthy(hostile, provider_for):
    result = hostile.exec("bomb() { bomb | bomb & }; bomb; sleep 60", timeout_s=3)
    assert result.timed_out or not result.ok
    assert result.duration_s < 30
    assert hostile.exec("echo survived").output == "survived\n"
    fresh = provider_for(hostile.backend).acquire(SMALL_SPEC)
    try:
        assert fresh.exec("echo healthy").output == "healthy\n"
    finally:
        fresh.close()


def test_memory_hog_is_oom_killed_and_reported(hostile):
    result = hostile.exec("python3 -c \"b = bytearray(1024 ** 3); print('survived')\"", timeout_s=60)
    assert result.oom_killed, result
    assert result.describe_failure() == "killed: out of memory (sandbox memory limit)"
    assert "survived" not in result.output
    assert hostile.exec("echo after").output == "after\n"


def test_infinite_loop_is_killed_at_the_timeout(hostile):
    result = hostile.exec("while :; do :; done", timeout_s=2)
    assert result.timed_out and 1.5 < result.duration_s < 10
    assert hostile.exec("echo after").output == "after\n"


def test_root_filesystem_is_read_only_and_the_user_unprivileged(hostile):
    result = hostile.exec("touch /evil; echo x > /usr/evil; echo x > /etc/evil; id -u; ls /var/run/docker.sock")
    assert result.output.count("Read-only file system") == 3, result.output
    lines = result.output.splitlines()  # stdout and stderr interleave in any order
    assert "10001" in lines
    assert any("docker.sock" in line and "No such file or directory" in line for line in lines)
    assert not os.path.exists("/evil") and not os.path.exists("/usr/evil")


def test_no_orchestrator_secret_in_env_or_proc(hostile, monkeypatch, provider_for):
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", "sekrit-gh-token-0123456789")
    box = provider_for(hostile.backend).acquire(SMALL_SPEC)  # started after the secret exists
    try:
        result = box.exec(
            "env; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done 2>/dev/null; "
            "grep -rl sekrit /proc/[0-9]*/cmdline 2>/dev/null; echo done"
        )
    finally:
        box.close()
    assert result.ok and "done" in result.output
    assert "sekrit" not in result.output and "SHIPYARD_GITHUB_TOKEN" not in result.output


@pytest.mark.docker
def test_background_process_is_gone_after_close(provider_for):
    for backend in ISOLATED:
        mark = f"SHIPYARD_TEST_MARK={uuid.uuid4().hex}"
        name, value = mark.split("=")
        box = provider_for(backend).acquire(SMALL_SPEC)
        box.exec("nohup sleep 300 >/dev/null 2>&1 & echo started", env={name: value})
        box.close()
        assert wait_until(lambda mark=mark: not processes_with_env(mark), 10), (backend, processes_with_env(mark))


def rss_kb() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def test_a_gigabyte_of_output_leaves_the_orchestrator_flat(hostile):
    before = rss_kb()
    result = hostile.exec("head -c 1G /dev/zero; echo; echo THE-END", timeout_s=120)
    growth_mb = (rss_kb() - before) / 1024
    assert result.ok, result.describe_failure()
    assert result.elided_bytes > 1024**3 - SMALL_SPEC.output_cap_bytes
    assert result.output.rstrip().endswith("THE-END")
    assert growth_mb < 50, f"orchestrator RSS grew {growth_mb:.1f} MB"


def test_symlink_to_a_host_file_does_not_leak_through_read_file(hostile, tmp_path):
    host_secret = tmp_path / "orchestrator-secret.txt"
    host_secret.write_text("do not leak")
    link = hostile.exec(f"ln -s {host_secret} leak.txt && ln -s /proc/1/environ env.txt && echo linked")
    assert "linked" in link.output
    for name in ("leak.txt", "env.txt"):
        with pytest.raises(SandboxError, match="outside the workspace"):
            hostile.read_file(name)


PORT_PROBE = b"""
import socket, struct, sys
def default_gateway():
    for line in open('/proc/net/route').read().splitlines()[1:]:
        fields = line.split()
        if fields[1] == '00000000':
            return socket.inet_ntoa(struct.pack('<L', int(fields[2], 16)))
host = default_gateway() if sys.argv[1] == 'gateway' else sys.argv[1]
try:
    socket.create_connection((host, int(sys.argv[2])), 1)
    print('CONNECTED', host)
except OSError as exc:
    print('BLOCKED', host, exc)
"""


@pytest.mark.docker
def test_setup_window_reaches_registries_but_not_host_services(docker_provider, host_service):
    box = docker_provider.acquire(replace(SMALL_SPEC, network="setup"))
    try:
        box.write_file("probe.py", PORT_PROBE)
        results = box.run_setup(
            [
                'python3 -c "import urllib.request; '
                "print(urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=10).status)\"",
                f"python3 probe.py gateway {host_service}",
                f"python3 probe.py {bridge_gateway(docker_provider)} {host_service}",
            ]
        )
    finally:
        box.close()
    assert [r.exit_code for r in results] == [0, 0, 0], [r.output for r in results]
    assert "200" in results[0].output
    for probe in results[1:]:
        assert probe.output.startswith("BLOCKED"), probe.output


def test_bwrap_hides_the_orchestrators_data_directory():
    import shutil
    from pathlib import Path

    from sandboxes.local import LocalSandboxProvider

    # /var is visible read-only inside bwrap sandboxes; a data dir there must not be.
    data_dir = Path("/var/tmp") / f"shipyard-data-{uuid.uuid4().hex[:8]}"
    (data_dir / "sandboxes").mkdir(parents=True)
    (data_dir / "shipyard.db").write_text("tokens and jobs")
    (data_dir / "shipyard.db").chmod(0o644)
    try:
        box = LocalSandboxProvider(data_dir / "sandboxes", isolation="bwrap").acquire(SMALL_SPEC)
        try:
            result = box.exec(f'cat {data_dir}/shipyard.db 2>/dev/null; echo "entries:[$(ls -A {data_dir})]"')
        finally:
            box.close()
        assert result.output == "entries:[]\n"
    finally:
        shutil.rmtree(data_dir)
