"""Source documents fetched as `ota track` fetches them, and kept as ota stores snapshots.

`fetch_document` makes the same call to the `Fetcher` as a tracking run: plain HTTP, or the
browser when the declaration says `executeClientScripts` (waiting for its `select` selectors),
with OTA's fallback to the browser on what looks like bot blocking. `save_page` writes a page
where the snapshots repository would have it (`SERVICE_ID/TERMS TYPE.html`), in a folder of the
contributor's choosing, so that `ota extract` can read it again later without fetching.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ota.declarations import SourceDocument, Terms
from ota.extract import PDF_MIME_TYPE
from ota.fetch import Fetcher, FetchMode, FetchSettings, Page
from ota.store.records import snapshot_path


async def fetch_document(fetcher: Fetcher, document: SourceDocument) -> Page:
    """The page of `document`, fetched as a tracking run fetches it (raises FetchError)."""
    return await fetcher.fetch(
        document.location,
        mode=FetchMode.of(document.execute_client_scripts),
        wait_for=tuple(selector for selector in document.select if isinstance(selector, str)),
    )


def save_page(folder: Path, terms: Terms, document: SourceDocument, page: Page) -> Path:
    """Write `page` as its snapshot file under `folder` (replacing an older copy); return its path."""
    path = folder / snapshot_path(terms, document, page.mime_type)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(page.content)
    os.replace(temporary, path)  # a copy is whole or absent, never half-written
    return path


def saved_mime_type(path: Path) -> str:
    """The MIME type of a saved snapshot, from its extension as ota names them."""
    return PDF_MIME_TYPE if path.suffix.lower() == ".pdf" else "text/html"


async def fetch_pages(settings: FetchSettings, documents: Sequence[SourceDocument]) -> list[Page]:
    """The page of each document, one after the other as tracking fetches a terms (raises FetchError)."""
    async with Fetcher(settings) as fetcher:
        return [await fetch_document(fetcher, document) for document in documents]
