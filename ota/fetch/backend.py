"""What every way of fetching a page gives, and the protocol a fetching backend implements.

A backend fetches one URL politely (holding the slots of `ota.fetch.politeness.Politeness`) and
returns a `Page`, or raises `FetchError` in OTA's words: `ota.fetch.http.HttpBackend` over plain
HTTP, `ota.fetch.rendering.BrowserBackend` in headless Chromium. `ota.fetch.client.Fetcher` picks
one for each fetch; a new way of fetching is one more backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

HTML_ONLY = "htmlOnly"  # the `X-fetcher` of snapshots fetched without a browser
FULL_DOM = "fullDom"  # the `X-fetcher` of snapshots rendered by the browser


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


class Backend(Protocol):
    """One way of fetching a page."""

    async def fetch(self, url: str, *, wait_for: tuple[str, ...] = ()) -> Page:
        """Fetch `url` (a browser waits for the `wait_for` selectors to have text), or raise FetchError."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds (connections, processes)."""
        ...


def utc_now() -> datetime:
    """The current time, aware, in UTC: every backend's default clock for `Page.fetched_at`."""
    return datetime.now(UTC)
