"""Tests of ota.fetch against real HTTP servers on 127.0.0.1 (nothing reaches the internet)."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import os
import socket
import ssl
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from ota.errors import FetchError, SettingsError
from ota.fetch import Fetcher, FetchMode, FetchSettings, Page
from ota.fetch.codes import chromium_error, network_error_code
from ota.fetch.content import detect_charset
from ota.fetch.http import host_key, parse_retry_after
from ota.settings import load_settings
from tests.bombs import gzip_bomb
from tests.conftest import fetch_settings
from tests.localserver import LocalServer, Reply, Stats

T = TypeVar("T")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer("a") as running:
        yield running


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


class SleepRecorder:
    """An injected sleep that records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def fetch(url: str, settings: FetchSettings | None = None, **seams: Any) -> Page:
    async def go() -> Page:
        async with Fetcher(settings or fetch_settings(), **seams) as fetcher:
            return await fetcher.fetch(url)

    return run(go())


def fetch_error(url: str, settings: FetchSettings | None = None, **seams: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, settings, **seams)
    return caught.value


def quick() -> FetchSettings:
    """Settings whose retries wait little."""
    return fetch_settings(backoff_base=0.01)


# Decoding


TEXT = "Conditions générales — 中文 𠀀 ©"  # 𠀀 is in GB18030, not in GBK


def charset_case(content_type: str, html: str, codec: str, case_id: str) -> Any:
    """A page whose `html` is sent encoded with `codec`, labelled by `content_type` or its own markup."""
    return pytest.param(content_type, html.encode(codec), html, id=case_id)


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        charset_case("text/html; charset=ISO-8859-1", "<p>générales</p>", "latin-1", "header"),
        charset_case('text/html; charset="Windows-1252"', "<p>générales — ©</p>", "cp1252", "header-quoted"),
        charset_case("text/html", '<meta charset="windows-1252"><p>générales</p>', "cp1252", "meta-charset"),
        charset_case(
            "text/html",
            '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis"><p>利用規約</p>',
            "shift_jis",
            "meta-http-equiv",
        ),
        charset_case(
            "application/xml",
            '<?xml version="1.0" encoding="ISO-8859-15"?><t>générales €</t>',
            "iso-8859-15",
            "xml-declaration",
        ),
        charset_case("text/html", f'<meta charset="gbk"><p>{TEXT}</p>', "gb18030", "gbk-as-gb18030"),
        charset_case("text/html; charset=GB2312", f"<p>{TEXT}</p>", "gb18030", "gb2312-as-gb18030"),
        charset_case("text/html", f"<p>{TEXT}</p>", "utf-8", "none-is-utf8"),
        charset_case("text/html; charset=x-unknown", f"<p>{TEXT}</p>", "utf-8", "unknown-is-utf8"),
        charset_case("text/plain; charset=iso-8859-1", f"\ufeff{TEXT}", "utf-8", "bom-wins-and-is-dropped"),
        charset_case("application/json", '{"é": "中"}', "utf-8", "json"),
    ],
)
def test_text_is_decoded_by_its_charset_and_stored_as_utf8(
    server: LocalServer, content_type: str, body: bytes, text: str
) -> None:
    """Whatever the declared charset, the page content is the same text in UTF-8."""
    server.reply("/page", Reply(headers={"Content-Type": content_type}, body=body))
    page = fetch(server.url("/page"))
    assert page.content == text.removeprefix("\ufeff").encode("utf-8")
    assert page.mime_type == content_type.split(";")[0].lower()


