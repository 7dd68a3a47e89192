"""Fetch pages over HTTP: the fetcher that every terms goes through.

One `Fetcher` owns one `httpx.AsyncClient` and is shared by every fetch of a run. It is polite:
at most `concurrency` requests in flight overall, at most `per_host` per host, and at least
`host_delay` seconds between the starts of two requests to one host. Transient failures
(timeouts, connection errors, HTTP 429/500/502/503/504) are retried with exponential backoff and
full jitter, honouring `Retry-After`, within `max_attempts` and `retry_budget`.

Pages that need client scripts (`executeClientScripts: true`) are rendered by one headless
Chromium per `Fetcher` (`ota.fetch.browser`), started on the first such fetch, with at most
`browser_pages` pages open at once; when `executeClientScripts` is absent, the errors OTA sees as
bot blocking (HTTP 403, 406, 502, connection resets) are tried again with the browser.

Every failure is a `FetchError` whose message uses OTA's words (reports and issue labels match on
them), e.g. ``Received HTTP code 404 when trying to fetch 'URL'``.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from types import TracebackType
from typing import Self

import httpx

from ota.errors import FetchError, SettingsError
from ota.fetch.browser import Browser, Rendered, proxy_from_environment
from ota.fetch.codes import network_error_code
from ota.fetch.content import decode_text, is_text, mime_type_of
from ota.fetch.decoding import BoundedDecoder, TooLarge, TooManyEncodings
from ota.fetch.guard import AddressPolicy, AddressRefused, Resolver, refused_fetch, resolve
from ota.fetch.jsfilters import JavaScriptPrefilter, JsFilterTabs
from ota.fetch.pdftext import PdfTextPrefilter, PdfTextReader
from ota.fetch.proxy import bypasses_proxy, proxies_of
from ota.fetch.transport import GuardedTransport
from ota.settings import FetchSettings

DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: The encodings httpx decodes (brotli and zstd only with their optional packages, absent here).
_ACCEPT_ENCODING = "gzip, deflate"

HTML_ONLY = "htmlOnly"  # the `X-fetcher` of snapshots fetched without a browser
FULL_DOM = "fullDom"  # the `X-fetcher` of snapshots rendered by the browser
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
#: An attempt is not started with less time than this left in the page's `total_timeout`.
_MIN_ATTEMPT = 1.0
# OTA counts 403 and 406 as likely transient (bot blocking, retried at the end of the run or with
# a browser); repeating the same plain request seconds later only annoys the site, so no retry here.
TRANSIENT_STATUSES = RETRIED_STATUSES | {403, 406}
RETRIED_NETWORK_CODES = frozenset(
    {"ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"}
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Failures of plain HTTP that OTA takes for bot blocking and tries again with the browser.
BOT_BLOCKING_STATUSES = frozenset({403, 406, 502})
BOT_BLOCKING_CODE = "ECONNRESET"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Page:
    """A fetched document.

    `content` holds UTF-8 text for text types (whatever the page's own charset), raw bytes otherwise.
    """

    url: str
    final_url: str
    content: bytes
    mime_type: str
    fetcher: str
    fetched_at: datetime
    #: The HTTP status the page was served with (None: not known).
    status: int | None = None


@lru_cache(maxsize=1024)  # a fetch needs the same URL parsed for its host, its request and its pool
def _http_url(url: str) -> httpx.URL:
    """`url` parsed, or `httpx.InvalidURL` unless it is an absolute http(s) URL."""
    parsed = httpx.URL(url)
    if parsed.scheme not in DEFAULT_PORTS or not parsed.host:
        raise httpx.InvalidURL("only absolute http and https URLs can be fetched")
    return parsed


@lru_cache(maxsize=1024)
def host_key(url: str) -> str:
    """The politeness key of `url`: scheme, host name and port, e.g. ``https://example.com:443``.

    Raises `httpx.InvalidURL` unless `url` is an absolute http(s) URL.
    """
    parsed = _http_url(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port or DEFAULT_PORTS[parsed.scheme]}"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return max(0.0, (date - now).total_seconds())


class _Retry(Exception):
    """An attempt failed in a way worth retrying; carries the error to raise if we give up."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass
class _Host:
    slots: asyncio.Semaphore
    pacing: asyncio.Lock = field(default_factory=asyncio.Lock)  # serialises request starts
    next_start: float = float("-inf")


def tls_context(settings: FetchSettings) -> ssl.SSLContext:
    """The TLS context of every connection: the authorities named by the settings, else certifi's."""
    try:
        if settings.ca_file is not None or settings.ca_dir is not None:
            return ssl.create_default_context(cafile=settings.ca_file, capath=settings.ca_dir)
        return httpx.create_ssl_context(trust_env=False)
    except (OSError, ssl.SSLError) as exc:
        named = settings.ca_file or settings.ca_dir
        raise SettingsError(f"{named}: cannot be read as certificate authorities: {exc}") from exc


def _utc_now() -> datetime:
    return datetime.now(UTC)


def may_be_bot_blocking(error: FetchError) -> bool:
    """Whether OTA would try `error`'s page again with a browser (HTTP 403, 406, 502, ECONNRESET)."""
    return error.status in BOT_BLOCKING_STATUSES or BOT_BLOCKING_CODE in str(error)


def _tried(error: FetchError, attempts: int, seconds: float) -> FetchError:
    """`error`, its message saying how many attempts were made and for how long, when more than one."""
    if attempts == 1:
        return error
    message = f"{error} ({attempts} attempts in {seconds:.0f} s)"
    return FetchError(error.url, message, status=error.status, transient=error.transient)


def _status_error(url: str, status: int) -> FetchError:
    return FetchError(
        url,
        f"Received HTTP code {status} when trying to fetch '{url}'",
        status=status,
        transient=status in TRANSIENT_STATUSES,
    )


class Fetcher:
    """Fetch pages concurrently and politely, with HTTP clients and one browser for the whole run.

    Use as ``async with Fetcher(settings) as fetcher: page = await fetcher.fetch(url)``. The
    `transport`, `sleep`, `clock` (monotonic seconds), `now` (aware UTC datetime), `rand`
    (uniform in [0, 1)) and `resolver` (host name → addresses) parameters are seams for tests.
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        rand: Callable[[], float] = random.random,
        resolver: Resolver = resolve,
    ) -> None:
        self.settings = settings = settings or FetchSettings()
        self._sleep, self._clock, self._now, self._rand = sleep, clock, now, rand
        self._resolver = resolver
        #: Which addresses may be connected to (`ota.fetch.guard`).
        self.policy = AddressPolicy(
            allow_private=settings.allow_private_addresses, allowed_networks=settings.allowed_networks
        )
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._transport = transport
        # One small connection pool per host: httpcore scans every connection of a pool for each
        # request, so a single pool of `concurrency` connections costs O(concurrency) per request.
        # The TLS context (loading the CA bundle takes tens of ms) is shared by all of them, made
        # by the first https host (at once when the settings name authorities: an unreadable file
        # stops the run before it starts).
        self._tls: ssl.SSLContext | None = None
        if settings.ca_file is not None or settings.ca_dir is not None:
            self._tls = tls_context(settings)
        self._transports: dict[str, httpx.AsyncBaseTransport] = {}
        self._proxies = proxies_of(settings.proxy_environment)
        self._headers = httpx.Headers(
            {
                "User-Agent": settings.user_agent,
                "Accept": DEFAULT_ACCEPT,
                "Accept-Language": settings.accept_language,
                "Accept-Encoding": _ACCEPT_ENCODING,
                "Connection": "keep-alive",
            }
        )
        self._timeout = httpx.Timeout(settings.timeout, pool=None).as_dict()
        # No process yet: Chromium starts on the first fetch that needs it.
        self._browser = Browser(
            settings.browser_path,
            user_agent=settings.user_agent,
            accept_language=settings.accept_language,
            proxy=proxy_from_environment(settings.proxy_environment),
            ca_certificates=[path for path in (settings.ca_file, settings.ca_dir) if path is not None],
            sandbox=settings.browser_sandbox,
            policy=self.policy,
            resolver=resolver,
        )
        self._js_tabs: JsFilterTabs | None = None
        self._pdf_reader: PdfTextReader | None = None
        self._browser_pages = asyncio.Semaphore(settings.browser_pages)

    def _transport_for(self, key: str) -> httpx.AsyncBaseTransport:
        """The connection pool of one host (`key` from `host_key`), through its proxy if any.

        Requests go to the transport directly: an `httpx.AsyncClient` adds a cookie jar that it
        updates after every response (cookies matter only along a redirect chain, which `_get`
        keeps itself) and layers for auth, redirects and hooks that ota does not use; they were
        a fifth of the CPU of a fetch.
        """
        if self._transport is not None:
            return self._transport
        transport = self._transports.get(key)
        if transport is None:
            scheme, _, host_port = key.partition("://")
            host = host_port.rsplit(":", 1)[0].strip("[]")
            proxy = None
            if not bypasses_proxy(host, self._proxies.get("no", "")):
                proxy = self._proxies.get(scheme) or self._proxies.get("all")
            pool = self.settings.per_host + 1
            transport = self._transports[key] = GuardedTransport(
                ssl_context=self._tls_context() if scheme == "https" else None,  # plain http needs none
                connections=pool,
                policy=self.policy,
                proxy=proxy,
                resolver=self._resolver,
            )
        return transport

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = tls_context(self.settings)
        return self._tls

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP clients and their connections, and the browser if it was started."""
        transports, self._transports = list(self._transports.values()), {}
        if self._transport is not None:
            transports.append(self._transport)
        try:
            for transport in transports:
                await transport.aclose()
            if self._js_tabs is not None:
                await self._js_tabs.aclose()
            if self._pdf_reader is not None:
                await self._pdf_reader.aclose()
        finally:
            await self._browser.aclose()

    def javascript_filters(self, *, timeout: float) -> JavaScriptPrefilter:
        """What runs JavaScript filters in this fetcher's browser (started on the first filter)."""
        if self._js_tabs is None:
            self._js_tabs = JsFilterTabs(self._browser, size=min(2, self.settings.browser_pages))
        return JavaScriptPrefilter(self._js_tabs, timeout=timeout)

    def prefilter(self, *, timeout: float, read_pdfs: bool = True) -> PdfTextPrefilter | JavaScriptPrefilter:
        """What prepares a terms' pages in this fetcher's browser before extraction: PDFs read by
        pdf.js (the engine's text; unless `read_pdfs` is False: pdfminer's readable text), then
        JavaScript filters. The browser starts on the first PDF or filter; `timeout` bounds each."""
        javascript = self.javascript_filters(timeout=timeout)
        if not read_pdfs:
            return javascript
        if self._pdf_reader is None:
            self._pdf_reader = PdfTextReader(self._browser, timeout=timeout)
        return PdfTextPrefilter(self._pdf_reader, then=javascript)

    async def fetch(
        self, url: str, *, execute_client_scripts: bool | None = False, wait_for: tuple[str, ...] = ()
    ) -> Page:
        """Fetch `url` and return the page, or raise `FetchError` in OTA's words.

        `execute_client_scripts` is the declaration's `executeClientScripts`: True renders the page
        in the browser, waiting up to `browser_wait` seconds for the `wait_for` selectors to have
        text; False fetches over plain HTTP only; None (the declaration says nothing) fetches over
        plain HTTP and, on what may be bot blocking (HTTP 403, 406, 502, connection reset), again
        with the browser. The default is False: a bare `fetch(url)` never starts a browser.
        """
        if execute_client_scripts:
            return await self._fetch_with_browser(url, wait_for)
        try:
            return await self._fetch_html_only(url)
        except FetchError as error:
            if execute_client_scripts is False or not may_be_bot_blocking(error):
                raise
            try:
                return await self._fetch_with_browser(url, wait_for)
            except FetchError as browser_error:
                if self._browser.unavailable:  # no fallback to be had: the plain failure says most
                    raise error from browser_error
                raise

    async def _fetch_with_browser(self, url: str, wait_for: tuple[str, ...]) -> Page:
        settings = self.settings
        try:
            key = host_key(url)
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"Invalid URL '{url}': {exc}") from exc
        async with self._slot(key, self._browser_pages):
            rendered = await self._browser.render(
                url, wait_for=wait_for, timeout=settings.timeout, wait=settings.browser_wait
            )
        if not (200 <= rendered.status < 300 or rendered.status == 304):  # as OTA's browser fetcher
            raise _status_error(url, rendered.status)
        return self._rendered_page(url, rendered)

    def _rendered_page(self, url: str, rendered: Rendered) -> Page:
        limit = self.settings.max_size
        if len(rendered.body) > limit:
            raise FetchError(url, f"Response exceeds the maximum size of {limit} bytes: '{url}'")
        if rendered.rendered:
            mime_type, content = "text/html", rendered.body
        else:
            mime_type = mime_type_of(rendered.content_type, rendered.body)
            content = rendered.body
            if is_text(mime_type):
                content = decode_text(rendered.body, rendered.content_type).encode("utf-8")
        if not content:
            raise FetchError(url, f"Received an empty content when fetching '{url}'")
        return Page(
            url=url,
            final_url=rendered.final_url,
            content=content,
            mime_type=mime_type,
            fetcher=FULL_DOM,
            fetched_at=self._now().replace(microsecond=0),
            status=rendered.status,
        )

    async def _fetch_html_only(self, url: str) -> Page:
        settings = self.settings
        try:
            key = host_key(url)
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"Invalid URL '{url}': {exc}") from exc
        waited = spent = 0.0  # seconds waiting between attempts; seconds of attempts and waits
        for attempt in range(1, settings.max_attempts + 1):
            budget = min(settings.timeout, settings.total_timeout - spent)
            try:
                async with self._slot(key):  # waiting for a slot is politeness, not this page's time
                    started = self._clock()
                    try:
                        return await self._attempt(url, budget)
                    finally:
                        spent += self._clock() - started
            except _Retry as retry:
                remaining = settings.retry_budget - waited
                if retry.retry_after is not None:
                    delay = retry.retry_after
                else:
                    delay = min(remaining, settings.backoff_base * 2 ** (attempt - 1) * self._rand())
                least = min(_MIN_ATTEMPT, settings.timeout / 4)  # worth starting another attempt
                out_of_time = spent + delay + least > settings.total_timeout
                if attempt == settings.max_attempts or delay > remaining or remaining <= 0 or out_of_time:
                    raise _tried(retry.error, attempt, spent) from retry.__cause__
                # No slot is held here: other fetches to this host go on while this one waits.
                await self._sleep(delay)
                waited += delay
                spent += delay
        raise AssertionError("unreachable: the last attempt returns or raises")

    @asynccontextmanager
    async def _slot(self, key: str, pages: asyncio.Semaphore | None = None) -> AsyncIterator[None]:
        """Hold a per-host and a global slot, the request start spaced from the previous one.

        A browser fetch also holds one of the browser's `pages`, taken before the global slot so
        that fetches queued for the browser do not hold back plain ones.
        """
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(asyncio.Semaphore(self.settings.per_host))
        page_slot: AbstractAsyncContextManager[object] = pages if pages is not None else nullcontext()
        # Per host first, so that requests queued for a busy host do not hold global slots.
        async with host.slots, page_slot:
            async with host.pacing:
                wait = host.next_start - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                await self._global.acquire()
                host.next_start = self._clock() + self.settings.host_delay
            try:
                yield
            finally:
                self._global.release()

    async def _attempt(self, url: str, timeout: float) -> Page:
        """One attempt, redirects included, within `timeout` seconds; raises `_Retry` or `FetchError`."""
        try:
            async with asyncio.timeout(timeout):
                return await self._get(url)
        except (TimeoutError, httpx.TimeoutException) as exc:
            seconds = f"{round(timeout, 1):g}"
            error = FetchError(
                url, f"Timed out after {seconds} seconds when trying to fetch '{url}'", transient=True
            )
            raise _Retry(error) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise FetchError(url, f"Invalid URL '{url}': {exc}") from exc
        except httpx.RequestError as exc:  # transport and decoding errors
            code = network_error_code(exc)
            message = f"Network system error {code} occurred when trying to fetch '{url}'"
            error = FetchError(url, message, transient=code in RETRIED_NETWORK_CODES)
            if error.transient:
                raise _Retry(error) from exc
            raise error from exc

    async def _get(self, url: str) -> Page:
        jar: httpx.Cookies | None = None  # cookies set along a redirect chain, for that chain only
        current = url
        transport = self._transport_for(host_key(url))
        extensions = {"timeout": self._timeout}
        for hop in range(self.settings.max_redirects + 1):
            request = httpx.Request("GET", _http_url(current), headers=self._headers, extensions=extensions)
            if jar is not None:
                jar.set_cookie_header(request)
            try:
                response = await transport.handle_async_request(request)
            except AddressRefused as exc:
                raise refused_fetch(url, current, exc) from exc
            response.request = request
            try:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    if hop == self.settings.max_redirects:
                        raise FetchError(url, f"maximum redirect reached at: {current}")
                    jar = jar if jar is not None else httpx.Cookies()
                    jar.extract_cookies(response)
                    current = self._redirect_target(url, response.url, location)
                    continue
                fetched_at = self._now().replace(microsecond=0)
                self._check_status(url, response)
                body = await self._read(url, response)
            finally:
                await response.aclose()
            return self._page(url, response, body, fetched_at)
        raise AssertionError("unreachable: the last hop returns or raises")

    @staticmethod
    def _redirect_target(url: str, base: httpx.URL, location: str) -> str:
        try:
            return str(_http_url(str(base.join(location))))
        except httpx.InvalidURL as exc:
            message = f"Invalid redirect location '{location}' when trying to fetch '{url}'"
            raise FetchError(url, message) from exc

    def _check_status(self, url: str, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        error = _status_error(url, status)
        if status in RETRIED_STATUSES:
            raise _Retry(error, parse_retry_after(response.headers.get("retry-after"), self._now()))
        raise error

    async def _read(self, url: str, response: httpx.Response) -> bytes:
        """The decompressed body, refusing more than `max_size` bytes (compressed or decoded)."""
        limit = self.settings.max_size
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(
                url, f"Response of {declared} bytes exceeds the maximum size of {limit} bytes: '{url}'"
            )
        too_large = f"Response exceeds the maximum size of {limit} bytes: '{url}'"
        if response.is_stream_consumed:  # read whole already (a test's transport): httpx decoded it
            if len(response.content) > limit:
                raise FetchError(url, too_large)
            return response.content
        try:
            # Decoded here, not by httpx: it inflates each layer of a stacked encoding whole.
            decoder = BoundedDecoder(response.headers.get("content-encoding", ""), limit)
        except TooManyEncodings as exc:
            raise FetchError(url, f"Response has {exc} when trying to fetch '{url}'") from exc
        chunks: list[bytes] = []
        try:
            async for raw in response.aiter_raw():
                chunks.extend(decoder.decode(raw))
            chunks.extend(decoder.flush())
        except TooLarge:
            raise FetchError(url, too_large) from None
        return b"".join(chunks)

    def _page(self, url: str, response: httpx.Response, body: bytes, fetched_at: datetime) -> Page:
        content_type = response.headers.get("content-type")
        mime_type = mime_type_of(content_type, body)
        content = decode_text(body, content_type).encode("utf-8") if is_text(mime_type) else body
        if not content:
            raise FetchError(url, f"Received an empty content when fetching '{url}'")
        return Page(
            url=url,
            final_url=str(response.url),
            content=content,
            mime_type=mime_type,
            fetcher=HTML_ONLY,
            fetched_at=fetched_at,
            status=response.status_code,
        )
