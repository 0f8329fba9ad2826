"""The network a ``setup``-policy sandbox uses while its setup commands run.

Docker's default bridge lets a container reach every service on the host (the Redis
broker, the database, the web UI) through the bridge gateway. Setup commands come from
the repository, so they get a dedicated bridge instead: ``shipyard-setup`` (interface
``shipyard-setup0``, no container-to-container traffic) plus a host firewall rule that
drops everything arriving from that interface at the host itself. Traffic to the outside
(package registries) is forwarded as usual.
"""

from __future__ import annotations

import shutil
import subprocess

import docker
from docker.errors import DockerException, NotFound

from sandboxes.base import SandboxError

SETUP_NETWORK = "shipyard-setup"
SETUP_BRIDGE = "shipyard-setup0"
_GUARD_RULE = ["INPUT", "-i", SETUP_BRIDGE, "-j", "DROP"]


def ensure_setup_network(client: docker.DockerClient) -> str:
    """Create the setup network and its host firewall guard when missing; returns its name."""
    try:
        client.networks.get(SETUP_NETWORK)
    except NotFound:
        try:
            client.networks.create(
                SETUP_NETWORK,
                driver="bridge",
                labels={"shipyard.network": "setup"},
                options={
                    "com.docker.network.bridge.name": SETUP_BRIDGE,
                    "com.docker.network.bridge.enable_icc": "false",
                },
            )
        except DockerException as exc:
            # Another worker on this host may have created it a moment ago.
            try:
                client.networks.get(SETUP_NETWORK)
            except NotFound:
                raise SandboxError(f"network policy setup: could not create network {SETUP_NETWORK}: {exc}") from None
    guard_host_from_setup_network()
    return SETUP_NETWORK


def guard_host_from_setup_network() -> None:
    """Insert ``iptables -I INPUT -i shipyard-setup0 -j DROP`` unless it is already there."""
    iptables = shutil.which("iptables")
    if not iptables:
        raise SandboxError(
            "network policy setup: iptables is not installed, so setup commands could reach "
            "services on this host; install iptables or use network policy none"
        )
    check = subprocess.run([iptables, "-C", *_GUARD_RULE], capture_output=True, text=True)
    if check.returncode == 0:
        return
    insert = subprocess.run([iptables, "-I", *_GUARD_RULE], capture_output=True, text=True)
    if insert.returncode != 0:
        raise SandboxError(
            f"network policy setup: could not add the host firewall rule ({insert.stderr.strip()}); "
            "setup commands would reach services on this host"
        )
