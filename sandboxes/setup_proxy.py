"""The network a bwrap sandbox's setup commands get under policy ``setup``: a filtering proxy.

bwrap sandboxes never share the host's network namespace. During setup the sandbox still has
only its own loopback; a small relay inside it (``FORWARDER``, started with each setup
command) listens on ``127.0.0.1:3128`` and passes every connection through a Unix socket,
bound into the sandbox for the setup window only, to ``SetupProxy`` in the orchestrator. The
proxy speaks HTTP (``CONNECT`` for HTTPS, absolute URLs for plain HTTP) and connects only to
addresses outside the host and its networks, on ports 80 and 443: a name resolving to a loopback,
private, shared, link-local (cloud metadata) or multicast address, or to any address of this host,
is refused
with ``403``, so Redis, PostgreSQL, the web app and the metadata service stay out of reach.
``HTTP(S)_PROXY`` points pip, npm, git and curl at the relay; TLS goes end to end through the
tunnel, checked against the host's CA bundle (``/etc/ssl/certs``).
"""

from __future__ import annotations

import ipaddress
import os
import select
import shutil
import socket
import socketserver
import tempfile
import threading
from pathlib import Path

from sandboxes.base import SandboxError

PROXY_PORT = 3128
ALLOWED_PORTS = (80, 443)
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
        "::/127",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
"""Loopback, private, shared (CGNAT), link-local (cloud metadata) and multicast ranges: never reached."""
HEAD_LIMIT = 16 * 1024
FORWARDER = r"""
import os, socket, sys, threading
sock_path, port = sys.argv[1], int(sys.argv[2])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(64)
open(sys.argv[3], "w").close()
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
while True:
    client, _ = server.accept()
    upstream = socket.socket(socket.AF_UNIX)
    try:
        upstream.connect(sock_path)
    except OSError:
        client.close()
        continue
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
"""


def host_addresses() -> set[str]:
    """Addresses of this host's own interfaces (best effort)."""
    found = {"127.0.0.1", "::1"}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]))
    except OSError:
        pass
    try:
        text = Path("/proc/net/fib_trie").read_text().splitlines()
        for previous, line in zip(text, text[1:], strict=False):
            if "/32 host LOCAL" in line:
                found.add(previous.strip().split()[-1])
    except OSError:
        pass
    return found


def refusal(host: str, port: int, own: set[str]) -> tuple[str | None, str]:
    """(an address to connect to, "") when ``host:port`` may be reached, else (None, why not)."""
    if port not in ALLOWED_PORTS:
        return None, f"port {port} is not a registry port (80, 443)"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return None, f"{host} does not resolve: {exc}"
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if address in own or any(
            (mapped or ip) in net for net in BLOCKED_NETWORKS if net.version == (mapped or ip).version
        ):
            return None, f"{host} resolves to {address}, an address of this host or of a private network"
    return (addresses[0], "") if addresses else (None, f"{host} has no address")


def _relay(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], 300)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        client = self.request
        head = b""
        while b"\r\n\r\n" not in head and len(head) < HEAD_LIMIT:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        header, _, rest = head.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            return
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            path = ""
        elif target.startswith("http://"):
            authority, _, path = target[len("http://") :].partition("/")
            host, _, port_text = authority.partition(":")
            port_text = port_text or "80"
            path = "/" + path
        else:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\nshipyard setup proxy: only CONNECT and http:// URLs\n")
            return
        host = host.strip("[]")
        port = int(port_text) if port_text.isdigit() else 0
        address, why = refusal(host, port, self.server.own)
        if address is None:
            message = f"shipyard setup proxy: refused {host}:{port}: {why}\n"
            client.sendall(f"HTTP/1.1 403 Forbidden\r\ncontent-length: {len(message)}\r\n\r\n{message}".encode())
            return
        try:
            upstream = socket.create_connection((address, port), timeout=30)
        except OSError as exc:
            client.sendall(f"HTTP/1.1 502 Bad Gateway\r\n\r\n{exc}\n".encode())
            return
        upstream.settimeout(None)
        with upstream:
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                kept = [line for line in lines[1:] if not line.lower().startswith("proxy-")]
                request = "\r\n".join([f"{method} {path} {version}", *kept]) + "\r\n\r\n"
                upstream.sendall(request.encode("latin-1"))
            if rest:
                upstream.sendall(rest)
            _relay(client, upstream)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    own: set[str] = set()


class SetupProxy:
    """The proxy for one setup window, on a Unix socket in a fresh directory of its own (short:
    socket paths are limited to about 100 bytes), with the relay script beside it."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="shipyard-proxy-"))
        try:
            self.directory.chmod(0o755)
            (self.directory / "forward.py").write_text(FORWARDER)
            self.socket_path = self.directory / "proxy.sock"
            self._server = _Server(str(self.socket_path), _Handler)
            self._server.own = host_addresses()
            os.chmod(self.socket_path, 0o666)
        except OSError as exc:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise SandboxError(f"network policy setup: the setup proxy could not start: {exc}") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="setup-proxy", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.directory, ignore_errors=True)


def proxied(command: str, python: str, inside: str) -> str:
    """``command`` with the relay started first (``inside``: the proxy directory as the sandbox sees it)."""
    ready = "/tmp/.shipyard-proxy-ready"
    return (
        f"{python} {inside}/forward.py {inside}/proxy.sock {PROXY_PORT} {ready} >/dev/null 2>&1 &\n"
        f"for _ in $(seq 100); do [ -e {ready} ] && break; sleep 0.05; done\n"
        f"{command}"
    )


def proxy_env(ca_bundle: str) -> dict[str, str]:
    url = f"http://127.0.0.1:{PROXY_PORT}"
    env = {name: url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    env |= {"npm_config_proxy": url, "npm_config_https_proxy": url, "NO_PROXY": "", "no_proxy": ""}
    env |= {
        name: ca_bundle
        for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO")
    }
    return env
