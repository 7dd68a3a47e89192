"""Source documents fetched as `ota track` fetches them, and kept as ota stores snapshots.

Pages are fetched by `Fetcher.fetch_document`, as a tracking run fetches them. `save_page` writes
a page where the snapshots repository would have it (`SERVICE_ID/TERMS TYPE.html`), in a folder of
the contributor's choosing, so that `ota extract` can read it again later without fetching.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ota.declarations import SourceDocument, Terms
from ota.extract import PDF_MIME_TYPE
from ota.fetch import Fetcher, FetchSettings, Page
from ota.store.records import snapshot_path


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
        return [await fetcher.fetch_document(document) for document in documents]