def test_detect_charset_prefers_the_header_then_the_first_1024_bytes() -> None:
    """The header wins over the body; declarations past 1024 bytes are not seen; odd names are refused."""
    assert detect_charset("text/html; charset=utf-8", b'<meta charset="latin1">') == "utf-8"
    assert detect_charset("text/html", b'<meta charset="latin1">') == "iso8859-1"
    assert detect_charset(None, b'<META HTTP-EQUIV="content-type" CONTENT="text/html;charset=KOI8-R">') == (
        "koi8-r"
    )
    assert detect_charset(None, b"<?xml version=\"1.0\" encoding='EUC-JP'?>") == "euc_jp"
    assert detect_charset(None, b" " * 1024 + b'<meta charset="latin1">') == "utf-8"
    assert detect_charset("text/html; charset=gbk", b"") == "gb18030"
    assert detect_charset("text/html; charset=base64", b"") == "utf-8"  # a codec, not a charset
    assert detect_charset(None, b'<meta charset="utf-16">') == "utf-8"  # as browsers do
    assert detect_charset("text/html; charset=unicode_escape", b"") == "utf-8"


def test_bad_bytes_become_replacement_characters(server: LocalServer) -> None:
    """Bytes invalid in the charset do not fail the fetch."""
    server.reply("/page", Reply(headers={"Content-Type": "text/html; charset=utf-8"}, body=b"<p>a\xffb</p>"))
    assert fetch(server.url("/page")).content == "<p>a\ufffdb</p>".encode()


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n\xff\xfe\x00"


def test_pdf_bytes_are_kept_raw(server: LocalServer) -> None:
    """Non-text responses are stored byte for byte."""
    server.reply("/terms.pdf", Reply(headers={"Content-Type": "Application/PDF"}, body=PDF))
    page = fetch(server.url("/terms.pdf"))
    assert (page.content, page.mime_type) == (PDF, "application/pdf")


def test_missing_content_type_is_sniffed(server: LocalServer) -> None:
    """Without Content-Type, `%PDF-` means a PDF and anything else HTML."""
    server.reply("/pdf", Reply(headers={}, body=PDF))
    server.reply("/html", Reply(headers={}, body="<p>é</p>".encode()))
    assert fetch(server.url("/pdf")).mime_type == "application/pdf"
    page = fetch(server.url("/html"))
    assert (page.mime_type, page.content) == ("text/html", "<p>é</p>".encode())


def test_page_records_urls_fetcher_and_second_precision_utc_date(server: LocalServer) -> None:
    """final_url follows redirects; fetched_at is the injected clock truncated to the second."""
    server.reply("/old", Reply(301, headers={"Location": "/new"}, body=b""))
    server.reply("/new", Reply())
    moment = datetime(2026, 6, 1, 12, 30, 45, 987654, tzinfo=UTC)
    page = fetch(server.url("/old"), now=lambda: moment)
    assert page.url == server.url("/old")
    assert page.final_url == server.url("/new")
    assert page.fetcher == "htmlOnly"
    assert page.fetched_at == moment.replace(microsecond=0)
    assert fetch(server.url("/new")).fetched_at.tzinfo is UTC


def test_request_headers_come_from_settings(server: LocalServer) -> None:
    """Accept-Language (a list is allowed) and a browser-like User-Agent naming ota are sent."""
    server.reply("/page", Reply())
    fetch(server.url("/page"), fetch_settings(accept_language="en-IE, en-GB, en"))
    headers = server.requests[0].headers
    assert headers["accept-language"] == "en-IE, en-GB, en"
    assert headers["user-agent"].startswith("Mozilla/5.0") and "ota" in headers["user-agent"]


def test_cookies_are_kept_along_redirects_but_not_between_fetches(server: LocalServer) -> None:
    """A cookie set by a redirect is sent to its target, and never to another fetch."""
    server.reply("/login", Reply(302, headers={"Location": "/page", "Set-Cookie": "consent=yes; Path=/"}))
    server.reply("/page", Reply())

    async def go() -> None:
        async with Fetcher(fetch_settings()) as fetcher:
            await fetcher.fetch(server.url("/login"))
            await fetcher.fetch(server.url("/page"))

    run(go())
    assert [hit.headers.get("cookie") for hit in server.requests] == [None, "consent=yes", None]


