"""A fault-injecting HTTP proxy for the local UNICORE and NMPI test servers.

It forwards every request to one upstream server and, on a seeded random schedule, instead:

* ``5xx``: answers 500/502/503 without forwarding (the server never saw the request);
* ``5xx_after``: forwards, then answers 502 (the server acted, the client does not know);
* ``drop``: closes the connection without an answer, before forwarding;
* ``drop_after``: forwards, then closes without an answer;
* ``hang``: waits ``hang_s`` (bounded), then closes without an answer;
* ``outage``: from this request on, answers 503 to everything for ``outage_s``;
* ``probe_fail``: a UNICORE login-node ``squeue`` job is rewritten into a command that fails
  with empty stdout (as a login node whose Slurm clients cannot reach their controller).

Absolute URLs of the upstream in answers are rewritten to the proxy, so clients that follow
links (pyunicore, the NMPI client's output URLs) stay behind it. Standard library only;
runs in a thread of the test process (:class:`FaultProxy` is a context manager).
"""

from __future__ import annotations

import http.client
import json
import random
import shlex
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULT_KINDS = ("5xx", "5xx_after", "drop", "drop_after", "hang", "outage", "probe_fail")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length"}
PROBE_FAILURE = "echo 'Could not establish a configuration source' >&2; exit 1"


class FaultPlan:
    """Which fault, if any, the next request gets: seeded, thread-safe, counted.

    Parameters
    ----------
    seed : int
        Seed of the schedule.
    rates : dict
        Probability per request of each kind in :data:`FAULT_KINDS` (``probe_fail`` applies
        to login-node ``squeue`` jobs only).
    hang_s, outage_s : float
        Length of a hang and of an outage.
    skip : tuple of str
        Path prefixes never faulted (test controls).
    """

    def __init__(self, seed: int, rates: dict[str, float], *, hang_s: float = 2.0,
                 outage_s: float = 3.0, skip: tuple[str, ...] = ()) -> None:
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self.random = random.Random(seed)
        self.rates = dict(rates)
        self.hang_s = hang_s
        self.outage_s = outage_s
        self.skip = skip
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self.enabled = True
        self._outage_until = 0.0
        self._lock = threading.Lock()

    def choose(self, method: str, path: str, body: bytes) -> str | None:
        """The fault for this request (None: forward it unchanged)."""
        if path.startswith(self.skip):
            return None
        with self._lock:
            self.requests += 1
            if not self.enabled:
                return None
            if time.monotonic() < self._outage_until:
                self.injected["outage_request"] += 1
                return "5xx"
            if (method == "POST" and path.rstrip("/").endswith("/jobs")
                    and _is_squeue_probe(body)):
                self.injected["probes_seen"] += 1
                if self.random.random() < self.rates.get("probe_fail", 0.0):
                    self.injected["probe_fail"] += 1
                    return "probe_fail"
            draw = self.random.random()
            for kind in FAULT_KINDS:
                if kind == "probe_fail":
                    continue
                rate = self.rates.get(kind, 0.0)
                if draw < rate:
                    self.injected[kind] += 1
                    if kind == "outage":
                        self._outage_until = time.monotonic() + self.outage_s
                        return "5xx"
                    return kind
                draw -= rate
            return None


def _is_squeue_probe(body: bytes) -> bool:
    try:
        description = json.loads(body or b"{}")
    except ValueError:
        return False
    return isinstance(description, dict) and description.get("Executable") == "squeue"


def _failing_probe(body: bytes) -> bytes:
    description = json.loads(body)
    description["Executable"] = "sh"
    description["Arguments"] = ["-c", shlex.quote(PROBE_FAILURE)]
    return json.dumps(description).encode()


class FaultProxy:
    """A proxy on 127.0.0.1 in front of ``upstream`` (an ``http://host:port`` base).

    Attributes
    ----------
    url : str
        The proxy's base URL (same path layout as the upstream).
    plan : FaultPlan
        The schedule; ``plan.injected`` counts the faults by kind.
    """

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http":
            raise ValueError("the fault proxy forwards to plain http upstreams only")
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.plan = plan
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def rewrite(self, data: bytes) -> bytes:
        """Upstream URLs in an answer, pointed at the proxy."""
        upstream = f"http://{self.upstream_host}:{self.upstream_port}".encode()
        return data.replace(upstream, self.url.encode())

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No faults inside the block (for the test's own bookkeeping requests)."""
        self.plan.enabled = False
        try:
            yield
        finally:
            self.plan.enabled = True


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:
            self._proxy("GET")

        def do_POST(self) -> None:
            self._proxy("POST")

        def do_PUT(self) -> None:
            self._proxy("PUT")

        def do_DELETE(self) -> None:
            self._proxy("DELETE")

        def do_HEAD(self) -> None:
            self._proxy("HEAD")

        def _drop(self) -> None:
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _proxy(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = proxy.plan.choose(method, urlsplit(self.path).path, body)
            if fault == "5xx":
                self._answer(proxy.plan.random.choice((500, 502, 503)), {}, b"injected fault")
                return
            if fault == "drop":
                self._drop()
                return
            if fault == "hang":
                time.sleep(proxy.plan.hang_s)
                self._drop()
                return
            if fault == "probe_fail":
                body = _failing_probe(body)
            try:
                status, headers, data = self._forward(method, body)
            except OSError:
                self._answer(502, {}, b"upstream unreachable")
                return
            if fault == "drop_after":
                self._drop()
                return
            if fault == "5xx_after":
                self._answer(502, {}, b"injected fault after the upstream answered")
                return
            self._answer(status, headers, proxy.rewrite(data), head=(method == "HEAD"))

        def _forward(self, method: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
            connection = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port,
                                                    timeout=120)
            try:
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_HEADERS}
                if body or method in ("POST", "PUT"):
                    headers["Content-Length"] = str(len(body))
                connection.request(method, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                data = response.read()
                out = {k: v for k, v in response.getheaders() if k.lower() not in HOP_HEADERS
                       or (method == "HEAD" and k.lower() == "content-length")}
                return response.status, out, data
            finally:
                connection.close()

        def _answer(self, status: int, headers: dict[str, str], data: bytes,
                    head: bool = False) -> None:
            try:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() == "location":
                        value = proxy.rewrite(value.encode()).decode()
                    self.send_header(key, value)
                if not (head and any(k.lower() == "content-length" for k in headers)):
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)
            except OSError:
                self.close_connection = True

    return Handler
