"""Fetching over plain HTTP: connection pools per host, redirects, retries, bounded bodies.

Transient failures (timeouts, connection errors, HTTP 429/500/502/503/504) are retried with
exponential backoff and full jitter, honouring `Retry-After`, within `max_attempts` and
`retry_budget`. Every failure is a `FetchError` whose message uses OTA's words (reports and
issue labels match on them), e.g. ``Received HTTP code 404 when trying to fetch 'URL'``.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

import httpx

from ota.errors import FetchError, SettingsError
from ota.fetch.backend import HTML_ONLY, Page, utc_now
from ota.fetch.codes import network_error_code
from ota.fetch.content import decode_text, is_text, mime_type_of
from ota.fetch.decoding import BoundedDecoder, TooLarge, TooManyEncodings
from ota.fetch.guard import AddressPolicy, AddressRefused, Resolver, refused_fetch, resolve
from ota.fetch.politeness import Politeness
from ota.fetch.proxy import bypasses_proxy, proxies_of
from ota.fetch.transport import GuardedTransport
from ota.settings import FetchSettings

DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: The encodings httpx decodes (brotli and zstd only with their optional packages, absent here).
_ACCEPT_ENCODING = "gzip, deflate"

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


def fetched_host_key(url: str) -> str:
    """`host_key` of a URL about to be fetched: a URL that is not absolute http(s) is a FetchError."""
    try:
        return host_key(url)
    except httpx.InvalidURL as exc:
        raise FetchError(url, f"Invalid URL '{url}': {exc}") from exc


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


def tls_context(settings: FetchSettings) -> ssl.SSLContext:
    """The TLS context of every connection: the authorities named by the settings, else certifi's."""
    try:
        if settings.ca_file is not None or settings.ca_dir is not None:
            return ssl.create_default_context(cafile=settings.ca_file, capath=settings.ca_dir)
        return httpx.create_ssl_context(trust_env=False)
    except (OSError, ssl.SSLError) as exc:
        named = settings.ca_file or settings.ca_dir
        raise SettingsError(f"{named}: cannot be read as certificate authorities: {exc}") from exc


def may_be_bot_blocking(error: FetchError) -> bool:
    """Whether OTA would try `error`'s page again with a browser (HTTP 403, 406, 502, ECONNRESET)."""
    return error.status in BOT_BLOCKING_STATUSES or BOT_BLOCKING_CODE in str(error)


def _tried(error: FetchError, attempts: int, seconds: float) -> FetchError:
    """`error`, its message saying how many attempts were made and for how long, when more than one."""
    if attempts == 1:
        return error
    message = f"{error} ({attempts} attempts in {seconds:.0f} s)"
    return FetchError(error.url, message, status=error.status, transient=error.transient)


def status_error(url: str, status: int) -> FetchError:
    """The error of an HTTP status outside 2xx, in OTA's words."""
    return FetchError(
        url,
        f"Received HTTP code {status} when trying to fetch '{url}'",
        status=status,
        transient=status in TRANSIENT_STATUSES,
    )


class HttpBackend:
    """The plain-HTTP backend: one small connection pool per host, each request in a polite slot.

    The `transport`, `sleep`, `clock`, `now`, `rand` and `resolver` parameters are seams for tests
    (`ota.fetch.client.Fetcher` says what each is).
    """

    def __init__(
        self,
        settings: FetchSettings,
        politeness: Politeness,
        *,
        policy: AddressPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
        rand: Callable[[], float] = random.random,
        resolver: Resolver = resolve,
    ) -> None:
        self.settings = settings
        self._politeness = politeness
        self._sleep, self._clock, self._now, self._rand = sleep, clock, now, rand
        self._resolver = resolver
        self._policy = policy
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
                policy=self._policy,
                proxy=proxy,
                resolver=self._resolver,
            )
        return transport

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = tls_context(self.settings)
        return self._tls

    async def aclose(self) -> None:
        """Close the connection pools."""
        transports, self._transports = list(self._transports.values()), {}
        if self._transport is not None:
            transports.append(self._transport)
        for transport in transports:
            await transport.aclose()

    async def fetch(self, url: str, *, wait_for: tuple[str, ...] = ()) -> Page:
        """Fetch `url` over plain HTTP, retrying what is transient (`wait_for` is for browsers)."""
        settings = self.settings
        key = fetched_host_key(url)
        waited = spent = 0.0  # seconds waiting between attempts; seconds of attempts and waits
        for attempt in range(1, settings.max_attempts + 1):
            budget = min(settings.timeout, settings.total_timeout - spent)
            try:
                # Waiting for a slot is politeness, not this page's time.
                async with self._politeness.slot(key):
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
        error = status_error(url, status)
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