def test_proxies_are_taken_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY carries plain-HTTP fetches (absolute-form requests); NO_PROXY hosts go direct."""
    with LocalServer("proxy") as proxy, LocalServer("direct") as direct:
        proxy.reply("http://terms.example/tos", Reply(body=b"<p>through the proxy</p>"))
        direct.reply("/page", Reply(body=b"<p>direct</p>"))
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        settings = load_settings(environ=os.environ).fetch  # the environment is read there, once
        assert fetch("http://terms.example/tos", settings).content == b"<p>through the proxy</p>"
        assert fetch(direct.url("/page"), settings).content == b"<p>direct</p>"
        monkeypatch.delenv("NO_PROXY")
        settings = load_settings(environ=os.environ).fetch
        proxy.reply(direct.url("/page"), Reply(body=b"<p>proxied</p>"))
        assert fetch(direct.url("/page"), settings).content == b"<p>proxied</p>"  # not excepted any more
        assert fetch(direct.url("/page"), fetch_settings(proxy_environment={})).content == b"<p>direct</p>"
    assert [hit.path for hit in proxy.requests] == ["http://terms.example/tos", direct.url("/page")]
    assert [hit.path for hit in direct.requests] == ["/page", "/page"]


# Failures


def test_http_error_status_has_otas_message_and_is_not_retried(server: LocalServer) -> None:
    """A 404 fails at once with OTA's message."""
    url = server.url("/missing")
    error = fetch_error(url, quick())
    assert str(error) == f"Received HTTP code 404 when trying to fetch '{url}'"
    assert (error.status, error.transient, error.url) == (404, False, url)
    assert server.hits["/missing"] == 1


@pytest.mark.parametrize("status", [403, 406])
def test_bot_blocking_statuses_are_transient_but_not_retried(server: LocalServer, status: int) -> None:
    """403 and 406 are worth another try later in the run, not seconds later."""
    server.reply("/page", Reply(status))
    error = fetch_error(server.url("/page"), quick())
    assert (error.status, error.transient, server.hits["/page"]) == (status, True, 1)


def test_empty_content(server: LocalServer) -> None:
    """An empty body is an error in OTA's words."""
    server.reply("/empty", Reply(body=b""))
    url = server.url("/empty")
    assert str(fetch_error(url)) == f"Received an empty content when fetching '{url}'"


def test_connection_refused() -> None:
    """A closed port is reported with Node's code, as a transient failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    error = fetch_error(url, fetch_settings(max_attempts=1))
    assert str(error) == f"Network system error ECONNREFUSED occurred when trying to fetch '{url}'"
    assert error.transient


def test_connection_reset_is_retried(server: LocalServer) -> None:
    """A server hanging up without answering is ECONNRESET, retried like other transient failures."""
    server.routes["/flaky"] = lambda hit: Reply(reset=True) if hit.count == 1 else Reply()
    sleep = SleepRecorder()
    assert fetch(server.url("/flaky"), quick(), sleep=sleep).content == b"<p>Hello</p>"
    assert server.hits["/flaky"] == 2 and len(sleep.delays) == 1

    server.reply("/gone", Reply(reset=True))
    url = server.url("/gone")
    error = fetch_error(url, fetch_settings(max_attempts=1))
    assert str(error) == f"Network system error ECONNRESET occurred when trying to fetch '{url}'"


def test_timeout_message_uses_the_configured_seconds(server: LocalServer) -> None:
    """A server slower than the timeout fails with OTA's message."""
    server.reply("/slow", Reply(delay=0.5))
    url = server.url("/slow")
    error = fetch_error(url, fetch_settings(timeout=0.1, max_attempts=1))
    assert str(error) == f"Timed out after 0.1 seconds when trying to fetch '{url}'"
    assert error.transient


