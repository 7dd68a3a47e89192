"""A PDF's glyphs, page by page, as pdfminer.six draws them: each with its box, size, weight and
place in the content streams; invisible, duplicated and off-page glyphs left out. `ota.extract.pdf`
groups them into rows and paragraphs."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LTChar, LTContainer, LTPage
from pdfminer.pdfcolor import PDFColorSpace
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdffont import PDFFont
from pdfminer.pdfinterp import PDFGraphicState, PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFStream
from pdfminer.utils import Matrix

from ota.errors import ExtractError

# Glyphs kept per page; a text page holds a few thousand, so only pathological pages are cut
# (always at the same glyph, so the output stays stable).
MAX_CHARS_PER_PAGE = 50_000
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
_MONOSPACED_FONT = re.compile(r"courier|mono|consol|typewriter|code|cmtt|sftt", re.IGNORECASE)
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200d\u2060\ufeff\ufffe\uffff]")
# -- glyphs -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Glyph:
    """One glyph drawn on a page: its text, box, font size, weight and place in the drawing."""

    text: str
    x0: float
    x1: float
    y0: float
    y1: float
    size: float
    bold: bool
    mono: bool
    seq: int  # position in the page's content streams


class _GlyphCollector(PDFPageAggregator):
    """A pdfminer device that keeps glyphs only, at most MAX_CHARS_PER_PAGE per page."""

    def __init__(self, rsrcmgr: PDFResourceManager) -> None:
        super().__init__(rsrcmgr, laparams=None)
        self.glyphs = 0

    def begin_page(self, page: PDFPage, ctm: Matrix) -> None:
        self.glyphs = 0
        super().begin_page(page, ctm)

    def render_char(
        self,
        matrix: Matrix,
        font: PDFFont,
        fontsize: float,
        scaling: float,
        rise: float,
        cid: int,
        ncs: PDFColorSpace,
        graphicstate: PDFGraphicState,
    ) -> float:
        self.glyphs += 1
        if self.glyphs > MAX_CHARS_PER_PAGE:
            return font.char_width(cid) * fontsize * scaling  # the advance, without keeping the glyph
        return super().render_char(matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate)

    def handle_undefined_char(self, font: PDFFont, cid: int) -> str:
        return ""  # pdfminer's "(cid:N)" placeholders are noise for readers

    def paint_path(self, gstate: PDFGraphicState, stroke: bool, fill: bool, evenodd: bool, path: Any) -> None:
        """Lines and shapes carry no text: skipped, which also saves time on drawings."""

    def render_image(self, name: str, stream: PDFStream) -> None:
        """Images carry no text."""


def page_glyphs(data: bytes) -> Iterator[tuple[int, list[Glyph]]]:
    """Each page's number and glyphs."""
    # pdfminer reports a damaged file with many exception types (its own, ValueError, KeyError,
    # TypeError, zlib and struct errors, RecursionError on looping objects): all mean "can't parse".
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
        resources = PDFResourceManager(caching=True)
        device = _GlyphCollector(resources)
        interpreter = PDFPageInterpreter(resources, device)
        pages = list(PDFPage.create_pages(document))
    except MemoryError:
        raise  # the extraction's memory bound, reported by ota.tracking.pool
    except Exception as exc:
        raise ExtractError("Can't parse PDF file") from exc
    if not pages:
        raise ExtractError("Can't parse PDF file")
    for number, page in enumerate(pages):
        try:
            interpreter.process_page(page)
            layout = device.get_result()
        except MemoryError:
            raise
        except Exception as exc:
            raise ExtractError("Can't parse PDF file") from exc
        yield number, _glyphs(layout)


def _glyphs(layout: LTPage) -> list[Glyph]:
    """The page's glyphs in drawing order, without invisible, duplicated or off-page ones."""
    found: list[LTChar] = []

    def walk(container: LTContainer[Any]) -> None:
        for item in container:
            if isinstance(item, LTChar):
                found.append(item)
            elif isinstance(item, LTContainer):
                walk(item)  # text drawn inside forms (LTFigure) is text like any other

    walk(layout)
    px0, py0, px1, py1 = layout.bbox
    horizontal = [c for c in found if _is_horizontal(c)]
    # A page whose text is all rotated keeps it: some text beats none.
    kept = horizontal or found
    chars: list[Glyph] = []
    seen: dict[tuple[str, int, int], Glyph] = {}
    for seq, c in enumerate(kept):
        text = _INVISIBLE.sub("", c.get_text().translate(_LIGATURES))
        if not text or c.size < 1 or c.x1 < px0 or c.x0 > px1 or c.y1 < py0 or c.y0 > py1:
            continue
        bold, mono = bool(_BOLD_FONT.search(c.fontname)), bool(_MONOSPACED_FONT.search(c.fontname))
        char = Glyph(text, c.x0, c.x1, c.y0, c.y1, c.size, bold, mono, seq)
        # Some producers draw text twice, slightly shifted, to fake bold: keep the first copy.
        key = (text, round(c.x0 / 2), round(c.y0 / 2))
        if not text.isspace() and _drawn_before(char, key, seen):
            continue
        seen[key] = char
        chars.append(char)
    return chars


def _is_horizontal(c: LTChar) -> bool:
    a, b, cc, d, _, _ = c.matrix
    return a > 0 and d > 0 and abs(b) <= 0.05 * a and abs(cc) <= 0.05 * d


def _drawn_before(char: Glyph, key: tuple[str, int, int], seen: dict[tuple[str, int, int], Glyph]) -> bool:
    """Whether the same glyph was drawn at (nearly) the same place; `seen` is a 2-point grid."""
    text, gx, gy = key
    width = max(char.x1 - char.x0, 0.1)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            other = seen.get((text, gx + dx, gy + dy))
            if (
                other is not None
                and abs(char.x0 - other.x0) < 0.3 * width
                and abs(char.y0 - other.y0) < 0.3 * char.size
            ):
                return True
    return False
