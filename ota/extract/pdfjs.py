"""PDF → Markdown as Open Terms Archive writes it, from the text items pdf.js gives. Pure: no I/O.

The engine converts a PDF with `@accordproject/markdown-pdf` 0.16.25 over `pdfjs-dist` 2.13.216,
then `@accordproject/markdown-cicero`'s `toMarkdown`. Its text comes from pdf.js alone (glyph
positions, spaces inferred from gaps, ligatures, built-in metrics of fonts that are not embedded):
no other PDF library gives the same items, so pdf.js itself reads the PDF, in Chromium
(`ota.fetch.pdftext`), and hands its items here as JSON (`ota.extract.PDF_TEXT_MIME_TYPE`):
``{"pages": [[[str, y, height], …], …]}``, `y` being the item's `transform[5]`.

What the engine then does, and this module does byte for byte:

- on each page, items in drawing order; an item starts a new paragraph when |lastY − y| > 2 ×
  its height, lastY being the `y` of the last item that is not blank (0 at the top of each page),
  and every page starts a new paragraph; the items of a paragraph are glued with nothing between
  them (a wrapped line's last word and the next line's first word touch: "ofgovernment"); line
  breaks inside an item become spaces;
- each item is escaped by markdown-common's `escapeText`: `*`, `` ` ``, `&`, `>` everywhere, and
  at the start of the item only `#… `, `N. `, `- ` and `_`;
- paragraphs are joined by a blank line (an empty paragraph, made of blank items, adds one more),
  and the whole is trimmed as JavaScript trims.

The engine never reads a Markdown embedded in the PDF's metadata (`Info.Custom.markdown`):
markdown-pdf would with the option `loadMarkdown`, but `PdfTransformer.toCiceroMark` passes
`loadCiceroMark`, so neither does ota.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ota.errors import ExtractError
from ota.extract.jsstring import js_trim

#: markdown-pdf's `paragraphVerticalOffset`: a vertical jump of more than this many item heights
#: starts a paragraph.
PARAGRAPH_VERTICAL_OFFSET = 2

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SPECIAL = re.compile(r"[*`&>]")
# JavaScript's `^` without the m flag and its `\d` (ASCII digits only).
_HEADING = re.compile(r"\A(#+) ")
_ORDERED = re.compile(r"\A([0-9]+)\. ")
_BULLET = re.compile(r"\A- ")
_THEMATIC = re.compile(r"\A_")


def escape_text(text: str) -> str:
    """markdown-common's `escapeText`, applied to each text item."""
    text = _SPECIAL.sub(r"\\\g<0>", text)
    text = _HEADING.sub(r"\\\1 ", text)
    text = _ORDERED.sub(r"\1\\. ", text)
    text = _BULLET.sub(r"\\- ", text)
    return _THEMATIC.sub(r"\\_", text)


def paragraphs(pages: Sequence[Sequence[Sequence[Any]]]) -> Iterator[list[str]]:
    """The raw text of each item, grouped into the engine's paragraphs."""
    for items in pages:
        current: list[str] | None = None
        last_y = 0.0
        for text, y, height in items:
            # JavaScript's comparison: false when either side is NaN, as Python's is.
            if current is None or abs(last_y - y) > height * PARAGRAPH_VERTICAL_OFFSET:
                if current is not None:
                    yield current
                current = []
            current.append(_LINE_BREAK.sub(" ", text))
            if js_trim(text):
                last_y = y
        if current is not None:
            yield current


def pdf_text_to_markdown(content: bytes, *, location: str) -> str:
    """The Markdown the engine writes for a PDF whose pdf.js text items are `content`.

    Raises ExtractError in the engine's words when the PDF holds no text.
    """
    try:
        pages = json.loads(content)["pages"]
        markdown = js_trim("".join("\n\n" + "".join(map(escape_text, p)) for p in paragraphs(pages)))
    except (ValueError, KeyError, TypeError) as error:  # not what ota.fetch.pdftext writes: a bug
        raise ExtractError(f"The text of the PDF file at '{location}' is not pdf.js's: {error}") from error
    if not markdown:
        raise ExtractError(
            f"The PDF file at '{location}' contains no text, "
            "it might contain scanned images of text instead of actual text"
        )
    return markdown


def encode_pages(pages: Sequence[Sequence[Sequence[Any]]]) -> bytes:
    """`pages` as `ota.extract.PDF_TEXT_MIME_TYPE` content; positions that are not finite numbers are kept."""
    checked = [[[str(text), _number(y), _number(height)] for text, y, height in items] for items in pages]
    return json.dumps({"pages": checked}, ensure_ascii=False).encode("utf-8")


def _number(value: Any) -> float:
    """A position as JavaScript would compare it: a number, or NaN for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)
