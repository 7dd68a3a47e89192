"""PDF → readable Markdown: one paragraph per visual paragraph, pages in order.

What ota records for a PDF is the engine's Markdown, made of pdf.js's text (`ota.extract.pdfjs`):
wrapped lines glued, blank lines where the engine writes them. This module gives readable text
instead, for people (`ota extract --readable`); it is stable: the same PDF always gives the same
Markdown.

pdfminer.six interprets the pages and gives every glyph with its box, in content-stream order
(`ota.extract.pdfglyphs`).
Its own layout analysis (LAParams) is not used: it splits a bullet drawn apart from its text into
a separate box and puts list items of one page into one box, so glyphs are grouped here instead:

1. glyphs → fragments: consecutive glyphs on one baseline, moving right;
2. fragments → rows: fragments on one baseline that touch (or a bullet and its text);
3. rows → reading order: a row above another that it overlaps horizontally comes first,
   otherwise drawing order decides (columns and table cells as the producer wrote them);
4. rows → paragraphs: a row continues the paragraph of the row before it unless a gap, a change
   of size or weight, a bullet, an indent, or room left on the previous row says otherwise.
"""

from __future__ import annotations

import bisect
import heapq
import re
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from ota.errors import ExtractError
from ota.extract.pdfglyphs import Glyph, page_glyphs

# Above this many rows on a page, rows are read top to bottom without looking for columns.
MAX_ROWS_ANALYSED = 1_000

# Distances below are in units of the font size ("em") unless named otherwise.
WORD_GAP = 0.1  # a gap wider than this between two glyphs is a space (pdfminer's word_margin)
FRAGMENT_GAP = 3.0  # glyphs drawn one after the other further apart than this start a new fragment
ROW_GAP = 1.0  # fragments drawn apart are one row when closer than this...
MARKER_GAP = 6.0  # ...or this, when the left one is a bullet or a number
PARAGRAPH_EXTRA_GAP = 0.35  # a paragraph break is a line gap this much wider than the usual one

_BULLETS = "•●▪■◦○◆◇♦❖➢➤►▸‣⁃∙·□☐✓✔➔→"
_BULLET_START = re.compile(rf"^([{_BULLETS}]|[\ue000-\uf8ff])(\s|$)")
_NUMBER = r"(\d{1,3}(\.\d{1,3})*|[a-zA-Z]|[ivxlcdmIVXLCDM]{1,6})"
_NUMBER_START = re.compile(rf"^(\(?{_NUMBER}[.)]|\({_NUMBER}\))(\s|$)")
_DOT_LEADERS = re.compile(r"(\.\s*){4,}[\w-]{1,8}$")  # a table of contents entry: "Scope . . . . 3"
_WHITESPACE = re.compile(r"[\s\u00a0]+")


def pdf_to_markdown(data: bytes, *, location: str) -> str:
    """Return the text of the PDF `data` as Markdown paragraphs separated by blank lines.

    Raises ExtractError in OTA's words when the file cannot be parsed or holds no text;
    `location` (the URL the PDF was fetched from) goes in the latter message.
    """
    rows = [
        row for number, chars in page_glyphs(data) for row in _read_in_order(_rows(_fragments(chars)), number)
    ]
    text = "\n\n".join(_escape(paragraph) for paragraph in _paragraphs(rows))
    if not text:
        raise ExtractError(
            f"The PDF file at '{location}' contains no text, "
            "it might contain scanned images of text instead of actual text"
        )
    return text


