"""The fetcher that every terms goes through: a plain-HTTP backend and a browser backend.

One `Fetcher` is shared by every fetch of a run. It is polite (`ota.fetch.politeness`): at most
`concurrency` requests in flight overall, at most `per_host` per host, and at least `host_delay`
seconds between the starts of two requests to one host, whichever backend makes them. Plain HTTP
(`ota.fetch.http`) retries transient failures; pages that need client scripts
(`executeClientScripts: true`) are rendered by one headless Chromium per `Fetcher`
(`ota.fetch.rendering`), started on the first such fetch, with at most `browser_pages` pages open
at once; when `executeClientScripts` is absent, the errors OTA sees as bot blocking (HTTP 403, 406,
502, connection resets) are tried again with the browser.

`FetchMode` names which backend fetches a page; a new way of fetching is one more `Backend`
(`ota.fetch.backend`) in `Fetcher._backends`.

Every failure is a `FetchError` whose message uses OTA's words (reports and issue labels match on
them), e.g. ``Received HTTP code 404 when trying to fetch 'URL'``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Self

import httpx

from ota.declarations import SourceDocument
from ota.errors import FetchError
from ota.fetch.backend import Backend, FetchMode, Page, utc_now
from ota.fetch.browser import Browser, proxy_from_environment
from ota.fetch.guard import AddressPolicy, Resolver, resolve
from ota.fetch.http import HttpBackend, may_be_bot_blocking
from ota.fetch.jsfilters import JsFilterTabs
from ota.fetch.jsprefilter import JavaScriptPrefilter
from ota.fetch.pdftext import PdfTextPrefilter, PdfTextReader
from ota.fetch.politeness import Politeness
from ota.fetch.rendering import BrowserBackend
from ota.settings import FetchSettings


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
        now: Callable[[], datetime] = utc_now,
        rand: Callable[[], float] = random.random,
        resolver: Resolver = resolve,
    ) -> None:
        self.settings = settings = settings or FetchSettings()
        #: Which addresses may be connected to (`ota.fetch.guard`).
        self.policy = AddressPolicy(
            allow_private=settings.allow_private_addresses, allowed_networks=settings.allowed_networks
        )
        politeness = Politeness(settings, sleep=sleep, clock=clock)
        self._http = HttpBackend(
            settings,
            politeness,
            policy=self.policy,
            transport=transport,
            sleep=sleep,
            clock=clock,
            now=now,
            rand=rand,
            resolver=resolver,
        )
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
        self._rendering = BrowserBackend(settings, politeness, self._browser, now=now)
        #: The backend of each mode but AUTO (plain HTTP, then the browser).
        self._backends: dict[FetchMode, Backend] = {
            FetchMode.HTTP: self._http,
            FetchMode.BROWSER: self._rendering,
        }
        self._js_tabs: JsFilterTabs | None = None
        self._pdf_reader: PdfTextReader | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP clients and their connections, and the browser if it was started."""
        try:
            await self._http.aclose()
            await self._rendering.aclose()
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

    async def fetch_document(self, document: SourceDocument) -> Page:
        """The page of a declaration's source document, fetched as a tracking run fetches it: plain
        HTTP, or the browser when it says `executeClientScripts` (waiting for its `select` CSS
        selectors), with OTA's fallback to the browser on what looks like bot blocking."""
        return await self.fetch(
            document.location,
            mode=FetchMode.of(document.execute_client_scripts),
            wait_for=tuple(selector for selector in document.select if isinstance(selector, str)),
        )

    async def fetch(
        self, url: str, *, mode: FetchMode = FetchMode.HTTP, wait_for: tuple[str, ...] = ()
    ) -> Page:
        """Fetch `url` and return the page, or raise `FetchError` in OTA's words.

        `mode` says which backend fetches (`FetchMode.of` a declaration's `executeClientScripts`);
        the browser waits up to `browser_wait` seconds for the `wait_for` selectors to have text.
        The default is plain HTTP: a bare `fetch(url)` never starts a browser.
        """
        backend = self._backends[FetchMode.BROWSER if mode is FetchMode.BROWSER else FetchMode.HTTP]
        try:
            return await backend.fetch(url, wait_for=wait_for)
        except FetchError as error:
            if mode is not FetchMode.AUTO or not may_be_bot_blocking(error):
                raise
            try:
                return await self._backends[FetchMode.BROWSER].fetch(url, wait_for=wait_for)
            except FetchError as browser_error:
                if self._browser.unavailable:  # no fallback to be had: the plain failure says most
                    raise error from browser_error
                raise
