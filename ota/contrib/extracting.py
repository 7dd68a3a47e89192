"""`ota extract`: the Markdown ota would record for one terms, from saved pages or live URLs.

The pages are fetched as `ota track` fetches them, PDFs are read by pdf.js and a service's
JavaScript filters run in the same browser as in a run, and the extraction runs in a child
process with a run's time and memory bounds: what this prints is what tracking would record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ota.contrib.pages import save_page, saved_mime_type
from ota.declarations import STANDARD_TERMS_TYPES, Terms, parse_service
from ota.declarations.collection import FilterFiles, javascript_filter_names, python_filter_names
from ota.declarations.files import read_json
from ota.errors import SettingsError
from ota.fetch import Fetcher
from ota.settings import Settings
from ota.tracking.pool import ExtractionPool, Source


@dataclass(frozen=True)
class Extracted:
    """What `extract_terms_of` gave: the Markdown, and the files it saved (with `save`)."""

    markdown: str
    saved: tuple[Path, ...] = ()


def terms_of(declaration: Path, terms_type: str) -> tuple[Terms, FilterFiles]:
    """The terms `declaration` declares as `terms_type`, and the filters files beside it.

    Any terms type is accepted (one file is checked, not a collection). Raises DeclarationError
    naming the file and field, or SettingsError when the file declares no such terms.
    """
    data = read_json(declaration)
    service_id = declaration.name.removesuffix(".json")
    service = parse_service(
        service_id, data, path=declaration, terms_types=_declared_types(data), strict=False
    )
    if terms_type in service.invalid:
        raise service.invalid[terms_type][0]
    terms = service.terms.get(terms_type)
    if terms is None:
        declared = ", ".join(sorted([*service.terms, *service.invalid])) or "nothing"
        raise SettingsError(f"{declaration} declares no '{terms_type}'; it declares: {declared}")
    python = declaration.with_name(f"{service_id}.filters.py")
    javascript = declaration.with_name(f"{service_id}.filters.js")
    files = FilterFiles(
        python=python if python.is_file() else None,
        python_names=python_filter_names(python) if python.is_file() else frozenset(),
        javascript=javascript if javascript.is_file() else None,
        javascript_names=javascript_filter_names(javascript) if javascript.is_file() else frozenset(),
    )
    return terms, files


async def extract_terms_of(
    terms: Terms,
    files: FilterFiles,
    given: Sequence[str],
    *,
    settings: Settings,
    save: Path | None = None,
    readable: bool = False,
) -> Extracted:
    """The Markdown of `terms` from `given` pages: a saved file or a URL per source document.

    A PDF gives the engine's Markdown (pdf.js in the fetcher's browser), as tracking records it,
    or with `readable` pdfminer's readable text.

    A URL is fetched as tracking fetches the declared page, and its address replaces the declared
    one (links are made absolute against the address the page came from). Raises FetchError,
    ExtractError, DeclarationError, or OSError for a file that cannot be read.
    """
    if len(given) != len(terms.documents):
        raise SettingsError(
            f"'{terms.type}' has {len(terms.documents)} source document(s) "
            f"but {len(given)} page(s) were given"
        )
    sources: list[Source] = []
    saved: list[Path] = []
    pool = ExtractionPool.from_settings(settings, workers=1)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            for document, item in zip(terms.documents, given, strict=True):
                if is_url(item):
                    document = replace(document, location=item)
                    page = await fetcher.fetch_document(document)
                    if save is not None:
                        saved.append(save_page(save, terms, document, page))
                    sources.append((document, page.content, page.mime_type))
                else:
                    path = Path(item)
                    sources.append((document, path.read_bytes(), saved_mime_type(path)))
            prefilter = fetcher.prefilter(timeout=settings.track.extract_timeout, read_pdfs=not readable)
            sources = await prefilter(sources, files)
        markdown = await pool(sources, files.python)
    finally:
        await pool.close()
    return Extracted(markdown, tuple(saved))


def is_url(text: str) -> bool:
    """Whether a page argument is an address to fetch rather than a saved file."""
    return text.startswith(("http://", "https://"))


def web_address_problem(url: str) -> str | None:
    """Why `url` cannot be fetched as it is written (no host, not a URL), or None."""
    import ada_url

    try:
        parsed = ada_url.URL(url)
    except ValueError:
        return "it cannot be parsed as a URL"
    if not parsed.hostname:
        return "it names no host"
    return None


def declared_pages(terms: Terms) -> list[str]:
    """The declared address of each source document: what `ota extract` fetches by default."""
    return [document.location for document in terms.documents]


def _declared_types(data: Any) -> frozenset[str]:
    declared = (data.get("terms") or data.get("documents") or {}) if isinstance(data, dict) else {}
    return frozenset(STANDARD_TERMS_TYPES) | (
        frozenset(declared) if isinstance(declared, dict) else frozenset()
    )
