"""Run Open Terms Archive's JavaScript filters (`SERVICE_ID.filters.js`), unchanged, in Chromium.

OTA parses a page with jsdom (scripting off, the fetch URL as document URL) and calls each
declared filter on that DOM; a service's filters are an ES module. Here the same happens in a
headless Chromium, and the filtered document goes back, serialised, to the Python pipeline.

How a page is loaded, with no page script and no network:

- a tab of a fresh (or reused, see `JsFilterTabs`) browser context is routed: the top-level
  document is a blank *runner* page of the page's origin, with one ``<iframe
  sandbox="allow-same-origin">`` whose navigation to the page's URL is fulfilled with an empty
  document; every other request is aborted, and a ``Content-Security-Policy: default-src 'none'``
  header on that document stops the page's subresources (images, styles, frames, prefetches)
  before they are even requested; what is not a request (WebSockets, preconnects) goes to a proxy
  that refuses it (`ota.fetch.proxy.no_network`), and WebRTC sends no UDP
  (`ota.fetch.browser.CHROMIUM_FLAGS`);
- the snapshot's HTML is parsed by the runner and put in that document, cleared by
  `document.open`, and the document's URL set back to the page's with `history.replaceState`
  (`document.open` gives it the runner's); how, and why, is told in `ota.fetch.jsscripts`. The
  next page of the origin goes into the same frame: a navigation per page cost a third of the time
  of a page (the browser's work for a new frame, the body sent through the route);
- a sandbox without ``allow-scripts`` disables scripting for the page: its scripts, event handler
  attributes and ``javascript:`` URLs never run, and the HTML parser runs with the scripting flag
  off, so ``<noscript>`` content is markup, as jsdom and lexbor parse it. ``allow-same-origin``
  keeps the page's origin, so the runner may reach its DOM; ``document.URL``, ``<base>`` and
  ``link.href`` resolve as for the original page;
- the filters module is imported by the runner, whose scripting is on, from a ``blob:`` URL: a real
  ES module (exports, helpers, async functions, top-level await). A page whose scripting is off
  cannot import modules at all, not even from DevTools evaluation or an isolated world (Chromium
  rejects dynamic imports there), hence the two documents. The filters thus run in another realm
  than the page's DOM, as OTA's run in Node's realm on jsdom's DOM.

Each filter is one evaluation, bounded by `timeout`; a filter that does not return in time is
abandoned by closing its browser context, which ends a renderer stuck in a loop.

The filtered page is serialised as `page.content()` does, and parsed again by lexbor: a no-op
filter changes the Markdown of none of the 182 HTML source documents of the compatibility corpus.
One fix makes it so: the newline a parser drops after `<pre>`, `<textarea>` and `<listing>` is
given back. What still differs: elements nested more than 512 deep (Chromium's parser makes the
deeper ones siblings) and the obsolete `<plaintext>` (its closing tags become text).
"""

from __future__ import annotations

import asyncio
import base64
import json
import zlib
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import ada_url

from ota.errors import ExtractError
from ota.fetch.browser import CLOSE_TIMEOUT, Browser, BrowserUnavailable, first_line
from ota.fetch.jsscripts import LOAD, RUN, SERIALISE
from ota.fetch.proxy import no_network
from ota.settings import DEFAULT_EXTRACT_TIMEOUT

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, Route

    from ota.declarations import FilterRef, Selector, SourceDocument

#: Seconds for one filter: `[track] extract_timeout`, which every run passes (JavaScript filters
#: are part of a page's extraction).
DEFAULT_TIMEOUT = DEFAULT_EXTRACT_TIMEOUT
DEFAULT_TABS = 4
GRACE = 10.0  # seconds for loading the page and the module, and for serialising the result
RUNNER_PATH = "/.ota-js-filters"  # the runner page's path, on the page's origin
RUNNER_HTML = "<!DOCTYPE html><html><head><title>ota</title></head><body></body></html>"
# Subresources are refused by the browser before any request; DNS prefetching is off.
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'",
    "X-DNS-Prefetch-Control": "off",
}
BUILTIN_FILTERS_SOURCE = resources.files("ota.fetch").joinpath("builtin_filters.mjs").read_text("utf-8")


@dataclass(frozen=True)
class Filtered:
    """A page after its JavaScript filters, and whether they looked at their context.

    A filter is called with a context (`fetch`, `select`, `remove`, `filter`); when none looked at
    any of it, the page is what the same filters give on the same page whatever the declared
    `select` and `remove` (`ota.fetch.filterruns` reuses it so).
    """

    html: str
    read_context: bool


