"""What every way of fetching a page gives, and the protocol a fetching backend implements.

A backend fetches one URL politely (holding the slots of `ota.fetch.politeness.Politeness`) and
returns a `Page`, or raises `FetchError` in OTA's words: `ota.fetch.http.HttpBackend` over plain
HTTP, `ota.fetch.rendering.BrowserBackend` in headless Chromium. `ota.fetch.client.Fetcher` picks
one for each fetch; a new way of fetching is one more backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
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


class FetchMode(StrEnum):
    """Which backend fetches a page: what a declaration's `executeClientScripts` says."""

    #: `executeClientScripts: false`: plain HTTP only.
    HTTP = "http"
    #: `executeClientScripts: true`: rendered in the browser.
    BROWSER = "browser"
    #: `executeClientScripts` absent: plain HTTP, then the browser on what OTA takes for bot
    #: blocking (HTTP 403, 406, 502, a connection reset).
    AUTO = "auto"

    @classmethod
    def of(cls, execute_client_scripts: bool | None) -> FetchMode:
        """The mode of a declaration's `executeClientScripts` (True, False or None: absent)."""
        if execute_client_scripts is None:
            return cls.AUTO
        return cls.BROWSER if execute_client_scripts else cls.HTTP


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
