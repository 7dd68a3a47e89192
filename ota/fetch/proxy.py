"""A local proxy through which Chromium makes every connection, so that the address guard
(`ota.fetch.guard`) applies to the browser as it applies to plain HTTP.

Chromium resolves names and connects by itself: a page it renders may redirect, frame, fetch or
load images from any address, and no request interception sees the address a name resolved to.
So the browser is started with this proxy (on 127.0.0.1, loopback included in what it proxies):
for each connection Chromium asks for (`CONNECT host:port` for HTTPS and WebSockets, an absolute
URL for plain HTTP), the proxy resolves the host, checks every address against the policy and
connects by number to one that passed; a refused connection gets a 403 naming the refusal.
Through an upstream proxy (`HTTPS_PROXY` for the browser), the connection goes to it, and the
host is checked here first (`check_proxied`: a best effort, the upstream proxy resolves it again;
a name that does not resolve here is left to it).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import logging
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import httpcore

from ota.fetch.guard import AddressPolicy, AddressRefused, Resolver, check_proxied, checked_addresses, resolve

if TYPE_CHECKING:
    from playwright.async_api import ProxySettings

_HEAD_LIMIT = 64 * 1024
_CHUNK = 64 * 1024
REFUSED_HEADER = "X-Ota-Refused"
log = logging.getLogger("ota.fetch.proxy")


class _BadRequest(Exception):
    pass


class GuardProxy:
    """The proxy of one browser; `refusals` keeps the last refusal for each host, by host."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = resolve,
        upstream: str | None = None,
        upstream_bypass: str = "",
    ) -> None:
        self.policy = policy
        self._resolver = resolver
        self._upstream = urlsplit(upstream if upstream is None or "://" in upstream else f"http://{upstream}")
        self._upstream_host = str(self._upstream.hostname or "")
        self._upstream_url = upstream
        self._bypass = upstream_bypass
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.refusals: dict[str, AddressRefused] = {}

    async def start(self) -> str:
        """Start listening on 127.0.0.1 (a free port); return the proxy's address for Chromium."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def aclose(self) -> None:
        """Stop listening and end the connections in progress."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def refusal(self, host: str) -> AddressRefused | None:
        """The last refusal of a connection to `host`, if any."""
        return self.refusals.get(host.lower().strip("[]"))

    # -- one client connection ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, _BadRequest, asyncio.LimitOverrunError):
            pass
        except Exception as exc:  # one line, never asyncio's traceback of a callback that raised
            log.warning("browser proxy: a connection failed: %s: %s", type(exc).__name__, exc)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEAD_LIMIT:
            raise _BadRequest
        request_line, _, header_block = head.decode("latin-1").partition("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3:
            raise _BadRequest
        method, target, version = parts
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port = int(port_text) if port_text.isdigit() else 443
            await self._tunnel(host.strip("[]"), port, reader, writer)
            return
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            await _answer(writer, 400, "only absolute http URLs and CONNECT are proxied")
            return
        await self._forward(
            url.hostname, url.port or 80, method, target, version, header_block, reader, writer
        )

    async def _open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """A connection to `host:port` (by a checked address), or to the upstream proxy (True)."""
        if self._upstream_url and not bypasses_proxy(host, self._bypass):
            await check_proxied(host, port, self.policy, self._resolver)  # raises AddressRefused
            upstream = self._upstream
            reader, writer = await asyncio.open_connection(self._upstream_host, upstream.port or 80)
            return reader, writer, True
        addresses = await checked_addresses(host, port, self.policy, self._resolver)  # raises AddressRefused
        failure: OSError | None = None
        for address in addresses:  # by number: what was checked is what is connected to
            try:
                reader, writer = await asyncio.open_connection(address, port)
                return reader, writer, False
            except OSError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def _connect(
        self, host: str, port: int, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool] | None:
        """`_open`, or None once the browser has been answered why not (403 refused, 502 unreachable)."""
        try:
            return await self._open(host, port)
        except AddressRefused as refusal:
            self.refusals[host.lower()] = refusal
            await _answer(writer, 403, str(refusal), refused=True)
        except (OSError, httpcore.ConnectError) as exc:  # unreachable, or a name that does not resolve
            reason = f"cannot connect to {host}:{port}: {getattr(exc, 'strerror', None) or exc}"
            log.info("browser proxy: %s", reason)
            await _answer(writer, 502, reason)
        return None

    async def _tunnel(
        self, host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        opened = await self._connect(host, port, writer)
        if opened is None:
            return
        upstream_reader, upstream_writer, through_upstream = opened
        if through_upstream:
            upstream_writer.write(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
            upstream_writer.write(self._authorization() + b"\r\n")
            await upstream_writer.drain()
            answer = await upstream_reader.readuntil(b"\r\n\r\n")
            writer.write(answer)  # the upstream proxy's own answer, 200 or its refusal
            await writer.drain()
            if b" 200 " not in answer.split(b"\r\n", 1)[0] + b" ":
                upstream_writer.close()
                return
        else:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        await _pipe(reader, writer, upstream_reader, upstream_writer)

    async def _forward(
        self,
        host: str,
        port: int,
        method: str,
        target: str,
        version: str,
        header_block: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        opened = await self._connect(host, port, writer)
        if opened is None:
            return
        upstream_reader, upstream_writer, through_upstream = opened
        url = urlsplit(target)
        origin_form = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = [
            line
            for line in header_block.split("\r\n")
            if line
            and line.split(":", 1)[0].strip().lower() not in ("connection", "proxy-connection", "keep-alive")
        ]
        # One request per connection: the connection closes after the answer, then both sides do.
        first = f"{method} {target if through_upstream else origin_form} {version}"
        head = "\r\n".join([first, *headers, "Connection: close"]) + "\r\n"
        upstream_writer.write(head.encode("latin-1"))
        if through_upstream:
            upstream_writer.write(self._authorization())
        upstream_writer.write(b"\r\n")
        await upstream_writer.drain()
        await _pipe(reader, writer, upstream_reader, upstream_writer)

    def _authorization(self) -> bytes:
        if not self._upstream.username:
            return b""
        credentials = f"{unquote(self._upstream.username)}:{unquote(self._upstream.password or '')}"
        return b"Proxy-Authorization: Basic " + base64.b64encode(credentials.encode()) + b"\r\n"


async def _answer(writer: asyncio.StreamWriter, status: int, text: str, *, refused: bool = False) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    body = (text + "\n").encode()
    marker = f"{REFUSED_HEADER}: {text}\r\n" if refused else ""
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n{marker}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


async def _pipe(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    server_reader: asyncio.StreamReader,
    server_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until one side closes."""

    async def copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                target.write(chunk)
                await target.drain()
        finally:
            with contextlib.suppress(Exception):
                target.write_eof() if target.can_write_eof() else target.close()

    tasks = [
        asyncio.ensure_future(copy(client_reader, server_writer)),
        asyncio.ensure_future(copy(server_reader, client_writer)),
    ]
    try:
        # One side done (the server answered and closed, or the client left): the exchange is over.
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        server_writer.close()
        with contextlib.suppress(Exception):
            await server_writer.wait_closed()


def proxies_of(environment: Mapping[str, str]) -> dict[str, str]:
    """Proxy URLs by scheme (and `no`: the bypass list) from proxy variables, as curl reads them.

    The same rules as `urllib.request.getproxies_environment`, on a given mapping: lowercase
    names win over uppercase ones.
    """
    proxies: dict[str, str] = {}
    for name, value in sorted(environment.items(), key=lambda item: item[0].islower()):
        if value and name.lower().endswith("_proxy"):
            proxies[name.lower()[: -len("_proxy")]] = value
    return proxies


def bypasses_proxy(host: str, no_proxy: str) -> bool:
    """Whether `NO_PROXY` (comma-separated host names, domain suffixes, `*`) exempts `host`.

    As curl reads it: `example.com` and `.example.com` both match `example.com` and its subdomains;
    an entry's port, if any, is ignored; names compare without case.
    """
    host = host.lower().rstrip(".")
    for entry in no_proxy.lower().split(","):
        entry = entry.strip()
        if entry == "*":
            return True
        if entry.startswith("[") and "]" in entry:
            entry = entry[1 : entry.index("]")]
        elif entry.count(":") == 1:
            entry = entry.split(":", 1)[0]
        entry = entry.lstrip(".").rstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


_NOWHERE: socket.socket | None = None


def no_network() -> ProxySettings:
    """A proxy for the filters' browser contexts that refuses every connection.

    The routes serve the runner and the page and abort every request, but connections that are
    not requests go around them: WebSockets, preconnects, WebRTC over TCP. Through this proxy,
    each is refused at once: its port is held by a socket of this process that never listens, and
    `<-loopback>` keeps Chromium from going around a proxy for 127.0.0.1 and localhost.
    """
    global _NOWHERE
    if _NOWHERE is None:
        _NOWHERE = socket.socket()
        _NOWHERE.bind(("127.0.0.1", 0))
        atexit.register(_NOWHERE.close)  # held for the process's life, closed at its end
    port = _NOWHERE.getsockname()[1]
    return {"server": f"http://127.0.0.1:{port}", "bypass": "<-loopback>"}