@dataclass
class _Load:
    """What the routes of a tab serve while one page is filtered."""

    url: str = ""
    runner_url: str = ""
    framing: bool = False  # while the page is loaded: the iframe's navigation may be served, once
    served: bool = False


class _Tab:
    """A browser context with one tab, routed to serve one page at a time and nothing else."""

    def __init__(self, browser: Browser, context: BrowserContext, tab: Page) -> None:
        self.browser = browser
        self.context = context
        self.tab = tab
        self.load = _Load()
        self.healthy = True

    @classmethod
    async def open(cls, browser: Browser) -> _Tab:
        chromium = await browser.started()
        context = await chromium.new_context(
            java_script_enabled=True,  # for the runner; the page's own scripting is off (sandbox)
            service_workers="block",
            accept_downloads=False,
            bypass_csp=False,
            proxy=no_network(),
        )
        try:
            tab = await context.new_page()
            opened = cls(browser, context, tab)
            await context.route("**/*", opened._route)
        except BaseException:
            with suppress(Exception):
                await asyncio.wait_for(context.close(), CLOSE_TIMEOUT)
            raise
        return opened

    async def _route(self, route: Route) -> None:
        """Serve the runner and the page, once each; refuse everything else."""
        load = self.load
        try:
            request = route.request
            if request.is_navigation_request():
                parent = request.frame.parent_frame
                if parent is None and request.url == load.runner_url:
                    await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=RUNNER_HTML)
                    return
                # The runner's only frame is the page's: its first navigation is the page (its URL as
                # Chromium canonicalises it); frames of the page itself come later.
                if parent is not None and load.framing and not load.served:
                    load.served = True
                    await route.fulfill(status=200, headers=PAGE_HEADERS, body="")
                    return
        except Exception:  # a tab closed meanwhile, or a request without a frame: refused below
            pass
        with suppress(Exception):
            # "aborted" (net::ERR_ABORTED): a frame whose navigation is refused keeps its document.
            await route.abort("aborted")

    async def close(self) -> None:
        with suppress(Exception):
            await asyncio.wait_for(self.context.close(), CLOSE_TIMEOUT)

    async def apply(
        self,
        html: str,
        *,
        url: str,
        module_source: str,
        module_name: str,
        filters: Sequence[FilterRef],
        document: SourceDocument,
        timeout: float,
    ) -> Filtered:
        """Load `html` as served from `url`, run `filters` and return the filtered document.

        After an error other than an `ExtractError` of the filters themselves, `healthy` is False
        and the tab must be closed (a renderer may still be busy in a filter).
        """
        from playwright.async_api import Error as PlaywrightError

        self.healthy = False
        stopped = self.browser.renderers.stopped
        try:
            result = await self._apply(html, url, module_source, module_name, filters, document, timeout)
        except _FilterError as exc:
            self.healthy = True
            raise ExtractError(str(exc)) from None
        except TimeoutError as exc:
            message = f"Timed out after {GRACE + timeout:g} seconds loading '{url}' to run {module_name!r}"
            raise ExtractError(message) from exc
        except PlaywrightError as exc:
            message = f"The browser failed to run the JavaScript filters of {module_name!r} on '{url}': "
            raise ExtractError(message + (self.browser.crash(exc, stopped) or first_line(exc))) from exc
        self.healthy = True
        return result

    async def _apply(
        self,
        html: str,
        url: str,
        module_source: str,
        module_name: str,
        filters: Sequence[FilterRef],
        document: SourceDocument,
        timeout: float,
    ) -> Filtered:
        self.load = load = _Load(url=url, runner_url=_runner_url(url), framing=True)
        async with asyncio.timeout(GRACE + timeout):  # the module's top-level code runs here
            if self.tab.url != load.runner_url:  # a runner is reused for pages of its origin
                await self.tab.goto(load.runner_url, wait_until="load")
            try:
                arguments = [url, _deflated(html), BUILTIN_FILTERS_SOURCE, module_source]
                loaded = await self.tab.evaluate(LOAD, arguments)
            finally:
                load.framing = False
        if loaded["created"] and not load.served:
            raise ExtractError(
                f"The page at '{url}' could not be loaded in the browser to run {module_name!r}"
            )
        if "error" in loaded:
            raise _FilterError(
                f"The JavaScript filters {module_name!r} could not be loaded: {loaded['error']}"
            )
        builtins, service = set(loaded["builtins"]), set(loaded["service"])
        for ref in filters:
            if ref.name not in builtins and ref.name not in service:
                valid = ", ".join(sorted(builtins | service))
                raise _FilterError(f'Unknown filter "{ref.name}"; the filters available are: {valid}')
        context = filter_context(document, filters)
        for ref in filters:
            parameters = _json(ref.parameters) if ref.has_parameters else None
            call = [ref.name, ref.name in builtins, ref.has_parameters, parameters, context]
            try:
                async with asyncio.timeout(timeout):
                    error = await self.tab.evaluate(RUN, call)
            except TimeoutError:
                raise ExtractError(
                    f'The filter function "{ref.name}" did not finish within {timeout:g} seconds'
                ) from None
            if error is not None:
                raise _FilterError(f'The filter function "{ref.name}" failed: {error}')
        async with asyncio.timeout(GRACE):
            result: dict[str, Any] = await self.tab.evaluate(SERIALISE)
        return Filtered(result["html"], bool(result["contextRead"]))


