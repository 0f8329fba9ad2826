"""``network: setup`` on bwrap: the package index is reached through the setup proxy, no host service is.

The sandbox never shares the host's network namespace: during setup its only way out is the
proxy, which refuses loopback, private, link-local (cloud metadata) addresses and the host's own.
"""

from __future__ import annotations

from dataclasses import replace

from sandbox_test_support import SMALL_SPEC

PYPI = (
    'python3 -c "import urllib.request; '
    "print(urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=20).status)\""
)
THROUGH_PROXY = "curl -sS -m 10 -o /dev/null -w '%{{http_code}}' {url} 2>&1; echo"
DIRECT = "python3 -c \"import socket; socket.create_connection(('{host}', {port}), timeout=3)\" 2>&1 | tail -1"


def test_bwrap_setup_reaches_the_package_index_but_no_service_of_the_host(bwrap_provider):
    box = bwrap_provider.acquire(replace(SMALL_SPEC, network="setup"))
    try:
        refused = [
            "http://127.0.0.1:6379/",  # Redis
            "http://127.0.0.1:5432/",  # PostgreSQL
            "http://localhost:8700/",  # the web app
            "http://169.254.169.254/latest/meta-data/",  # cloud metadata
            "http://172.17.0.1/",  # the host on the Docker bridge
            "https://10.0.0.1/",
        ]
        commands = [PYPI] + [THROUGH_PROXY.format(url=url) for url in refused]
        commands += [DIRECT.format(host="127.0.0.1", port=6379), DIRECT.format(host="1.1.1.1", port=443)]
        results = box.run_setup([" ; ".join(commands)])
        output = results[-1].output
        lines = [line for line in output.splitlines() if line.strip()]
        assert results[-1].ok and lines[0] == "200", output
        # Every host service answers 403 from the proxy (curl prints the CONNECT refusal for https).
        assert sum("403" in line for line in lines[1 : 1 + len(refused)]) == len(refused), output
        assert "Connection refused" in output and "Network is unreachable" in output, output
        # After setup there is no network at all.
        after = box.exec(PYPI)
        assert not after.ok, after.output
    finally:
        box.close()
