"""Read a PDF's text items with pdf.js 2.13.216, the version Open Terms Archive's engine runs, in Chromium.

The engine's PDF Markdown is made of pdf.js's text items (`ota.extract.pdfjs` has the rules it
applies to them); no other library gives the same items, so pdf.js itself runs here, in a tab of
the run's `Browser`, opened on the first PDF: a run without PDFs never starts Chromium for them.

pdf.js is `pdfjs-dist` 2.13.216's legacy build, the engine's, as published on npm (Apache-2.0),
shipped in `ota/fetch/pdfjs-dist/` with its licence; `tests/test_pdftext.py` checks it against
the published files' SHA-256. Its worker runs in the tab itself (a "fake worker", loaded before
pdf.js), as the engine runs it in Node's process, and the document is opened with the options
that make a browser compute what Node computes: no font faces, no system fonts, and no worker
fetch (in a browser pdf.js would otherwise fetch the standard fonts' data, which changes the
width of text set in them, or find none and give no text at all).

The tab is on an origin of its own (`http://pdf.ota.invalid`), every request of which is served
from here: the runner page, pdf.js, and the document; everything else is refused. pdf.js runs no
script of the PDF (scripting is off) and compiles no code (`isEvalSupported: false`). Each PDF
is bounded: at most `max_pages` pages, and `timeout` seconds, past which the tab is closed (which
ends pdf.js wherever it is) and a new one opened for the next PDF.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Sequence
from contextlib import suppress
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

from ota.errors import ExtractError
from ota.extract import PDF_MIME_TYPE, PDF_TEXT_MIME_TYPE
from ota.extract.pdfjs import encode_pages
from ota.fetch.browser import CLOSE_TIMEOUT, Browser, BrowserUnavailable, first_line
from ota.settings import DEFAULT_EXTRACT_TIMEOUT

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from playwright.async_api import BrowserContext, Page, Route

    from ota.declarations import SourceDocument
    from ota.declarations.collection import FilterFiles

    #: A source document with its content and MIME type, as extraction takes it.
    Source = tuple[SourceDocument, bytes, str]


class Prefilter(Protocol):
    """What prepares a terms' pages in the browser before extraction: reads its PDFs with pdf.js
    (`PdfTextPrefilter`), runs its JavaScript filters (`ota.fetch.jsprefilter.JavaScriptPrefilter`)."""

    def __call__(self, sources: Sequence[Source], files: FilterFiles) -> Awaitable[list[Source]]: ...


PDFJS_VERSION = "2.13.216"
#: The files of `pdfjs-dist@2.13.216` shipped with ota, and their SHA-256 (`npm pack
#: pdfjs-dist@2.13.216`, whose tarball's sha512 integrity is in ota/fetch/pdfjs-dist/README.md).
PDFJS_FILES = {
    "legacy/build/pdf.min.js": "0d5dd9c58fd130d611e843dc0debcaec431ee7ded033fb3cd1835a630663c10d",
    "legacy/build/pdf.worker.min.js": "8aabdd4151187a12007fae222f429a81de80d30fd828bdec67a3f5b147037ea3",
    "LICENSE": "eb3d7b5485466acbd81f2b496f595ab637d2792e268206b27d99e793bdb67549",
}
PDFJS_FOLDER = resources.files("ota.fetch").joinpath("pdfjs-dist")
#: Pages read at most from one PDF; a longer one fails, saying so (terms run to a few hundred).
DEFAULT_MAX_PAGES = 2_000
DEFAULT_TIMEOUT = DEFAULT_EXTRACT_TIMEOUT  # seconds for one PDF: part of its extraction
ORIGIN = "http://pdf.ota.invalid"
RUNNER_URL = f"{ORIGIN}/"
_SCRIPTS = {
    f"{ORIGIN}/{name}": name for name in ("legacy/build/pdf.worker.min.js", "legacy/build/pdf.min.js")
}
# The worker first: pdf.js then runs it in this page (globalThis.pdfjsWorker) instead of a Worker.
RUNNER_HTML = (
    "<!DOCTYPE html><html><head><title>ota pdf.js</title>"
    + "".join(f'<script src="{url}"></script>' for url in _SCRIPTS)
    + "</head><body></body></html>"
)
# What the engine's markdown-pdf does, up to the text items: getDocument, getMetadata (whose
# failure fails the PDF there too), then getTextContent page after page with its options. Its
# `getDocument(buffer)` in Node means these options in a browser. Errors come back as their
# message, which is what the engine reports.
_READ = """async ([url, maxPages]) => {
  const data = new Uint8Array(await (await fetch(url)).arrayBuffer());
  let doc;
  try {
    doc = await pdfjsLib.getDocument({
      data, disableFontFace: true, useSystemFonts: false, useWorkerFetch: false, isEvalSupported: false,
    }).promise;
  } catch (error) {
    return { error: describe(error) };
  }
  try {
    if (doc.numPages > maxPages) return { pageCount: doc.numPages };
    await doc.getMetadata();
    const pages = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent({
        normalizeWhitespace: true, disableCombineTextItems: false,
      });
      pages.push(content.items.map(item => [item.str, item.transform[5], item.height]));
      page.cleanup();
    }
    return { pages };
  } catch (error) {
    return { error: describe(error) };
  } finally {
    await doc.destroy();
  }

  function describe(error) {
    try { return error instanceof Error ? error.message : String(error); } catch { return 'Unknown error'; }
  }
}"""


def pdfjs_checksums() -> dict[str, str]:
    """The SHA-256 of each shipped pdf.js file, to compare with `PDFJS_FILES`."""
    return {
        name: hashlib.sha256(PDFJS_FOLDER.joinpath(name).read_bytes()).hexdigest() for name in PDFJS_FILES
    }


class PdfTextReader:
    """pdf.js in one tab of `browser`, opened on the first PDF; PDFs are read one at a time."""

    def __init__(
        self,
        browser: Browser,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_pages: int = DEFAULT_MAX_PAGES,
        scripts: tuple[bytes, bytes] | None = None,
    ) -> None:
        """`scripts`: another pdf.js's worker and main script, to compare its text (`bench/pdf.py`);
        by default the shipped pdf.js 2.13.216, the engine's."""
        self.browser = browser
        if scripts is None:
            worker, main = (PDFJS_FOLDER.joinpath(name).read_bytes() for name in _SCRIPTS.values())
            scripts = (worker, main)
        self._scripts = dict(zip(_SCRIPTS, scripts, strict=True))
        self.timeout = timeout
        self.max_pages = max_pages
        self._lock = asyncio.Lock()
        self._context: BrowserContext | None = None
        self._tab: Page | None = None
        self._documents: dict[str, bytes] = {}
        self._numbers = itertools.count()
        self.read_count = 0  # PDFs read, for tests and benches

    async def read(self, data: bytes, *, location: str) -> bytes:
        """pdf.js's text items of the PDF `data`, as `ota.extract.pdfjs` reads them.

        Raises ExtractError: the PDF cannot be parsed (pdf.js's message, as the engine reports it),
        has more than `max_pages` pages, takes more than `timeout` seconds, or Chromium is missing.
        """
        from playwright.async_api import Error as PlaywrightError

        async with self._lock:
            url = f"{ORIGIN}/document/{next(self._numbers)}.pdf"
            self._documents[url] = data
            try:
                async with asyncio.timeout(self.timeout):
                    tab = await self._open(location)
                    result: dict[str, Any] = await tab.evaluate(_READ, [url, self.max_pages])
            except TimeoutError:
                await self._close()
                raise ExtractError(
                    f"The text of the PDF file at '{location}' could not be read "
                    f"within {self.timeout:g} seconds"
                ) from None
            except PlaywrightError as exc:
                await self._close()
                message = f"The browser failed to read the PDF file at '{location}': {first_line(exc)}"
                raise ExtractError(message) from exc
            finally:
                self._documents.pop(url, None)
            self.read_count += 1
        if "error" in result:
            raise ExtractError(str(result["error"]))
        if "pageCount" in result:
            raise ExtractError(
                f"The PDF file at '{location}' has {result['pageCount']} pages; "
                f"ota reads at most {self.max_pages}"
            )
        return encode_pages(result["pages"])

    async def _open(self, location: str) -> Page:
        if self._tab is not None and not self._tab.is_closed():
            return self._tab
        await self._close()
        try:
            chromium = await self.browser.started()
        except BrowserUnavailable as exc:
            raise ExtractError(
                f"Cannot read the text of the PDF file at '{location}' with pdf.js: {exc.reason}"
            ) from exc
        # Scripts on for pdf.js; the origin is ota's own, so the page reaches nothing else.
        self._context = await chromium.new_context(
            java_script_enabled=True, service_workers="block", accept_downloads=False
        )
        await self._context.route("**/*", self._route)
        self._tab = await self._context.new_page()
        await self._tab.goto(RUNNER_URL, wait_until="load")
        return self._tab

    async def _route(self, route: Route) -> None:
        """Serve the runner, pdf.js and the document being read; refuse everything else."""
        url = route.request.url
        with suppress(Exception):  # a tab closed meanwhile
            if url == RUNNER_URL:
                await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=RUNNER_HTML)
                return
            if url in self._scripts:
                body = self._scripts[url]
                await route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=body)
                return
            document = self._documents.get(url)
            if document is not None:
                await route.fulfill(status=200, content_type="application/pdf", body=document)
                return
        with suppress(Exception):
            await route.abort("aborted")

    async def _close(self) -> None:
        context, self._context, self._tab = self._context, None, None
        if context is not None:
            with suppress(Exception):
                await asyncio.wait_for(context.close(), CLOSE_TIMEOUT)

    async def aclose(self) -> None:
        """Close the tab (the browser is its owner's to close)."""
        async with self._lock:
            await self._close()


class PdfTextPrefilter:
    """Prepares a terms' pages in the browser before extraction (a `Prefilter`).

    Each PDF is read by pdf.js and becomes its text items (`PDF_TEXT_MIME_TYPE` content, which
    `ota.extract` turns into the engine's Markdown); then `then`, if given, runs on the sources
    (OTA's JavaScript filters, which leave PDFs alone). HTML sources pass through untouched.
    """

    def __init__(self, reader: PdfTextReader, then: Prefilter | None = None) -> None:
        self.reader = reader
        self.then = then

    async def __call__(self, sources: Sequence[Source], files: FilterFiles) -> list[Source]:
        read = []
        for document, content, mime_type in sources:
            if mime_type == PDF_MIME_TYPE:
                content = await self.reader.read(content, location=document.location)
                mime_type = PDF_TEXT_MIME_TYPE
            read.append((document, content, mime_type))
        return read if self.then is None else await self.then(read, files)