class _FilterError(Exception):
    """A filter failed or is unknown, or the module did not load: the tab is still usable."""


class JsFilterTabs:
    """Tabs of one `Browser` kept to run JavaScript filters, `size` pages at a time, one per tab.

    Reusing a tab saves creating a browser context and a renderer for every page, and a runner
    page is kept for the next page of its origin: an idle tab whose runner has the page's origin
    is taken, else a new tab is opened while fewer than `keep` are open, else (when `keep` is more
    than `size`) the tab of that origin in use is waited for, else the idle tab used least
    recently is navigated to the page's origin (a new runner, a new frame, and often a new
    renderer process: Chromium gives every site its own). Isolation is kept where it matters:
    every page is parsed afresh (`document.open` clears the document and its listeners) with a new
    instance of the service's filters module (imported again from a new `blob:` URL); what a
    filter would write itself into the runner's global object or into storage (cookies,
    localStorage) is seen by the next pages of that origin in that tab; the timers it leaves are
    cleared when its page is serialised, and a page whose filters set a property on the document
    object is followed by a new frame. OTA shares more: it imports a module once for a whole run,
    so its filters share even their module-level variables. A tab whose filter timed out or whose
    renderer failed is closed and replaced.
    """

    def __init__(self, browser: Browser, *, size: int = DEFAULT_TABS, keep: int | None = None) -> None:
        """`keep`: tabs kept open at most (default `size`); more than `size` keeps the runners of
        more origins, when pages of several origins come in turns (`ota verify`)."""
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self.browser = browser
        self.keep = max(size, keep or size)
        self.size = size
        self._idle: list[_Tab] = []  # the tab used least recently first
        self._busy: Counter[str] = Counter()  # tabs in use, by the runner they have or are going to
        self._released = asyncio.Condition()
        self.opened = 0  # tabs opened, for tests and benches
        self._slots = asyncio.Semaphore(size)
        self._closed = False

    async def apply(
        self,
        html: str,
        *,
        url: str,
        module_source: str,
        module_name: str,
        filters: Sequence[FilterRef],
        document: SourceDocument,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> str:
        """`apply_js_filters` in a reused tab; waits while all `size` tabs are busy."""
        filtered = await self.run(
            html,
            url=url,
            module_source=module_source,
            module_name=module_name,
            filters=filters,
            document=document,
            timeout=timeout,
        )
        return filtered.html

    async def run(
        self,
        html: str,
        *,
        url: str,
        module_source: str,
        module_name: str,
        filters: Sequence[FilterRef],
        document: SourceDocument,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Filtered:
        """`apply`, saying also whether the filters looked at their context."""
        runner = _runner_url(url)
        async with self._slots:
            tab = await self._take(runner)
            self._busy[runner] += 1
            try:
                if tab is None:
                    tab = await _open(self.browser, module_name)
                    self.opened += 1
            except BaseException:
                await self._release(runner)
                raise
            try:
                return await tab.apply(
                    html,
                    url=url,
                    module_source=module_source,
                    module_name=module_name,
                    filters=filters,
                    document=document,
                    timeout=timeout,
                )
            finally:
                if tab.healthy and not self._closed:
                    self._idle.append(tab)
                else:
                    await tab.close()
                await self._release(runner)

    async def _take(self, runner_url: str) -> _Tab | None:
        """The idle tab whose runner has the page's origin; else None while another tab may be
        opened; else, when more tabs are kept than pages run at a time, the tab of that origin in
        use once it is done; else the idle tab used least recently."""
        async with self._released:
            while True:
                index = next((i for i, tab in enumerate(self._idle) if tab.tab.url == runner_url), None)
                if index is not None:
                    return self._idle.pop(index)
                if not self._idle or len(self._idle) + self._busy.total() < self.keep:
                    return None
                if self.keep > self.size and self._busy[runner_url] > 0:
                    await self._released.wait()
                    continue
                return self._idle.pop(0)

    async def _release(self, runner_url: str) -> None:
        async with self._released:
            self._busy[runner_url] -= 1
            self._released.notify_all()

    async def aclose(self) -> None:
        """Close the idle tabs; tabs in use are closed when their page is done."""
        self._closed = True
        idle, self._idle = self._idle, []
        for tab in idle:
            await tab.close()


async def apply_js_filters(
    browser: Browser,
    html: str,
    *,
    url: str,
    module_source: str,
    module_name: str,
    filters: Sequence[FilterRef],
    document: SourceDocument,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Run OTA JavaScript filters on a page in a fresh browser context; return the filtered page.

    `html` is loaded as if served from `url`, with its own scripts off and no network; the ES module
    `module_source` (a `SERVICE_ID.filters.js`, named `module_name` in errors) is imported and
    `filters` run in order with OTA's calling convention: `await fn(document, context)`, or
    `await fn(document, parameters, context)` when the filter is declared with parameters that
    JavaScript holds true, `context` being `{fetch, select, remove, filter}` of `document`. The
    built-in filters (`removeQueryParams`, `convertSpacesToStandard`) are looked up first. Each
    filter has `timeout` seconds. The result is the doctype as the browser serialises it followed
    by the root element's `outerHTML`, what `page.content()` gives.

    Raises `ExtractError`: a filter threw (`The filter function "NAME" failed: TypeError: …`), did
    not finish in time, is unknown, the module did not load, or Chromium is not available.
    """
    tab = await _open(browser, module_name)
    try:
        filtered = await tab.apply(
            html,
            url=url,
            module_source=module_source,
            module_name=module_name,
            filters=filters,
            document=document,
            timeout=timeout,
        )
        return filtered.html
    finally:
        await tab.close()


async def _open(browser: Browser, module_name: str) -> _Tab:
    from playwright.async_api import Error as PlaywrightError

    try:
        return await _Tab.open(browser)
    except BrowserUnavailable as exc:
        raise ExtractError(f"Cannot run the JavaScript filters {module_name!r}: {exc.reason}") from exc
    except PlaywrightError as exc:
        message = f"Cannot run the JavaScript filters {module_name!r}: the browser failed: {first_line(exc)}"
        raise ExtractError(message) from exc


def _runner_url(url: str) -> str:
    try:
        origin = ada_url.URL(url).origin
    except ValueError as exc:
        raise ExtractError(f"Cannot run JavaScript filters on '{url}': not a valid URL") from exc
    if origin == "null":
        raise ExtractError(f"Cannot run JavaScript filters on '{url}': only http(s) pages can be filtered")
    return origin + RUNNER_PATH


def _deflated(html: str) -> str:
    """The page as `LOAD` takes it: UTF-8, deflated (zlib's fastest level), base64."""
    return base64.b64encode(zlib.compress(html.encode("utf-8", "surrogatepass"), 1)).decode("ascii")


def _json(value: Any) -> Any:
    """Declared parameters as JSON values (tuples → arrays), as the filters receive them."""
    return json.loads(json.dumps(value))


def _selectors(selectors: tuple[Selector, ...]) -> Any:
    """The declared `select`/`remove` as OTA hands it: one selector alone, several as an array.

    ota keeps selectors as a tuple, so a one-item array is handed as that item.
    """
    values = [json.loads(s.as_json()) if not isinstance(s, str) else s for s in selectors]
    return values[0] if len(values) == 1 else values


def filter_context(document: SourceDocument, filters: Sequence[FilterRef]) -> dict[str, Any]:
    """The second argument OTA gives every filter."""
    return {
        "fetch": document.location,
        "select": _selectors(document.select),
        "remove": _selectors(document.remove),
        "filter": [ref.name for ref in filters],
    }
