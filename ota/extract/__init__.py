"""Extraction: snapshot + declaration → Markdown, as Open Terms Archive writes it. Pure: no I/O.

`extract` handles one source document (HTML or PDF); `extract_terms` joins the Markdown of
the source documents of a terms, in declaration order, as OTA does for combined terms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ota.declarations import SourceDocument
from ota.extract.filters import Filter

#: What OTA writes between the Markdown of the source documents of combined terms.
SOURCE_DOCUMENTS_SEPARATOR = "\n\n- - -\n\n"
PDF_MIME_TYPE = "application/pdf"
#: What stands for a PDF once pdf.js has read it (`ota.fetch.pdftext`): its text items, as JSON.
PDF_TEXT_MIME_TYPE = "application/vnd.ota.pdfjs-text+json"


def extract(
    content: bytes,
    mime_type: str,
    document: SourceDocument,
    service_filters: Mapping[str, Filter] | None = None,
) -> str:
    """The Markdown of one source document from its snapshot (raises ExtractError).

    A PDF's Markdown is the engine's when pdf.js has read it (`PDF_TEXT_MIME_TYPE`); a PDF itself
    gets pdfminer's readable text (`ota extract --readable`).
    """
    if mime_type == PDF_TEXT_MIME_TYPE:
        from ota.extract.pdfjs import pdf_text_to_markdown

        return pdf_text_to_markdown(content, location=document.location)
    if mime_type == PDF_MIME_TYPE:
        from ota.extract.pdf import pdf_to_markdown  # pdfminer is only loaded for PDFs

        return pdf_to_markdown(content, location=document.location)
    from ota.extract.html import html_to_markdown

    # Snapshots store text as UTF-8, whatever the page's own charset was.
    return html_to_markdown(content.decode("utf-8", errors="replace"), document, dict(service_filters or {}))


def extract_terms(
    sources: Sequence[tuple[SourceDocument, bytes, str]],
    service_filters: Mapping[str, Filter] | None = None,
) -> str:
    """The Markdown of a terms: its source documents' Markdown joined in declaration order."""
    return SOURCE_DOCUMENTS_SEPARATOR.join(
        extract(content, mime_type, document, service_filters) for document, content, mime_type in sources
    )