# -- fragments and rows -------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """Text on one baseline: a fragment drawn in one go, or fragments merged into a row."""

    chars: list[Glyph]
    x0: float = 0.0
    x1: float = 0.0
    y0: float = 0.0
    y1: float = 0.0
    size: float = 0.0
    bold: bool = False
    mono: bool = False
    seq: int = 0
    page: int = 0
    text: str = ""
    first_word: float = 0.0  # width of the first word

    def finish(self) -> _Row:
        visible = [c for c in self.chars if not c.text.isspace()] or self.chars
        self.x0 = min(c.x0 for c in visible)
        self.x1 = max(c.x1 for c in visible)
        self.y0 = min(c.y0 for c in visible)
        self.y1 = max(c.y1 for c in visible)
        self.size = statistics.median_high(round(c.size, 1) for c in visible)
        self.bold = sum(c.bold for c in visible) >= 0.8 * len(visible)
        self.mono = sum(c.mono for c in visible) >= 0.8 * len(visible)
        self.seq = min(c.seq for c in self.chars)
        return self


def _spaced_text(chars: list[Glyph]) -> tuple[str, float]:
    """The glyphs' text, with a space wherever a gap is wider than a word gap; first word's width."""
    out: list[str] = []
    start: float | None = None
    right: float | None = None
    first_word_end: float | None = None
    for c in chars:
        if right is not None and c.x0 - right > WORD_GAP * c.size:
            out.append(" ")
            if first_word_end is None:
                first_word_end = right
        if c.text.isspace():
            if right is not None and first_word_end is None:
                first_word_end = right
        else:
            start = c.x0 if start is None else start
            right = c.x1 if right is None else max(right, c.x1)
        out.append(c.text)
    text = _WHITESPACE.sub(" ", "".join(out)).strip()
    if start is None or right is None:
        return text, 0.0
    return text, (right if first_word_end is None else first_word_end) - start


def _fragments(chars: list[Glyph]) -> list[_Row]:
    """Glyphs drawn one after the other on one baseline, left to right."""
    fragments: list[_Row] = []
    current: list[Glyph] = []
    right = 0.0
    for c in chars:
        if current:
            last = current[-1]
            size = max(last.size, c.size)
            if _same_line(last, c) and c.x0 >= last.x0 - 0.1 * size and c.x0 - right <= FRAGMENT_GAP * size:
                current.append(c)
                right = max(right, c.x1)
                continue
            fragments.append(_Row(current).finish())
        current = [c]
        right = c.x1
    if current:
        fragments.append(_Row(current).finish())
    return fragments


