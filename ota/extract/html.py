"""HTML snapshot → Markdown, in Open Terms Archive's order (OTA-FORMATS §4).

1. parse as browsers do (lexbor, HTML5), the `fetch` URL being the document URL;
2. filters, in declared order;
3. links made absolute; `script` and `style` removed; e-mail protection normalised;
4. `remove`, then `select`;
5. conversion to Markdown (turndown's rules, `ota.extract.markdown`).
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from ota.declarations import SourceDocument, selectors_text
from ota.errors import ExtractError
from ota.extract import dom, links, select
from ota.extract.dom import ELEMENT
from ota.extract.filters import Filter, apply_filters, resolve_filters
from ota.extract.markdown import to_markdown


def parse(html: str) -> LexborHTMLParser:
    """Parse a page into the tree a browser builds (scripting off, as jsdom)."""
    document = LexborHTMLParser(html)
    dom.ignore_tags_in_select(document)
    return document


def prepare(
    html: str,
    document: SourceDocument,
    service_filters: dict[str, Filter] | None = None,
) -> LexborHTMLParser:
    """The page as `remove` and `select` see it: parsed, filtered, its links absolute, without
    scripts and styles (raises ExtractError when a filter fails)."""
    filters = resolve_filters(document.filters, service_filters)
    page = parse(html)
    apply_filters(page, document, filters)
    links.make_links_absolute(page, document.location)
    page.strip_tags(["script", "style"])
    links.normalise_email_protection(page, document.location)
    return page


def html_to_markdown(
    html: str,
    document: SourceDocument,
    service_filters: dict[str, Filter] | None = None,
) -> str:
    """The Markdown of the terms `document` declares in the page `html`.

    Raises ExtractError with OTA's messages when a selector matches nothing, matches only
    empty content, or a filter fails.
    """
    page = prepare(html, document, service_filters)
    select.remove(page, document.remove)
    try:
        selected = select.select(page, document.select)
    except (dom.TooDeep, RecursionError) as error:
        raise ExtractError(f"The web page at '{document.location}' cannot be extracted: {error}") from None
    if not any(child.type == ELEMENT for child in selected.children()):
        raise ExtractError(
            f'The provided selector "{selectors_text(document.select)}" has no match in the web page at '
            f"'{document.location}'. This could be due to elements being removed before content selection "
            'if "remove" and "select" selectors match the same content.'
        )
    try:
        markdown = to_markdown(selected)
    except RecursionError:  # not expected below MAX_NESTING levels: a clear failure all the same
        raise ExtractError(
            f"The web page at '{document.location}' cannot be extracted: it is nested too deeply"
        ) from None
    if not markdown:
        raise ExtractError(
            f'The provided selector "{selectors_text(document.select)}" matches an empty content in the web '
            f"page at '{document.location}'"
        )
    return markdown
