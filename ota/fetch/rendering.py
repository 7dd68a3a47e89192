"""Fetching in headless Chromium: the backend for pages that need client scripts.

The browser (`ota.fetch.browser.Browser`) is shared with what runs JavaScript filters and reads
PDFs in it; this backend renders pages, at most `browser_pages` at once, each in a polite slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from ota.errors import FetchError
from ota.fetch.backend import FULL_DOM, Page, utc_now
from ota.fetch.browser import Browser, Rendered
from ota.fetch.content import decode_text, is_text, mime_type_of
from ota.fetch.http import fetched_host_key, status_error
from ota.fetch.politeness import Politeness
from ota.settings import FetchSettings


class BrowserBackend:
    """The browser backend: pages rendered by `browser` (which its owner closes)."""

    def __init__(
        self,
        settings: FetchSettings,
        politeness: Politeness,
        browser: Browser,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self._politeness = politeness
        self._browser = browser
        self._now = now
        self._pages = asyncio.Semaphore(settings.browser_pages)

    async def fetch(self, url: str, *, wait_for: tuple[str, ...] = ()) -> Page:
        """Render `url` in the browser, waiting up to `browser_wait` seconds for `wait_for` to have text."""
        settings = self.settings
        key = fetched_host_key(url)
        async with self._politeness.slot(key, self._pages):
            rendered = await self._browser.render(
                url, wait_for=wait_for, timeout=settings.timeout, wait=settings.browser_wait
            )
        if not (200 <= rendered.status < 300 or rendered.status == 304):  # as OTA's browser fetcher
            raise status_error(url, rendered.status)
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

    async def aclose(self) -> None:
        """Nothing of its own to release: the browser is its owner's to close."""