def _rows(fragments: list[_Row]) -> list[_Row]:
    """Merge fragments drawn apart on one baseline (a bullet and its text, restyled words)."""
    if len(fragments) > MAX_ROWS_ANALYSED:
        groups = [[f] for f in fragments]
    else:
        parent = list(range(len(fragments)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        by_bottom = sorted(range(len(fragments)), key=lambda i: fragments[i].y0)
        bottoms = [fragments[i].y0 for i in by_bottom]
        for i, a in enumerate(fragments):
            lo = bisect.bisect_left(bottoms, a.y0 - a.size)
            hi = bisect.bisect_right(bottoms, a.y0 + a.size)
            for j in by_bottom[lo:hi]:
                b = fragments[j]
                if j <= i or not _same_line(a, b):
                    continue
                left, right = (a, b) if a.x0 <= b.x0 else (b, a)
                limit = MARKER_GAP if _is_marker(left) else ROW_GAP
                if right.x0 - left.x1 <= limit * max(a.size, b.size):
                    parent[root(i)] = root(j)
        merged: dict[int, list[_Row]] = {}
        for i, f in enumerate(fragments):
            merged.setdefault(root(i), []).append(f)
        groups = list(merged.values())
    rows = []
    for group in groups:
        group.sort(key=lambda f: (f.x0, f.seq))
        chars = [c for f in group for c in f.chars]
        row = _Row(chars).finish()
        row.text, row.first_word = _spaced_text(chars)
        if row.text:
            rows.append(row)
    rows.sort(key=lambda r: r.seq)
    return rows


def _is_marker(fragment: _Row) -> bool:
    text = "".join(c.text for c in fragment.chars).strip()
    return len(text) <= 6 and bool(_BULLET_START.match(text) or _NUMBER_START.match(text))


def _same_line(a: Glyph | _Row, b: Glyph | _Row) -> bool:
    """Whether a and b overlap vertically by half the height of the smaller one."""
    return min(a.y1, b.y1) - max(a.y0, b.y0) >= 0.5 * min(a.y1 - a.y0, b.y1 - b.y0)


def _hoverlap(a: Glyph | _Row, b: Glyph | _Row) -> float:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


# -- reading order ------------------------------------------------------------------------------


def _read_in_order(rows: list[_Row], page: int) -> list[_Row]:
    """The page's rows in reading order, marked with the page number.

    A row comes after every row above it that it overlaps horizontally (by a quarter of the
    narrower, so that a line spilling into the gutter does not tie two columns); among the rows
    that may come next, the one drawn first. Columns and table cells thus come in the order the
    producer drew them, and a page drawn in any order still reads from top to bottom.
    """
    for row in rows:
        row.page = page
    if len(rows) > MAX_ROWS_ANALYSED:
        return sorted(rows, key=lambda r: (-r.y1, r.x0))
    after: list[list[int]] = [[] for _ in rows]
    waiting = [0] * len(rows)
    for i, a in enumerate(rows):
        for j, b in enumerate(rows):
            overlap = _hoverlap(a, b)
            if a.y1 > b.y1 + 0.1 and overlap > 1 and overlap > 0.25 * min(a.x1 - a.x0, b.x1 - b.x0):
                after[i].append(j)
                waiting[j] += 1
    ready = [(row.seq, i) for i, row in enumerate(rows) if not waiting[i]]
    heapq.heapify(ready)
    ordered: list[_Row] = []
    while ready:
        _, i = heapq.heappop(ready)
        ordered.append(rows[i])
        for j in after[i]:
            waiting[j] -= 1
            if not waiting[j]:
                heapq.heappush(ready, (rows[j].seq, j))
    return ordered


# -- paragraphs ---------------------------------------------------------------------------------


def _paragraphs(rows: list[_Row]) -> Iterator[str]:
    """Join rows into paragraphs; yield each one's text."""
    page_of = [r.page for r in rows]
    usual_gap = _usual_line_gap(rows, page_of)
    extents: dict[int, tuple[float, float]] = {}
    for r, p in zip(rows, page_of, strict=True):
        x0, x1 = extents.get(p, (r.x0, r.x1))
        extents[p] = (min(x0, r.x0), max(x1, r.x1))
    paragraph: list[_Row] = []
    text = ""
    for i, row in enumerate(rows):
        if paragraph and page_of[i] == page_of[i - 1]:
            following = rows[i + 1] if i + 1 < len(rows) and page_of[i + 1] == page_of[i] else None
            if _continues(paragraph, row, following, usual_gap, extents[page_of[i]]):
                text = _join(text, row.text)
                paragraph.append(row)
                continue
        if text:
            yield text
        paragraph, text = [row], row.text
    if text:
        yield text


def _usual_line_gap(rows: list[_Row], page_of: list[int]) -> dict[float, float]:
    """The gap between two lines of one paragraph, in em, by font size: the low quartile of the
    document's gaps (body text and footnotes, say, are spaced differently)."""
    gaps: dict[float, list[float]] = {}
    for i in range(1, len(rows)):
        a, b = rows[i - 1], rows[i]
        gap = (a.y0 - b.y1) / max(a.size, b.size)
        if page_of[i] == page_of[i - 1] and _hoverlap(a, b) > 0 and -0.3 <= gap <= 1.5:
            gaps.setdefault(a.size, []).append(gap)
    every = [gap for by_size in gaps.values() for gap in by_size]
    # With too few lines to tell, single spacing, the most common.
    default = statistics.quantiles(every, n=4, method="inclusive")[0] if len(every) >= 4 else 0.25
    usual = {
        size: statistics.quantiles(g, n=4, method="inclusive")[0] for size, g in gaps.items() if len(g) >= 4
    }
    return defaultdict(lambda: default, usual)


def _continues(
    paragraph: list[_Row],
    row: _Row,
    following: _Row | None,
    usual_gap: dict[float, float],
    extent: tuple[float, float],
) -> bool:
    """Whether `row` continues the paragraph (its rows so far) rather than starting a new one."""
    prev = paragraph[-1]
    size = max(prev.size, row.size)
    if _same_line(prev, row):
        # Further right on a line: a page number beside a footer, a table cell beside another.
        return row.x0 >= prev.x1 - 0.1 * size and all(_same_line(r, row) for r in paragraph)
    if not _below(prev, row, usual_gap) or _hoverlap(prev, row) <= 0:
        return False
    if abs(prev.size - row.size) > 0.15 * size or prev.bold != row.bold:
        return False
    if _BULLET_START.match(row.text):
        return False
    if _NUMBER_START.match(row.text) and prev.text.endswith((".", ";")):
        return False
    if _DOT_LEADERS.search(prev.text):
        return False
    space = 0.25 * size  # a typical word space
    indent = max(2.0, 0.4 * size)
    centred = (
        abs((prev.x0 + prev.x1) - (row.x0 + row.x1)) / 2 <= 0.5 * size
        and abs(prev.x0 - row.x0) > indent
        and abs(prev.x1 - row.x1) > indent
    )
    if centred:
        # Centred lines break where the next word no longer fits in the text's width.
        width = extent[1] - extent[0]
        return (prev.x1 - prev.x0) + space + row.first_word >= width - 0.5 * size
    # The left edge may move between a paragraph's first and second lines (an indented first line,
    # a hanging bullet), never after.
    if abs(row.x0 - prev.x0) > indent and len(paragraph) > 1:
        return False
    # A line ends its paragraph when the next line's first word would have fitted on it. The right
    # margin is the furthest the paragraph's lines reach (lists may have their own), looking one
    # line further when it has only one so far; for monospaced text, often code whose lines are all
    # short, it is the page's.
    right = max(r.x1 for r in [*paragraph, row])
    if (
        len(paragraph) == 1
        and following is not None
        and _below(row, following, usual_gap)
        and _hoverlap(row, following) > 0
    ):
        right = max(right, following.x1)
    if prev.mono and row.mono:
        right = extent[1]
    return prev.x1 + space + row.first_word >= right - 0.5 * size


def _below(above: _Row, row: _Row, usual_gap: dict[float, float]) -> bool:
    """Whether `row` is the next line after `above`, no further than a line gap."""
    size = max(above.size, row.size)
    gap = (above.y0 - row.y1) / size
    return -0.3 <= gap <= usual_gap[above.size] + PARAGRAPH_EXTRA_GAP


def _join(text: str, more: str) -> str:
    if text.endswith("\u00ad"):
        return text[:-1] + more  # a soft hyphen: the word was only split for the line
    if len(text) > 1 and text.endswith(("-", "\u2010")) and text[-2].isalpha():
        return text + more  # keep the hyphen, join the word: "government-to-" + "government"
    return f"{text} {more}"


# -- Markdown -----------------------------------------------------------------------------------

# turndown's escapes: these characters anywhere, and block syntax at the start of a paragraph.
_ESCAPE_ANYWHERE = re.compile(r"([\\*`\[\]_])")
_ESCAPE_AT_START = re.compile(r"^(-|\+ |=+|#{1,6} |~~~|>)")
_ORDERED_LIST_START = re.compile(r"^(\d+)\. ")


def _escape(text: str) -> str:
    """Escape Markdown syntax in a paragraph the way turndown escapes text."""
    text = _ESCAPE_ANYWHERE.sub(r"\\\1", text.replace("\u00ad", ""))
    return _ORDERED_LIST_START.sub(r"\1\\. ", _ESCAPE_AT_START.sub(r"\\\1", text))
