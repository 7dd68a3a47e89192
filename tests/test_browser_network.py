"""What a rendered page or a JavaScript filter can reach besides HTTP: WebRTC's UDP and WebSockets
must not go around the address guard (filters have no network at all). Every listener is on
127.0.0.1 and must receive nothing."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from ota.declarations import FilterRef, SourceDocument
from ota.errors import ExtractError, FetchError
from ota.fetch import Fetcher, FetchMode
from ota.fetch.browser import Browser
from ota.fetch.jsfilters import apply_js_filters
from ota.fetch.renderers import RendererWatch
from tests.conftest import CHROMIUM, SharedChromium, fetch_settings, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


class Listener:
    """A UDP socket and a TCP socket on 127.0.0.1 (one port number for both where it can), recording
    every datagram and connection they get."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen()
        self.tcp_port = self.tcp.getsockname()[1]
        self.received: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._datagrams), threading.Thread(target=self._connections)]

    def _datagrams(self) -> None:
        self.udp.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data, sender = self.udp.recvfrom(65536)
            except TimeoutError:
                continue
            self.received.append(f"{len(data)} bytes over UDP from {sender}")

    def _connections(self) -> None:
        self.tcp.settimeout(0.1)
        while not self._stop.is_set():
            try:
                connection, peer = self.tcp.accept()
            except TimeoutError:
                continue
            self.received.append(f"a TCP connection from {peer}")
            connection.close()

    def __enter__(self) -> Listener:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.5)  # datagrams still on their way
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as running:
        yield running


def peer_connection(port: int) -> str:
    """A script that asks STUN and TURN servers on 127.0.0.1:`port` for candidates and writes them
    into #done when gathering is over."""
    return f"""
    const servers = [{{urls: 'stun:127.0.0.1:{port}'}},
      {{urls: 'turn:127.0.0.1:{port}?transport=udp', username: 'u', credential: 'p'}}];
    const connection = new RTCPeerConnection({{iceServers: servers}});
    connection.createDataChannel('data');
    const candidates = [];
    await new Promise(resolve => {{
      connection.onicecandidate = event =>
        event.candidate ? candidates.push(event.candidate.candidate) : resolve();
      connection.createOffer().then(offer => connection.setLocalDescription(offer));
      setTimeout(resolve, 5000);
    }});
    """


def test_webrtc_in_a_rendered_page_sends_no_udp(httpserver: HTTPServer, listener: Listener) -> None:
    """A page rendered with executeClientScripts opening an RTCPeerConnection to STUN and TURN
    servers on 127.0.0.1 sends them nothing: WebRTC's UDP would go around the guard's proxy."""
    page = f"""<html><body><main id="terms">Terms</main><script type="module">
    {peer_connection(listener.port)}
    document.body.insertAdjacentHTML('beforeend', '<p id="done">' + candidates.length + ' candidates</p>');
    </script></body></html>"""
    httpserver.expect_request("/terms").respond_with_data(page, content_type="text/html")
    url = httpserver.url_for("/terms").replace("localhost", "127.0.0.1")
    settings = fetch_settings(
        allow_private_addresses=False, allowed_networks=("127.0.0.1/32",), browser_wait=10
    )

    async def go() -> Any:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, mode=FetchMode.BROWSER, wait_for=("#done",))

    rendered = asyncio.run(go())

    assert b'<p id="done">0 candidates</p>' in rendered.content
    assert listener.received == []


def run_filter(
    shared_chromium: SharedChromium, module: str, url: str = "https://example.com/terms", timeout: float = 20
) -> str:
    """`module`'s `probe` filter run on a small page, in the session's Chromium (started as ota
    starts its own, with the same flags)."""
    return shared_chromium.run(
        apply_js_filters(
            shared_chromium.browser,
            "<html><body><main>Terms</main></body></html>",
            url=url,
            module_source=module,
            module_name="Probe.filters.js",
            filters=(FilterRef("probe"),),
            document=SourceDocument(url, select=("main",)),
            timeout=timeout,
        )
    )


def test_webrtc_in_a_javascript_filter_sends_no_udp(
    listener: Listener, shared_chromium: SharedChromium
) -> None:
    """A filter opening an RTCPeerConnection to STUN and TURN servers on 127.0.0.1 sends nothing."""
    module = f"""export async function probe(document) {{
    {peer_connection(listener.port)}
    document.querySelector('main').dataset.candidates = candidates.length;
    }}"""

    result = run_filter(shared_chromium, module)

    assert 'data-candidates="0"' in result
    assert listener.received == []


