"""Filters: small functions that clean a page before its terms are selected.

Every filter has the same signature, `filter(document, parameters, source_document)`:

- `document` is the parsed page, a `selectolax.lexbor.LexborHTMLParser` to read and edit in place
  (`document.css("a[href]")`, `node.attrs["href"] = …`, `node.remove()`, `node.insert_child(…)`);
- `parameters` is what the declaration gives the filter (`{"removeQueryParams": ["utm_source"]}`
  gives `["utm_source"]`), or None when it names the filter alone;
- `source_document` is the `ota.declarations.SourceDocument` being extracted.

Built-in filters are in `BUILTIN_FILTERS`; a service's own filters are the functions of its
`declarations/SERVICE_ID.filters.py`, the Python counterpart of OTA's `SERVICE_ID.filters.js`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ada_url import URL, URLSearchParams

from ota.errors import ExtractError
from ota.extract.links import base_url

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

    from ota.declarations import FilterRef, SourceDocument

Filter = Callable[["LexborHTMLParser", Any, "SourceDocument"], None]

#: Tracking parameters removed by `removeQueryParams` when the declaration names none.
DEFAULT_TRACKING_QUERY_PARAMS = (
    "fbclid", "gclid", "msclkid", "mc_eid", "dclid", "oly_anon_id", "oly_enc_id", "_openstat",
    "vero_conv", "vero_id", "wickedid", "yclid", "__s", "rb_clickid", "s_cid", "ml_subscriber",
    "ml_subscriber_hash", "_hsenc", "__hssc", "__hstc", "__hsfp", "hsCtaTracking", "mkt_tok",
)  # fmt: skip


def remove_query_params(document: LexborHTMLParser, parameters: Any, source_document: SourceDocument) -> None:
    """Delete the named query parameters from every `a[href]` and `img[src]`.

    An attribute is rewritten (as the WHATWG URL serialiser writes it) only when one of the
    parameters was present, so other links keep their exact text.
    """
    names = DEFAULT_TRACKING_QUERY_PARAMS if parameters is None else parameters
    if isinstance(names, str):
        names = [names]
    if not names:
        return
    base = base_url(document, source_document.location)
    for element in document.css("a[href], img[src]"):
        attribute = "href" if element.tag == "a" else "src"
        value = element.attributes.get(attribute) or ""
        try:
            url = URL(value, base=base)
        except ValueError:
            continue  # OTA leaves links it cannot parse as they are
        query = url.search
        params = URLSearchParams(query[1:] if query.startswith("?") else query)
        if not any(params.has(name) for name in names):
            continue
        for name in names:
            params.delete(name)
        serialised = str(params)
        url.search = serialised  # an empty string drops the `?`, as URLSearchParams updates do
        element.attrs[attribute] = url.href


#: Unicode's space separators (general category Zs) other than the plain space: U+00A0 no-break
#: space, U+1680 Ogham space mark, U+2000–U+200A en quad to hair space, U+202F narrow no-break
#: space, U+205F medium mathematical space, U+3000 ideographic space (JavaScript's `\p{Zs}`).
_SPACE_SEPARATORS = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def convert_spaces_to_standard(
    document: LexborHTMLParser, parameters: Any, source_document: SourceDocument
) -> None:
    """Replace every Unicode space separator by a plain space in the text of the body.

    Every text node under `<body>` (those of `script`, `style` and `noscript` included, not those of
    `<template>` contents) is rewritten only when it holds such a space, as OTA's filter does.
    """
    body = document.body
    if body is None:
        return
    changed = [
        node
        for node in body.traverse(include_text=True)
        if node.is_text_node and _SPACE_SEPARATORS.search(node.text_content or "")
    ]
    for node in changed:
        node.replace_with(_SPACE_SEPARATORS.sub(" ", node.text_content or ""))


BUILTIN_FILTERS: Mapping[str, Filter] = {
    "convertSpacesToStandard": convert_spaces_to_standard,
    "removeQueryParams": remove_query_params,
}
#: The names of the built-in filters, for code that checks declarations without extracting.
BUILTIN_FILTER_NAMES: frozenset[str] = frozenset(BUILTIN_FILTERS)


def resolve_filters(
    refs: tuple[FilterRef, ...], service_filters: Mapping[str, Filter] | None = None
) -> list[tuple[FilterRef, Filter]]:
    """The functions named by a declaration, the service's own taking precedence over built-ins."""
    available: dict[str, Filter] = {**BUILTIN_FILTERS, **(service_filters or {})}
    resolved = []
    for ref in refs:
        function = available.get(ref.name)
        if function is None:
            valid = ", ".join(sorted(available)) or "none"
            raise ExtractError(f'Unknown filter "{ref.name}"; the filters available are: {valid}')
        resolved.append((ref, function))
    return resolved


def apply_filters(
    document: LexborHTMLParser,
    source_document: SourceDocument,
    filters: list[tuple[FilterRef, Filter]],
) -> None:
    """Run the filters in declared order; a failing filter stops extraction with OTA's message."""
    for ref, function in filters:
        try:
            function(document, ref.parameters if ref.has_parameters else None, source_document)
        except MemoryError:
            raise  # not the filter's failure: the extraction's memory bound (ota.tracking.pool) reports it
        except Exception as error:  # a service filter is user code: report whatever it raised
            raise ExtractError(
                f'The filter function "{ref.name}" failed: {type(error).__name__}: {error}'
            ) from error