def test_corrupt_compressed_body(server: LocalServer) -> None:
    """A body that does not inflate is reported as Node does (Z_DATA_ERROR), not retried."""
    server.reply("/page", Reply(headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    url = server.url("/page")
    error = fetch_error(url, quick())
    assert str(error) == f"Network system error Z_DATA_ERROR occurred when trying to fetch '{url}'"
    assert not error.transient and server.hits["/page"] == 1


def test_compressed_body_is_inflated(server: LocalServer) -> None:
    """gzip content encoding is undone before decoding the text."""
    body = gzip.compress("<p>générales</p>".encode("latin-1"))
    headers = {"Content-Type": "text/html; charset=latin-1", "Content-Encoding": "gzip"}
    server.reply("/page", Reply(headers=headers, body=body))
    assert fetch(server.url("/page")).content == "<p>générales</p>".encode()


def test_stacked_compression_is_decoded_with_every_layer_bounded(server: LocalServer) -> None:
    """`Content-Encoding: gzip, gzip`: the size bound applies to the decoded body as it grows, so a
    stacked bomb (64 MiB of zeros in 2 kB) fails naming the URL with a few chunks in memory, not the
    whole inner layer inflated at once; a real page compressed twice is decoded."""
    bomb = gzip_bomb(64 << 20, layers=2)
    headers = {"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"}
    server.reply("/bomb", Reply(headers=headers, body=bomb))
    url = server.url("/bomb")
    tracemalloc.start()
    try:
        error = fetch_error(url, fetch_settings(max_size=1 << 20, max_attempts=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error) == f"Response exceeds the maximum size of {1 << 20} bytes: '{url}'"
    assert peak < 8 << 20, f"{peak} bytes allocated at the peak"

    page = "<p>générales</p>".encode()
    twice = gzip.compress(zlib.compress(page))  # deflate (zlib's format), then gzip
    server.reply(
        "/twice",
        Reply(headers={"Content-Type": "text/html", "Content-Encoding": "deflate, gzip"}, body=twice),
    )
    assert fetch(server.url("/twice")).content == page
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # deflate as some servers send it
    server.reply(
        "/raw",
        Reply(
            headers={"Content-Type": "text/html", "Content-Encoding": "deflate"},
            body=raw.compress(page) + raw.flush(),
        ),
    )
    assert fetch(server.url("/raw")).content == page

    server.reply(
        "/layers", Reply(headers={"Content-Type": "text/html", "Content-Encoding": ", ".join(["gzip"] * 6)})
    )
    url = server.url("/layers")
    error = fetch_error(url)
    assert str(error) == f"Response has 6 content encodings (at most 5) when trying to fetch '{url}'"


def test_unusable_settings_are_refused() -> None:
    """A zero limit would block every fetch forever: refused when the settings are built."""
    with pytest.raises(SettingsError, match="per_host"):
        fetch_settings(per_host=0)
    with pytest.raises(SettingsError, match="timeout"):
        fetch_settings(timeout=-1)


def test_too_many_redirects(server: LocalServer) -> None:
    """Following stops after max_redirects, naming the URL that redirected once too often."""
    server.routes["/loop"] = lambda hit: Reply(302, headers={"Location": f"/loop?{len(server.requests)}"})
    error = fetch_error(server.url("/loop"), fetch_settings(max_redirects=3))
    assert str(error) == f"maximum redirect reached at: {server.url('/loop?3')}"
    assert not error.transient
    assert server.hits == Counter({"/loop": 4})  # the first request and 3 redirects followed


def test_redirect_to_a_non_http_url_fails(server: LocalServer) -> None:
    """A redirect to another scheme is an error, not a crash."""
    server.reply("/page", Reply(302, headers={"Location": "ftp://example.com/"}))
    url = server.url("/page")
    message = f"Invalid redirect location 'ftp://example.com/' when trying to fetch '{url}'"
    assert str(fetch_error(url)) == message


@pytest.mark.parametrize("url", ["ftp://example.com/", "http://", "not a url"])
def test_invalid_url(url: str) -> None:
    """URLs that cannot be fetched fail without a request, not transient."""
    error = fetch_error(url)
    assert str(error).startswith(f"Invalid URL '{url}'") and not error.transient


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_size_cap(server: LocalServer, declared: bool) -> None:
    """A body over max_size fails, naming the URL and the limit, whether declared or streamed."""
    body = b"x" * 5000
    headers = {"Content-Type": "text/html"} | ({"Content-Length": "5000"} if declared else {})
    server.reply("/big", Reply(headers=headers, body=body, length=declared))
    url = server.url("/big")
    error = fetch_error(url, fetch_settings(max_size=4096))
    assert url in str(error) and "4096 bytes" in str(error)
    assert not error.transient
    assert fetch(url, fetch_settings(max_size=5000)).content == body


def test_large_response_headers_are_accepted(server: LocalServer) -> None:
    """A 20 KiB response header (over h11's 16 KiB default) is read; httpcore allows 100 KiB."""
    server.reply("/page", Reply(headers={"Content-Type": "text/html", "X-Large": "a" * 20 * 1024}))
    assert fetch(server.url("/page")).content == b"<p>Hello</p>"


def test_network_error_codes_name_the_cause() -> None:
    """Low-level causes anywhere in the chain map to the codes OTA's users know."""

    def chained(cause: BaseException) -> httpx.ConnectError:
        try:
            try:
                raise cause
            except BaseException as exc:
                raise httpx.ConnectError("failed") from exc
        except httpx.ConnectError as error:
            return error

    expired = ssl.SSLCertVerificationError(1, "certificate verify failed")
    expired.verify_code = 10
    assert network_error_code(chained(expired)) == "CERT_HAS_EXPIRED"
    assert network_error_code(chained(socket.gaierror(socket.EAI_NONAME, "unknown"))) == "ENOTFOUND"
    assert network_error_code(chained(socket.gaierror(socket.EAI_AGAIN, "again"))) == "EAI_AGAIN"
    group = ExceptionGroup("all failed", [OSError(113, "No route to host")])
    assert network_error_code(chained(group)) == "EHOSTUNREACH"
    assert network_error_code(httpx.RemoteProtocolError("Receive buffer too long")) == "HPE_HEADER_OVERFLOW"
    assert network_error_code(httpx.RemoteProtocolError("LocalServer disconnected")) == "ECONNRESET"


def test_host_key_includes_scheme_host_and_port() -> None:
    """Politeness applies per scheme, host name and port."""
    assert host_key("https://Example.com/a?b") == "https://example.com:443"
    assert host_key("http://example.com:8080/") == "http://example.com:8080"
    with pytest.raises(httpx.InvalidURL):
        host_key("mailto:someone@example.com")


# Retries


def test_503_twice_then_200_succeeds(server: LocalServer) -> None:
    """Transient statuses are retried with growing, jittered delays."""
    server.routes["/page"] = lambda hit: Reply(503) if hit.count <= 2 else Reply()
    sleep = SleepRecorder()
    page = fetch(server.url("/page"), fetch_settings(backoff_base=1.0), sleep=sleep, rand=lambda: 0.5)
    assert page.content == b"<p>Hello</p>"
    assert server.hits["/page"] == 3
    assert sleep.delays == [0.5, 1.0]  # full jitter: rand × base × 2^(attempt-1)


def test_retry_after_is_honoured(server: LocalServer) -> None:
    """A 429 with Retry-After: 1 waits that second before the next attempt."""
    server.routes["/page"] = lambda hit: (
        Reply(429, headers={"Retry-After": "1"}, body=b"") if hit.count == 1 else Reply()
    )
    sleep = SleepRecorder()
    assert fetch(server.url("/page"), quick(), sleep=sleep).content == b"<p>Hello</p>"
    assert sleep.delays == [1.0]


def test_retry_after_beyond_the_budget_gives_up_at_once(server: LocalServer) -> None:
    """Waiting longer than the retry budget allows is pointless: fail now, transient."""
    server.reply("/page", Reply(503, headers={"Retry-After": "120"}))
    sleep = SleepRecorder()
    error = fetch_error(server.url("/page"), fetch_settings(retry_budget=60), sleep=sleep)
    assert (error.status, error.transient) == (503, True)
    assert sleep.delays == [] and server.hits["/page"] == 1


def test_retry_budget_bounds_the_total_wait(server: LocalServer) -> None:
    """Backoff delays are cut to what remains of the budget, then the fetch fails."""
    server.reply("/page", Reply(500))
    sleep = SleepRecorder()
    settings = fetch_settings(max_attempts=10, retry_budget=15, backoff_base=10)
    error = fetch_error(server.url("/page"), settings, sleep=sleep, rand=lambda: 1.0)
    assert (
        str(error)
        == f"Received HTTP code 500 when trying to fetch '{server.url('/page')}' (3 attempts in 15 s)"
    )
    assert sleep.delays == [10, 5]
    assert server.hits["/page"] == 3


def test_total_timeout_bounds_the_whole_fetch_of_a_page(server: LocalServer) -> None:
    """A host that never answers costs total_timeout, not max_attempts × timeout, and the message
    says how long ota waited and how many attempts it made."""
    server.reply("/page", Reply(delay=5))
    settings = fetch_settings(timeout=0.4, total_timeout=1.0, max_attempts=10, backoff_base=0.01)
    error = fetch_error(server.url("/page"), settings)
    assert str(error).startswith("Timed out after ")
    assert f" seconds when trying to fetch '{server.url('/page')}' (" in str(error)
    assert str(error).endswith(" attempts in 1 s)")
    assert 2 <= server.hits["/page"] <= 3


def test_max_attempts_bounds_the_attempts(server: LocalServer) -> None:
    """A server that keeps failing is tried max_attempts times."""
    server.reply("/page", Reply(502))
    error = fetch_error(server.url("/page"), fetch_settings(max_attempts=3), sleep=SleepRecorder())
    assert (error.status, error.transient, server.hits["/page"]) == (502, True, 3)


def test_parse_retry_after() -> None:
    """Retry-After is delta-seconds or an HTTP-date; nonsense is ignored."""
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    later = now + timedelta(seconds=90)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), now) == 90.0
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_host_slot_is_released_while_waiting_to_retry(server: LocalServer) -> None:
    """With one slot per host, another fetch to that host completes while a retry waits."""
    server.routes["/flaky"] = lambda hit: Reply(503) if hit.count == 1 else Reply()
    server.reply("/other", Reply())

    async def go() -> None:
        other_done = asyncio.Event()

        async def sleep(delay: float) -> None:
            await other_done.wait()  # deadlocks if the retry kept the only slot

        async with Fetcher(fetch_settings(per_host=1), sleep=sleep) as fetcher:
            flaky = asyncio.create_task(fetcher.fetch(server.url("/flaky")))
            while not server.hits["/flaky"]:
                await asyncio.sleep(0.01)
            await fetcher.fetch(server.url("/other"))
            other_done.set()
            await flaky

    run(asyncio.wait_for(go(), timeout=120))  # a watchdog: a deadlock fails here, whatever the load
    assert [hit.path for hit in server.requests] == ["/flaky", "/other", "/flaky"]


# Politeness


def fetch_all(urls: list[str], settings: FetchSettings) -> float:
    """Fetch every URL at once; the elapsed seconds."""

    async def go() -> None:
        async with Fetcher(settings) as fetcher:
            await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    start = time.monotonic()
    run(go())
    return time.monotonic() - start


@pytest.fixture
def two_hosts() -> Iterator[tuple[LocalServer, LocalServer]]:
    """Two servers (two ports, so two hosts) answering after 0.2 s, sharing their statistics."""
    stats = Stats()
    with LocalServer("a", stats) as a, LocalServer("b", stats) as b:
        for running in (a, b):
            running.reply("/page", Reply(delay=0.2))
        yield a, b


def test_per_host_limit(two_hosts: tuple[LocalServer, LocalServer]) -> None:
    """20 fetches at once: 2 in flight per host, the two hosts served in parallel."""
    a, b = two_hosts
    urls = [server.url(f"/page?{i}") for i in range(10) for server in (a, b)]
    fetch_all(urls, fetch_settings(per_host=2))
    assert a.stats.max_in_flight == Counter({"a": 2, "b": 2})
    assert a.stats.max_total == 4  # both hosts at once, not taking turns


def test_global_concurrency_limit(two_hosts: tuple[LocalServer, LocalServer]) -> None:
    """No more than `concurrency` requests are in flight, whatever the hosts."""
    a, b = two_hosts
    urls = [server.url(f"/page?{i}") for i in range(6) for server in (a, b)]
    fetch_all(urls, fetch_settings(concurrency=3, per_host=10))
    assert a.stats.max_total == 3


def test_host_delay_spaces_request_starts() -> None:
    """host_delay is the least time between the starts of two requests to one host (virtual time:
    the fetcher's clock and sleep seams, so the test does not depend on the machine's load)."""
    now = 0.0
    starts: dict[str, list[float]] = {}

    async def sleep(seconds: float) -> None:
        nonlocal now
        now += seconds
        await asyncio.sleep(0)

    async def handler(request: httpx.Request) -> httpx.Response:
        starts.setdefault(request.url.host, []).append(now)
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<p>x</p>")

    async def go() -> None:
        settings = fetch_settings(per_host=4, host_delay=0.15)
        transport = httpx.MockTransport(handler)
        async with Fetcher(settings, transport=transport, sleep=sleep, clock=lambda: now) as fetcher:
            urls = [f"http://{host}/page?{i}" for i in range(4) for host in ("a.test", "b.test")]
            await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    run(go())
    for host in ("a.test", "b.test"):
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts[host])]
        assert len(gaps) == 3 and min(gaps) >= 0.15 - 1e-9, (host, starts[host])
    # The hosts are paced independently: b's first request does not wait for a's.
    assert starts["b.test"][0] < 0.15


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypassed"),
    [
        ("example.com", "example.com", True),
        ("www.example.com", "example.com", True),
        ("www.example.com", ".example.com", True),
        ("badexample.com", "example.com", False),
        ("Example.COM", "example.com:8080", True),
        ("127.0.0.1", "localhost, 127.0.0.1", True),
        ("::1", "[::1]:443", True),
        ("anything.org", "*", True),
        ("example.org", "", False),
    ],
)
def test_no_proxy_is_read_as_curl_reads_it(host: str, no_proxy: str, bypassed: bool) -> None:
    """NO_PROXY entries match a host and its subdomains, with or without a leading dot or a port."""
    from ota.fetch.proxy import bypasses_proxy

    assert bypasses_proxy(host, no_proxy) is bypassed


def test_the_fetch_mode_is_what_execute_client_scripts_says() -> None:
    """true renders in the browser, false is plain HTTP only, absent is plain HTTP then the browser."""
    assert [FetchMode.of(value) for value in (True, False, None)] == [
        FetchMode.BROWSER,
        FetchMode.HTTP,
        FetchMode.AUTO,
    ]


def test_chromium_errors_are_named_as_node_names_them() -> None:
    """A failed navigation's net::ERR_ code becomes Node's in OTA's words; its timeouts are timeouts."""
    url = "https://example.org/terms"
    refused = chromium_error(url, f"net::ERR_CONNECTION_REFUSED at {url}", 5)
    assert str(refused) == f"Network system error ECONNREFUSED occurred when trying to fetch '{url}'"
    assert refused.transient
    timeout = chromium_error(url, "net::ERR_TIMED_OUT", 7.5)
    assert str(timeout) == f"Timed out after 7.5 seconds when trying to fetch '{url}'" and timeout.transient
    other = chromium_error(url, "Target closed", 5)
    assert str(other) == f"Browser error when trying to fetch '{url}': Target closed" and not other.transient