def test_a_javascript_filter_opens_no_websocket_and_no_connection(
    listener: Listener, shared_chromium: SharedChromium
) -> None:
    """Filters run with no network at all: a WebSocket (ws: and wss:), a preconnect and an
    EventSource to a server on 127.0.0.1 never reach it; the filter sees them fail."""
    origin = f"127.0.0.1:{listener.tcp_port}"
    module = f"""export async function probe(document) {{
      const outcome = url => new Promise(resolve => {{
        const socket = new WebSocket(url);
        socket.onopen = () => resolve('open');
        socket.onerror = () => resolve('error');
        setTimeout(() => resolve('pending'), 5000);
      }});
      const link = window.document.createElement('link');
      link.rel = 'preconnect';
      link.href = 'http://{origin}/';
      window.document.head.append(link);
      new EventSource('http://{origin}/events');
      const results = [await outcome('ws://{origin}/'), await outcome('wss://{origin}/')];
      await new Promise(resolve => setTimeout(resolve, 1000));
      document.querySelector('main').dataset.sockets = results.join(' ');
    }}"""

    result = run_filter(shared_chromium, module)

    assert 'data-sockets="error error"' in result
    assert listener.received == []


# -- memory --------------------------------------------------------------------------------------------

ALLOCATING = {
    "buffers": "const kept = []; for (;;) { kept.push(new Uint8Array(1 << 24).fill(1)); await null; }",
    "objects": "const kept = []; for (;;) kept.push(new Array(1e6).fill(Math.random()));",
}


@pytest.mark.parametrize(
    ("allocation", "watch_mb", "reason"),
    [
        ("buffers", 256, "its renderer used more than 256 MB of memory and was stopped"),
        ("objects", 1 << 20, "its renderer crashed (as one does past 512 MB of JavaScript heap"),
    ],
)
def test_a_javascript_filter_allocating_in_a_loop_is_stopped_at_a_bound(
    allocation: str, watch_mb: int, reason: str
) -> None:
    """A filter filling array buffers (outside V8's heap) is stopped by the renderers' watch; one
    filling JavaScript arrays by V8's heap limit: either way its terms fails in one line, long
    before the filter's time runs out, and the next filter runs in a new renderer."""
    module = f"export async function probe(document) {{ {ALLOCATING[allocation]} }}"
    url = "https://example.com/terms"

    async def go() -> tuple[str, str]:
        chromium = Browser(CHROMIUM, user_agent="ota-test", accept_language="en")
        chromium.renderers = RendererWatch(watch_mb)
        options: dict[str, Any] = {
            "url": url,
            "module_name": "Probe.filters.js",
            "filters": (FilterRef("probe"),),
            "document": SourceDocument(url, select=("main",)),
            "timeout": 600,
        }
        try:
            with pytest.raises(ExtractError) as caught:
                await apply_js_filters(chromium, "<main>Terms</main>", module_source=module, **options)
            after = await apply_js_filters(
                chromium, "<main>Terms</main>", module_source="export function probe() {}", **options
            )
            return str(caught.value), after
        finally:
            await chromium.aclose()

    error, after = asyncio.run(go())

    assert error.startswith(
        f"The browser failed to run the JavaScript filters of 'Probe.filters.js' on '{url}': {reason}"
    ), error
    assert "<main>Terms</main>" in after


def test_a_rendered_page_allocating_in_a_loop_fails_its_fetch_in_one_line(httpserver: HTTPServer) -> None:
    """A page whose script fills array buffers (executeClientScripts) is stopped at the bound."""
    script = ALLOCATING["buffers"]
    page = f"<html><body><main>Terms</main><script type=module>{script}</script></body></html>"
    httpserver.expect_request("/terms").respond_with_data(page, content_type="text/html")
    url = httpserver.url_for("/terms")

    async def go() -> FetchError:
        async with Fetcher(fetch_settings(timeout=600)) as fetcher:
            fetcher._browser.renderers = RendererWatch(256)
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url, mode=FetchMode.BROWSER)
            return caught.value

    error = asyncio.run(go())

    stopped = "its renderer used more than 256 MB of memory and was stopped"
    assert str(error) == f"Browser error when trying to fetch '{url}': {stopped}"
