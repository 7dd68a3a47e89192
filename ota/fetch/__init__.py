"""The network edge: fetching terms and everything else that talks to the network for them.

client.py       the Fetcher: picks a backend for each fetch, owns the browser
backend.py      the Page every fetch gives, the FetchMode and the protocol a backend implements
politeness.py   slots per host and overall, shared by every backend of a fetcher
http.py         the plain-HTTP backend: connection pools, redirects, retries, bounded bodies
rendering.py    the browser backend: pages rendered in Chromium
transport.py    httpcore's connection pool over the guarded network backend
guard.py        the address guard: public addresses only, unless told otherwise
content.py      what a response's bytes mean: MIME type, text in any charset
decoding.py     content encodings undone (gzip, deflate, stacked), bounded by max_size
codes.py        transport and Chromium errors named as Node names them (ECONNREFUSED, ENOTFOUND…)
browser.py      headless Chromium, for pages that need client scripts
proxy.py        the local proxy through which Chromium connects, guarded; the one that refuses all
renderers.py    a memory bound on Chromium's renderers (pages' scripts, JavaScript filters, PDFs)
jsfilters.py    Open Terms Archive's JavaScript filters, run in Chromium, with no network
jsscripts.py    the scripts jsfilters.py evaluates in Chromium: load a page, call a filter, serialise
jsprefilter.py  a terms' JavaScript filters run on its pages before extraction
filterruns.py   JavaScript filter runs kept a while, so a page filtered again costs no browser
pdftext.py      PDFs' text read by pdf.js 2.13.216 (pdfjs-dist/, the engine's), run in Chromium
nssdb.py        a private NSS database so Chromium trusts extra authorities
lifetime.py     child processes (certutil, Playwright's driver, Chromium) die with ota; stale homes
timestamps.py   asking a time-stamping authority to witness a commit

Three other modules talk to the network, each for one purpose outside fetching terms, and each
only to addresses the operator configured, never to one a declaration names (what the address
guard, the politeness and the retries here are for): ota.report.forge (REST calls for issues on
the one configured forge, with httpx, under the forge's own rate limits), ota.report.notify
(notifications, through Apprise, which makes its own connections) and ota.store.publish (`git
push` to the repositories' remotes, made by git itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ota.fetch.backend import FULL_DOM, HTML_ONLY, FetchMode, Page
from ota.settings import FetchSettings

if TYPE_CHECKING:
    from ota.fetch.client import Fetcher

__all__ = ["FULL_DOM", "HTML_ONLY", "FetchMode", "FetchSettings", "Fetcher", "Page"]


def __getattr__(name: str) -> Any:
    """`Fetcher`, imported when first asked for: the values above cost nothing to import, the
    network stack (httpx, httpcore: a tenth of a second) is imported by whoever fetches, so that
    `ota track` starts its recording process before paying for it (`ota.tracking.run`)."""
    if name == "Fetcher":
        from ota.fetch.client import Fetcher

        return Fetcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
