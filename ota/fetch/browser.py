"""Render pages in a headless Chromium, for terms whose text is written by client scripts.

Only `ota.fetch` imports this module. One `Browser` drives one Chromium process (Debian's
`chromium`, through the driver that the `playwright` package ships), started on the first render
and kept until `aclose`. Each render gets a fresh browser context (cookies, storage, cache), closed
after it. Playwright's errors are translated here into `FetchError`s in OTA's words; the HTTP
status of the main document is left to the caller, who owns what a status means.

Chromium ignores `SSL_CERT_FILE` and `SSL_CERT_DIR`: the authorities they name (an intercepting
proxy's) are given as `ca_certificates`, and Chromium is started with a HOME of its own whose NSS
database trusts them (`ota.fetch.nssdb`), with every other check of certificates unchanged.
Chromium's sandbox is on unless ota runs as root (where Chromium cannot start it) or `sandbox`
turns it off.

The snapshot of a rendered page is what OTA stores (puppeteer's `page.content()`): the document's
doctype as the browser serialises it, then `document.documentElement.outerHTML`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from ota.errors import FetchError
from ota.fetch.codes import chromium_error, timed_out
from ota.fetch.guard import AddressPolicy, Resolver, refused_fetch, resolve
from ota.fetch.lifetime import (
    HOME_PREFIX,
    driver_dies_with_this_process,
    launcher_dying_with_parent,
    remove_stale_homes,
)
from ota.fetch.nssdb import TrustError, make_home
from ota.fetch.proxy import REFUSED_HEADER, GuardProxy
from ota.fetch.renderers import JS_HEAP_MB, RendererWatch
from ota.settings import DEFAULT_BROWSER_PATH

if TYPE_CHECKING:  # playwright is imported on the first render: it takes 0.2 s to import
    from playwright.async_api import Browser as Chromium
    from playwright.async_api import Page as Tab
    from playwright.async_api import Playwright, Request, Response

DEFAULT_EXECUTABLE = DEFAULT_BROWSER_PATH  # `[fetch] browser_path`
INSTALL_HINT = "install Debian's chromium package (apt-get install chromium)"
# The `--disable-*` flags stop Chromium's own background connections (updates, sync, field
# trials), which the sandbox of this machine refuses many at a time. AutomationControlled: no
# `navigator.webdriver`, which bot checks look for (OTA uses puppeteer's stealth plugin for the
# same reason). `--no-sandbox` is added only when the sandbox is off (`sandbox_enabled`).
# WebRTC would send UDP (STUN, TURN, to any address a page or a filter names) around the guard's
# proxy, which carries TCP only: `disable_non_proxied_udp` leaves it TCP through the proxy, or
# nothing (Chromium's own switch; `--force-webrtc-ip-handling-policy` is not honoured headless, and
# overriding `RTCPeerConnection` from a script would leave workers and frames their own).
CHROMIUM_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    f"--js-flags=--max-old-space-size={JS_HEAP_MB}",  # with `RendererWatch`: a bound per renderer
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-blink-features=AutomationControlled",
)
LAUNCH_TIMEOUT = 30.0  # seconds for Chromium to start
GRACE = 5.0  # seconds for serialising the DOM and closing, beyond navigation and waiting
CLOSE_TIMEOUT = 5.0
POLLING_MS = 100  # how often the selectors are checked while waiting
RENDERED_MIME_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# True once every selector matches an element with text; an invalid selector is not waited for
# (extraction reports it).
_SELECTORS_HAVE_TEXT = """selectors => selectors.every(selector => {
  try {
    return document.querySelector(selector)?.textContent.trim().length > 0;
  } catch {
    return true;
  }
})"""


@dataclass(frozen=True)
class Rendered:
    """What the browser got for a URL.

    `body` is the rendered DOM as UTF-8 HTML when `rendered`, else the raw body of a non-HTML main
    document (a PDF, plain text), to be decoded with `content_type`. When `status` is not a success
    `body` may be empty: the page was not waited for.
    """

    final_url: str
    status: int
    content_type: str | None
    body: bytes
    rendered: bool


def proxy_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """Playwright's proxy setting from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, as httpx reads them.

    Chromium takes one proxy for both schemes: the HTTPS one when both are set. None without proxy.
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return env.get(name) or env.get(name.lower()) or ""

    url = get("HTTPS_PROXY") or get("HTTP_PROXY") or get("ALL_PROXY")
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    proxy = {"server": f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")}
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    if bypass := get("NO_PROXY"):
        proxy["bypass"] = bypass
    return proxy


def sandbox_enabled(sandbox: bool | None, euid: int | None = None) -> bool:
    """Whether Chromium runs in its sandbox: as set, else (None) unless the process runs as root.

    Chromium refuses to start its sandbox as root. Elsewhere it needs user namespaces (Debian's
    chromium ships no setuid sandbox helper); where a container forbids them, set it off.
    """
    if sandbox is not None:
        return sandbox
    return (os.geteuid() if euid is None else euid) != 0


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (Playwright's run on with a call log)."""
    message = getattr(exc, "message", None) or str(exc)
    return (message.strip().splitlines() or [type(exc).__name__])[0]


class Browser:
    """One headless Chromium, started on the first `render`, for every render of a run.

    Renders may run concurrently: each has its own context and tab. The caller bounds how many.
    """

    def __init__(
        self,
        executable: str = DEFAULT_EXECUTABLE,
        *,
        user_agent: str,
        accept_language: str,
        proxy: Mapping[str, str] | None = None,
        ca_certificates: Sequence[Path] = (),
        sandbox: bool | None = None,
        policy: AddressPolicy | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        """`ca_certificates`: PEM files, or folders of PEM files, of authorities to trust besides
        Chromium's own roots (those `SSL_CERT_FILE` and `SSL_CERT_DIR` name for plain HTTP).
        `sandbox`: Chromium's sandbox on or off; None: on, unless this process runs as root.
        `policy`: the addresses Chromium may connect to (`ota.fetch.guard`); every connection then
        goes through a local proxy that checks them (`ota.fetch.proxy`); `resolver` is its seam.
        """
        self.policy = policy
        self._resolver = resolver
        self._guard: GuardProxy | None = None
        self.executable = executable
        self.user_agent = user_agent
        self.accept_language = accept_language
        self.proxy = dict(proxy) if proxy else None
        self.ca_certificates = tuple(Path(path) for path in ca_certificates)
        self.sandbox = sandbox_enabled(sandbox)
        self._home: Path | None = None  # Chromium's HOME, whose NSS database trusts `ca_certificates`
        self._driver: Path | None = None  # where the driver's launcher is written
        self.launches = 0  # Chromium processes started, for tests and logs
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._chromium: Chromium | None = None
        self._failure: BrowserUnavailable | None = None  # why Chromium cannot be started, once known
        #: Kills a renderer past its memory bound while Chromium runs (`ota.fetch.renderers`).
        self.renderers = RendererWatch()

    @property
    def running(self) -> bool:
        """Whether a Chromium process is up."""
        return self._chromium is not None and self._chromium.is_connected()

    @property
    def unavailable(self) -> str | None:
        """Why no browser can be started (not installed, failed to start), once a start was tried."""
        return self._failure.reason if self._failure else None

    async def aclose(self) -> None:
        """Close Chromium and the driver; a later `render` starts them again."""
        async with self._lock:
            chromium, self._chromium = self._chromium, None
            playwright, self._playwright = self._playwright, None
            if chromium is not None:
                with suppress(Exception):
                    await asyncio.wait_for(chromium.close(), CLOSE_TIMEOUT)
            if playwright is not None:
                with suppress(Exception):
                    await asyncio.wait_for(playwright.stop(), CLOSE_TIMEOUT)
            self._remove_home()
            driver, self._driver = self._driver, None
            if driver is not None:
                shutil.rmtree(driver, ignore_errors=True)
            guard, self._guard = self._guard, None
            if guard is not None:
                await guard.aclose()
            await self.renderers.aclose()

    def _remove_home(self) -> None:
        home, self._home = self._home, None
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)

    def _driver_folder(self) -> Path:
        """A folder of this process's for the driver's launcher (removed by `aclose`)."""
        if self._driver is None:
            self._driver = Path(tempfile.mkdtemp(prefix=f"{HOME_PREFIX}{os.getpid()}-driver-"))
        return self._driver

    async def render(self, url: str, *, wait_for: tuple[str, ...], timeout: float, wait: float) -> Rendered:
        """Load `url` (until the `load` event, within `timeout` seconds) and return the page.

        Then wait up to `wait` seconds for every `wait_for` selector to match an element with
        text; if they never do, the page is taken as it is. Raises `FetchError`.
        """
        chromium = await self._started(url)
        from playwright.async_api import Error as PlaywrightError

        context = None
        stopped = self.renderers.stopped
        try:
            # The whole render is bounded: a page whose scripts never yield blocks every call into
            # it, even those that take a timeout.
            async with asyncio.timeout(timeout + wait + GRACE):
                context = await chromium.new_context(
                    user_agent=self.user_agent,
                    extra_http_headers={"Accept-Language": self.accept_language},
                    accept_downloads=False,
                )
                tab = await context.new_page()
                return await self._render(tab, url, wait_for=wait_for, timeout=timeout, wait=wait)
        except TimeoutError as exc:
            raise timed_out(url, timeout) from exc
        except PlaywrightError as exc:
            crash = self.crash(exc, stopped)
            if crash is not None:
                raise FetchError(url, f"Browser error when trying to fetch '{url}': {crash}") from exc
            raise self._translate(url, exc, timeout) from exc
        finally:
            if context is not None:
                # Closing the context also ends a renderer stuck in a script.
                with suppress(Exception):
                    await asyncio.wait_for(context.close(), CLOSE_TIMEOUT)

    async def _render(
        self, tab: Tab, url: str, *, wait_for: tuple[str, ...], timeout: float, wait: float
    ) -> Rendered:
        from playwright.async_api import Error as PlaywrightError

        statuses: list[int] = []
        navigated: list[str] = []  # the addresses of the main document, redirects included
        # Main-document navigations that did not give a page (the guard's refusal, a network error),
        # with Chromium's error: after a client-side redirect (`location = …`, a meta refresh) the
        # tab would hold the refusal or Chromium's error page, never the terms.
        failed: list[tuple[str, str]] = []

        def on_request(request: Request) -> None:
            if request.is_navigation_request() and request.frame == tab.main_frame:
                navigated.append(request.url)

        def on_response(response: Response) -> None:
            if response.request.is_navigation_request() and response.frame == tab.main_frame:
                statuses.append(response.status)
                if response.status == 403 and REFUSED_HEADER.lower() in response.headers:
                    failed.append((response.url, "refused"))

        def on_failure(request: Request) -> None:
            failure = request.failure or ""
            main = request.is_navigation_request() and request.frame == tab.main_frame
            if main and "ERR_ABORTED" not in failure:  # aborted: replaced by another navigation
                failed.append((request.url, failure))

        tab.on("request", on_request)
        tab.on("response", on_response)
        tab.on("requestfailed", on_failure)
        try:
            response = await tab.goto(url, wait_until="load", timeout=timeout * 1000)
        except PlaywrightError as exc:
            self._raise_if_refused(url, navigated)
            # Chromium fails a navigation whose error status (4xx, 5xx) comes with an empty body.
            if "net::ERR_HTTP_RESPONSE_CODE_FAILURE" in exc.message and statuses:
                return Rendered(tab.url, statuses[-1], None, b"", rendered=False)
            raise
        if response is None:
            raise FetchError(url, f"Response is empty when trying to fetch '{url}'")
        status = response.status
        if status == 403 and await response.header_value(REFUSED_HEADER):
            self._raise_if_refused(url, navigated)
        if not (200 <= status < 300 or status == 304):
            return Rendered(tab.url, status, None, b"", rendered=False)
        content_type = await response.header_value("content-type")
        mime_type = (content_type or "text/html").split(";", 1)[0].strip().lower()
        if mime_type not in RENDERED_MIME_TYPES:
            return await self._document(tab, tab.url)
        if wait_for and wait > 0:
            # Selectors may be out of date: past the wait, the page is taken all the same (as OTA).
            with suppress(PlaywrightError):
                await tab.wait_for_function(
                    _SELECTORS_HAVE_TEXT, arg=list(wait_for), timeout=wait * 1000, polling=POLLING_MS
                )
        try:
            html = await tab.content()
        except PlaywrightError:
            # A script navigated (a client-side redirect): take the page it went to.
            await tab.wait_for_load_state("load", timeout=timeout * 1000)
            html = await tab.content()
        if failed:
            self._raise_if_refused(url, navigated)
            target, failure = failed[-1]
            error = self._translate(url, Exception(failure), timeout)
            raise FetchError(
                url, f"{error} (redirected by the page to '{target}')", transient=error.transient
            )
        return Rendered(tab.url, status, content_type, html.encode("utf-8"), rendered=True)

    @staticmethod
    async def _document(tab: Tab, url: str) -> Rendered:
        """The bytes of a non-HTML main document (a PDF, plain text), as the server sent them.

        Chromium hands out its PDF viewer instead of a PDF, and text already decoded: the document
        is asked for again, with the context's cookies and headers.
        """
        response = await tab.context.request.get(url, timeout=0)
        try:
            content_type = response.headers.get("content-type")
            return Rendered(
                response.url, response.status, content_type, await response.body(), rendered=False
            )
        finally:
            await response.dispose()

    async def started(self) -> Chromium:
        """The running Chromium, started if needed; raises `BrowserUnavailable` when it cannot start.

        For the other modules of `ota.fetch` that drive pages themselves (`ota.fetch.jsfilters`).
        """
        async with self._lock:
            if self._chromium is not None and self._chromium.is_connected():
                return self._chromium
            failure = self._failure
            if failure is None:
                try:
                    self._chromium = await self._launch()
                except BrowserUnavailable as exc:
                    failure = self._failure = exc
                else:
                    self.launches += 1
                    self.renderers.start()
                    return self._chromium
            raise BrowserUnavailable(failure.reason) from failure

    async def _started(self, url: str) -> Chromium:
        try:
            return await self.started()
        except BrowserUnavailable as exc:
            message = f"Cannot fetch '{url}' with a browser (executeClientScripts): {exc.reason}"
            raise FetchError(url, message) from exc

    async def _launch(self) -> Chromium:
        executable = shutil.which(self.executable)
        if executable is None:
            raise BrowserUnavailable(f"Chromium is not installed at '{self.executable}'; {INSTALL_HINT}")
        try:
            from playwright.async_api import async_playwright
        except ImportError as exc:
            reason = "the playwright Python package is not installed (pip install playwright)"
            raise BrowserUnavailable(reason) from exc
        from playwright.async_api import Error as PlaywrightError

        options: dict[str, Any] = {"proxy": self.proxy} if self.proxy else {}
        if self.policy is not None and self.policy.restricts:
            options["proxy"] = await self._guarded_proxy()
        await asyncio.to_thread(remove_stale_homes, Path(tempfile.gettempdir()))
        # Chromium's environment is this process's, not the driver's (whose TMPDIR is ota's folder:
        # Chromium binds its singleton socket in TMPDIR, and a socket's path has 107 bytes at most).
        options["env"] = await self._trusting_environment() if self.ca_certificates else dict(os.environ)
        try:
            if self._playwright is None:
                with driver_dies_with_this_process(self._driver_folder()):
                    self._playwright = await async_playwright().start()
            return await self._playwright.chromium.launch(
                # Chromium dies with the driver, which dies with this process.
                executable_path=launcher_dying_with_parent(self._driver_folder(), "chromium", executable),
                headless=True,
                # Playwright passes `--no-sandbox` unless `chromium_sandbox` is set.
                args=[*CHROMIUM_FLAGS, *(() if self.sandbox else ("--no-sandbox",))],
                chromium_sandbox=self.sandbox,
                timeout=LAUNCH_TIMEOUT * 1000,
                **options,
            )
        except (PlaywrightError, OSError) as exc:
            self._remove_home()
            reason = f"Chromium ('{executable}') did not start: {first_line(exc)}"
            if self.sandbox and "sandbox" in str(exc).lower():
                reason += " (its sandbox needs user namespaces; where they are refused, turn the sandbox off)"
            raise BrowserUnavailable(reason) from exc

    async def _guarded_proxy(self) -> dict[str, str]:
        """Start the guard's proxy (chained to the configured one, if any); Chromium's proxy setting."""
        assert self.policy is not None
        upstream = None
        if self.proxy:
            parts = urlsplit(self.proxy["server"])
            credentials = ""
            if self.proxy.get("username"):
                user = quote(self.proxy["username"], safe="")
                credentials = f"{user}:{quote(self.proxy.get('password', ''), safe='')}@"
            upstream = f"{parts.scheme}://{credentials}{parts.netloc}"
        if self._guard is not None:
            await self._guard.aclose()
        self._guard = GuardProxy(
            self.policy,
            resolver=self._resolver,
            upstream=upstream,
            upstream_bypass=self.proxy.get("bypass", "") if self.proxy else "",
        )
        address = await self._guard.start()
        # `<-loopback>`: Chromium otherwise never proxies 127.0.0.1 and localhost, which the guard
        # must see too.
        return {"server": address, "bypass": "<-loopback>"}

    async def _trusting_environment(self) -> dict[str, str]:
        """Chromium's environment: this process's, with a HOME whose NSS database trusts the CAs."""
        self._remove_home()
        home = self._home = Path(tempfile.mkdtemp(prefix=f"{HOME_PREFIX}{os.getpid()}-"))
        try:
            await asyncio.to_thread(make_home, home, self.ca_certificates)
        except TrustError as exc:
            self._remove_home()
            raise BrowserUnavailable(f"Chromium cannot trust the CA certificates: {exc}") from exc
        # The environment is passed through as it is (Playwright replaces it whole), HOME aside.
        return {**os.environ, "HOME": str(home)}

    def _raise_if_refused(self, url: str, navigated: Sequence[str]) -> None:
        """Raise the guard's refusal when it stopped the navigation to one of these addresses."""
        if self._guard is None:
            return
        for current in reversed([url, *navigated]):
            refusal = self._guard.refusal(urlsplit(current).hostname or "")
            if refusal is not None:
                raise refused_fetch(url, current, refusal)

    def crash(self, exc: Exception, stopped: int) -> str | None:
        """Why a page's renderer died, in words, when `exc` says it did (None otherwise); `stopped`
        is `renderers.stopped` when the page started."""
        if self.renderers.stopped > stopped:
            return f"its renderer used more than {self.renderers.limit_mb} MB of memory and was stopped"
        if "crashed" in first_line(exc):
            return (
                f"its renderer crashed (as one does past {JS_HEAP_MB} MB of JavaScript heap; "
                f"it is stopped past {self.renderers.limit_mb} MB of memory)"
            )
        return None

    @staticmethod
    def _translate(url: str, exc: Exception, timeout: float) -> FetchError:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        if isinstance(exc, PlaywrightTimeout):
            return timed_out(url, timeout)
        return chromium_error(url, first_line(exc), timeout)


class BrowserUnavailable(Exception):
    """Chromium cannot be started, for `reason`; every later use of the `Browser` fails with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
