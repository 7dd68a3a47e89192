"""The tests' own HTTP server on 127.0.0.1, for what pytest-httpserver does not do: replies that
wait or reset the connection, and counting the requests in flight at once (per server and across
servers), which the politeness tests and the browser tests observe."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    """What the server answers to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html"})
    body: bytes = b"<p>Hello</p>"
    delay: float = 0.0  # seconds before answering
    reset: bool = False  # close the connection without answering
    #: Send a Content-Length; without one the body ends when the connection closes (streamed).
    length: bool = True


@dataclass
class Hit:
    """One request as the server saw it (header names lowercased)."""

    path: str
    headers: dict[str, str]
    count: int  # 1 for the first request to this path

    @property
    def from_browser(self) -> bool:
        """Chromium sends the Fetch Metadata headers; httpx does not."""
        return "sec-fetch-mode" in self.headers


@dataclass
class Stats:
    """Requests in flight, which the servers of a test may share to observe concurrency."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: Counter[str] = field(default_factory=Counter)
    total: int = 0
    max_total: int = 0
    starts: list[float] = field(default_factory=list)

    def enter(self, name: str) -> None:
        with self.lock:
            self.starts.append(time.monotonic())
            self.in_flight[name] += 1
            self.max_in_flight[name] = max(self.max_in_flight[name], self.in_flight[name])
            self.total += 1
            self.max_total = max(self.max_total, self.total)

    def leave(self, name: str) -> None:
        with self.lock:
            self.in_flight[name] -= 1
            self.total -= 1


Route = Callable[[Hit], Reply]


class LocalServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering from a table of routes (path → Reply).

    `name` is the key of its requests in `stats` (per path when no name is given).
    """

    def __init__(self, name: str = "", stats: Stats | None = None) -> None:
        self.name = name
        self.stats = stats or Stats()
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Hit] = []
        self._lock = threading.Lock()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, reply: Reply) -> None:
        self.routes[path] = lambda hit: reply

    def requests_to(self, path: str) -> list[Hit]:
        return [hit for hit in self.requests if hit.path == path]

    def _answer(self, target: str, headers: dict[str, str]) -> Reply:
        path = target.split("?")[0]  # requests are counted and routed by path, whatever the query
        with self._lock:
            self.hits[path] += 1
            hit = Hit(path, headers, self.hits[path])
            self.requests.append(hit)
        route = self.routes.get(path)
        return route(hit) if route else Reply(404, body=b"<h1>Not found</h1>")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default of 5 drops bursts of connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that gave up (timeouts, size caps, closed tabs) are expected here."""


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            key = server.name or self.path.split("?")[0]
            server.stats.enter(key)
            left = False

            def leave() -> None:
                nonlocal left
                if not left:
                    left = True
                    server.stats.leave(key)

            try:
                reply = server._answer(self.path, {k.lower(): v for k, v in self.headers.items()})
                time.sleep(reply.delay)
                # Counted out before the answer is written: a client that has read it may send its
                # next request before this thread runs again, which is no overlap.
                leave()
                if reply.reset:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.length and "content-length" not in {name.lower() for name in reply.headers}:
                    self.send_header("Content-Length", str(len(reply.body)))
                if not reply.length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client went away
            finally:
                leave()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A LocalServer for the test, stopped after it."""
    with LocalServer() as running:
        yield running
