"""The address guard behind proxies: the guard's own proxy for Chromium answers every failure, and a
proxy chosen by the operator carries requests whose names do not resolve here. Every server is on
127.0.0.1 and names are answered by a resolver seam: no packet leaves loopback, not even DNS."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ota.errors import FetchError
from ota.fetch import Fetcher, FetchMode, Page
from ota.fetch.guard import AddressPolicy
from ota.fetch.proxy import GuardProxy
from tests.conftest import fetch_settings


async def knows_no_name(host: str, port: int) -> Sequence[str]:
    """The resolver of a network without DNS."""
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


async def exchange(proxy: GuardProxy, request: bytes) -> bytes:
    """Send `request` to the started `proxy`; what it answers before closing."""
    address = await proxy.start()
    host, port = address.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        await proxy.aclose()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"CONNECT nowhere.test:443 HTTP/1.1\r\nHost: nowhere.test:443\r\n\r\n",
        b"GET http://nowhere.test/terms HTTP/1.1\r\nHost: nowhere.test\r\n\r\n",
    ],
    ids=["connect", "plain"],
)
def test_a_name_that_does_not_resolve_is_a_502_and_one_log_line(
    request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Chromium asking for a host that does not resolve gets a 502 naming it, and the log one line,
    not asyncio's 'Unhandled exception in client_connected_cb' with httpcore's traceback."""
    caplog.set_level(logging.DEBUG)
    proxy = GuardProxy(AddressPolicy(), resolver=knows_no_name)

    answer = asyncio.run(exchange(proxy, request_bytes))

    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway\r\n"), answer
    assert b"cannot connect to nowhere.test" in answer
    lines = [record for record in caplog.records if record.levelno >= logging.INFO]
    assert [record.name for record in lines] == ["ota.fetch.proxy"], caplog.text
    assert "nowhere.test" in lines[0].getMessage() and lines[0].exc_info is None


class OriginProxy:
    """An HTTP proxy on 127.0.0.1 that answers every absolute-form request itself, as if it had
    fetched the page (it connects nowhere); `requests` are the URLs it was asked for."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                body = f"<html><body><main><p>Terms at {self.path}</p></main></body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def pages(self) -> list[str]:
        """The URLs asked for, but the favicon Chromium asks for by itself."""
        return [url for url in self.requests if not url.endswith("/favicon.ico")]

    def __enter__(self) -> OriginProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def resolving_only(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A resolver that knows the names of `table` and no other."""

    async def resolver(host: str, port: int) -> Sequence[str]:
        if host in table:
            return table[host]
        return await knows_no_name(host, port)

    return resolver


def fetched(urls: Sequence[str], proxy: OriginProxy, *, browser: bool = False) -> list[Page | FetchError]:
    """Each of `urls` fetched by one fetcher behind `proxy`, with the guard on."""
    settings = fetch_settings(
        allow_private_addresses=False, max_attempts=1, proxy_environment={"HTTP_PROXY": proxy.url}
    )

    async def one(fetcher: Fetcher, url: str) -> Page | FetchError:
        try:
            return await fetcher.fetch(url, mode=FetchMode.BROWSER if browser else FetchMode.HTTP)
        except FetchError as error:
            return error

    async def go() -> list[Page | FetchError]:
        async with Fetcher(settings, resolver=resolving_only({"intranet.test": ["10.0.0.5"]})) as fetcher:
            return [await one(fetcher, url) for url in urls]

    return asyncio.run(go())


@pytest.mark.parametrize(
    "browser", [False, pytest.param(True, marks=pytest.mark.browser)], ids=["plain", "browser"]
)
def test_behind_a_proxy_a_name_that_does_not_resolve_here_is_fetched_through_it(browser: bool) -> None:
    """On a network without DNS whose way out is a proxy, the proxy resolves the names: the guard
    does not require a local answer; numeric private targets and names that resolve here to private
    addresses are still refused, and the proxy is never asked for them."""
    if browser and not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed")
    refused = {
        "http://127.0.0.2/admin": "127.0.0.2 is a loopback address",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a cloud metadata address",
        "http://intranet.test/": "intranet.test (10.0.0.5) is a private address",
    }
    with OriginProxy() as proxy:
        page, *errors = fetched(["http://terms.test/tos", *refused], proxy, browser=browser)

    assert isinstance(page, Page), page
    assert b"Terms at http://terms.test/tos" in page.content
    for (url, refusal), error in zip(refused.items(), errors, strict=True):
        assert isinstance(error, FetchError), error
        assert str(error).startswith(f"Refused to fetch '{url}': {refusal}"), error
    assert proxy.pages() == ["http://terms.test/tos"]
