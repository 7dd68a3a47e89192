"""PDF → readable Markdown (pdfminer, `ota extract --readable`), on small PDFs written by hand here
(Helvetica, WinAnsi), so every layout is exact. What ota records is tested in tests/test_pdftext.py."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import struct
from pathlib import Path

import pytest
from pdfminer.arcfour import Arcfour
from pdfminer.fontmetrics import FONT_METRICS

from ota.errors import ExtractError
from ota.extract import pdfglyphs
from ota.extract.pdf import pdf_to_markdown

LOREM = (
    "These terms govern the use of the service and describe the obligations of every user who accesses "
    "it from any device, in any country, for any purpose whatsoever, including testing."
)
OTHER = (
    "We may change these terms at any time and will tell you about material changes by e-mail or by a "
    "notice displayed in the service before they take effect."
)

# -- a minimal PDF writer -------------------------------------------------------------------------

_TO_UNICODE = b"""/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CMapName /OtaTest def /CMapType 2 def
1 begincodespacerange <00> <FF> endcodespacerange
2 beginbfchar <AD> <00AD> <80> <FB01> endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end"""

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def make_pdf(*pages: str, form: str | None = None, encrypt: bool = False) -> bytes:
    """A PDF whose pages have the given content streams.

    Fonts: F1 Helvetica, F2 Helvetica-Bold, F3 Helvetica whose code AD is a soft hyphen and 80 the
    ligature fi, F4 Courier; form XObject Fm1 if `form` is given. With `encrypt`, RC4 40-bit
    encryption with an empty user password, which anyone can open.
    """
    objects: list[tuple[bytes, bytes | None]] = []  # (dictionary, stream data)

    def add(dictionary: str, stream: bytes | None = None) -> int:
        objects.append((dictionary.encode(), stream))
        return len(objects)

    font = "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding{} >>"
    fonts = " ".join(
        f"/F{i} {add(font.format(name, extra))} 0 R"
        for i, name, extra in [
            (1, "Helvetica", ""),
            (2, "Helvetica-Bold", ""),
            (3, "Helvetica", f" /ToUnicode {add('<< >>', _TO_UNICODE)} 0 R"),
            (4, "Courier", ""),
        ]
    )
    resources = f"/Font << {fonts} >>"
    if form is not None:
        fm = add(
            f"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << {resources} >> >>",
            form.encode("cp1252"),
        )
        resources += f" /XObject << /Fm1 {fm} 0 R >>"
    pages_id = len(objects) + 1 + 2 * len(pages)
    kids = []
    for content in pages:
        stream = add("<< >>", content.encode("cp1252"))
        kids.append(
            add(
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 612 792] "
                f"/Resources << {resources} >> /Contents {stream} 0 R >>"
            )
        )
    add(f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>")
    catalog = add(f"<< /Type /Catalog /Pages {pages_id} 0 R >>")
    file_id = hashlib.md5(b"ota test").digest()
    trailer = f"/Root {catalog} 0 R"
    key = b""
    if encrypt:
        permissions = -4
        # Algorithms 3, 2 and 4 of the PDF reference, revision 2; passwords are padded with _PAD.
        owner = Arcfour(hashlib.md5((b"owner" + _PAD)[:32]).digest()[:5]).encrypt(_PAD)
        key = hashlib.md5(_PAD + owner + struct.pack("<i", permissions) + file_id).digest()[:5]
        user = Arcfour(key).encrypt(_PAD)
        encrypt_id = add(
            f"<< /Filter /Standard /V 1 /R 2 /O <{owner.hex()}> /U <{user.hex()}> /P {permissions} >>"
        )
        trailer += f" /Encrypt {encrypt_id} 0 R"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, (dictionary, stream) in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode()
        if stream is None:
            out += dictionary
        else:
            if key:
                object_key = hashlib.md5(key + struct.pack("<i", number)[:3] + b"\0\0").digest()[:10]
                stream = Arcfour(object_key).encrypt(stream)
            out += dictionary[:-2] + f"/Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        out += b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer += f" /ID [<{file_id.hex()}> <{file_id.hex()}>]"
    out += f"trailer\n<< /Size {len(objects) + 1} {trailer} >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _escaped(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text(x: float, y: float, s: str, *, size: float = 11, font: str = "F1") -> str:
    """One line of text with its baseline's left end at (x, y)."""
    return f"BT /{font} {size} Tf {x:.2f} {y:.2f} Td ({_escaped(s)}) Tj ET\n"


def width(s: str, size: float = 11, font: str = "Helvetica") -> float:
    widths = FONT_METRICS[font][1]
    return sum(widths.get(c, 556) for c in s) * size / 1000


def wrap(
    s: str, available: float, *, size: float = 11, font: str = "F1", first_indent: float = 0
) -> list[str]:
    """`s` in lines no wider than `available`, the first one `first_indent` narrower."""
    metrics = "Helvetica-Bold" if font == "F2" else "Helvetica"
    lines: list[str] = []
    for word in s.split():
        room = available - (first_indent if len(lines) == 1 else 0)
        if lines and width(f"{lines[-1]} {word}", size, metrics) <= room:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def paragraph(
    x: float,
    y: float,
    s: str,
    *,
    right: float = 540,
    size: float = 11,
    leading: float = 14,
    font: str = "F1",
    first_indent: float = 0,
) -> tuple[str, float]:
    """`s` wrapped between x and `right` like a word processor would; returns the content and the
    baseline of the line that would come next."""
    out = ""
    for i, line in enumerate(wrap(s, right - x, size=size, font=font, first_indent=first_indent)):
        out += text(x + (first_indent if i == 0 else 0), y, line, size=size, font=font)
        y -= leading
    return out, y


def similarity(expected: str, actual: str) -> float:
    return difflib.SequenceMatcher(None, expected.splitlines(), actual.splitlines(), autojunk=False).ratio()


# -- paragraphs -------------------------------------------------------------------------------------


def test_lines_of_a_paragraph_are_joined_and_paragraphs_separated_by_a_blank_line() -> None:
    """Wrapped lines become one paragraph; a wider gap starts the next one."""
    first, y = paragraph(72, 700, LOREM)
    second, _ = paragraph(72, y - 10, OTHER)
    assert pdf_to_markdown(make_pdf(first + second), location="x") == f"{LOREM}\n\n{OTHER}"


def test_a_line_with_room_left_ends_its_paragraph_even_without_a_gap() -> None:
    """Paragraphs set without spacing are told apart by the short last line of each."""
    first, y = paragraph(72, 700, LOREM)
    second, _ = paragraph(72, y, OTHER)
    assert pdf_to_markdown(make_pdf(first + second), location="x") == f"{LOREM}\n\n{OTHER}"


def test_first_line_indents_start_paragraphs() -> None:
    """An indented first line after a full line starts a paragraph; the outdent after it does not."""
    full = " ".join(wrap(f"{LOREM} {OTHER}", 540 - 72, first_indent=20)[:-1])  # its last line is full
    first, y = paragraph(72, 700, full, first_indent=20)
    second, _ = paragraph(72, y, OTHER, first_indent=20)
    assert pdf_to_markdown(make_pdf(first + second), location="x") == f"{full}\n\n{OTHER}"


def test_headings_and_short_lines_stay_apart() -> None:
    """A bold heading right above its text, and centred title lines, are paragraphs of their own."""
    content = "".join(
        text(306 - width(line, 14, "Helvetica-Bold") / 2, y, line, size=14, font="F2")
        for y, line in [(740, "TERMS OF SERVICE"), (722, "Version 2")]
    )
    content += text(72, 690, "1. Scope", font="F2")
    body, _ = paragraph(72, 676, LOREM)
    assert pdf_to_markdown(make_pdf(content + body), location="x") == (
        f"TERMS OF SERVICE\n\nVersion 2\n\n1\\. Scope\n\n{LOREM}"
    )


def test_a_change_of_size_or_weight_starts_a_paragraph() -> None:
    """Full lines directly below one another are still apart when the type changes."""
    bold = "IMPORTANT: PLEASE READ THESE TERMS CAREFULLY, THEY AFFECT YOUR RIGHTS."
    small = (
        "This notice is given in accordance with the consumer protection laws of the country of residence."
    )
    body = "These terms govern the use of the service and describe the obligations of every user who uses it."
    content = text(72, 700, bold, font="F2") + text(72, 686, body) + text(72, 674, small, size=8)
    assert pdf_to_markdown(make_pdf(content), location="x").split("\n\n") == [bold, body, small]


def test_bullets_drawn_apart_from_their_text_start_list_items() -> None:
    """A bullet drawn separately (as Word does) is put before its item; a hanging line continues it."""
    item, _ = paragraph(108, 658, LOREM, right=500)
    content = text(72, 700, "The request must:")
    content += text(108, 686, "be in writing;") + text(108, 672, "be signed;") + item
    content += text(90, 686, "•") + text(90, 672, "•") + text(90, 658, "•")
    expected = f"The request must:\n\n• be in writing;\n\n• be signed;\n\n• {LOREM}"
    assert pdf_to_markdown(make_pdf(content), location="x") == expected


def test_numbers_at_line_start() -> None:
    """A number starting a line after a full stop or semicolon starts an item; after a colon, a
    wrapped sentence goes on (the three lines are full enough to be joined otherwise)."""
    lines = [
        "OpenAI will only disclose data about the users of our service in two cases:",
        "(a) pursuant to valid legal process that is consistent with the law of the land;",
        "(b) with the consent of the user.",
    ]
    content = "".join(text(72, 700 - 14 * i, line) for i, line in enumerate(lines))
    assert pdf_to_markdown(make_pdf(content), location="x") == f"{lines[0]} {lines[1]}\n\n{lines[2]}"


def test_table_of_contents_entries_stay_apart() -> None:
    """Lines ending with dot leaders and a page number are entries, however long."""
    entries = ["1 Scope", "2 Definitions", "3 Liability"]
    content = "".join(text(72, 700 - 14 * i, f"{e} {'. ' * 60}{i + 1}") for i, e in enumerate(entries))
    assert [
        p.split(" .")[0] for p in pdf_to_markdown(make_pdf(content), location="x").split("\n\n")
    ] == entries


def test_monospaced_lines_stay_apart() -> None:
    """Code lines are short but not the end of a paragraph each: each one stays a line."""
    code = ["Version ::= SEQUENCE {", "  id INTEGER,", "  value BOOLEAN", "}"]
    body, _ = paragraph(72, 700, LOREM)
    content = body + "".join(text(72, 640 - 12 * i, line, size=10, font="F4") for i, line in enumerate(code))
    assert pdf_to_markdown(make_pdf(content), location="x") == "\n\n".join(
        [LOREM, *(c.strip() for c in code)]
    )


def test_hyphens_at_line_ends() -> None:
    """A hyphen ending a line is kept and the word joined; a soft hyphen disappears."""
    content = text(72, 700, "This agreement is made on a government-to-", font="F3")
    content += text(72, 686, "government basis and is deemed non-trans\xad", font="F3")
    content += text(72, 672, "ferable.", font="F3")
    assert pdf_to_markdown(make_pdf(content), location="x") == (
        "This agreement is made on a government-to-government basis and is deemed non-transferable."
    )


def test_ligatures_are_spelled_out() -> None:
    """The ﬁ ligature becomes the two letters, so the words can be searched."""
    content = text(72, 700, "Notice of modi€cation", font="F3")
    assert pdf_to_markdown(make_pdf(content), location="x") == "Notice of modification"


# -- pages and reading order ------------------------------------------------------------------------


def test_pages_in_order_with_a_paragraph_break_between_them() -> None:
    """Each page's text follows the previous page's; a page break is a paragraph break."""
    first, _ = paragraph(72, 700, LOREM)
    second, _ = paragraph(72, 700, OTHER)
    footer = text(72, 40, "Version 3") + text(530, 40, "1")
    assert pdf_to_markdown(make_pdf(first + footer, second), location="x") == (
        f"{LOREM}\n\nVersion 3 1\n\n{OTHER}"
    )


def test_blank_pages_are_skipped() -> None:
    """A page without text adds nothing, not even an empty paragraph."""
    first, _ = paragraph(72, 700, LOREM)
    assert pdf_to_markdown(make_pdf(first, "", first), location="x") == f"{LOREM}\n\n{LOREM}"


def test_drawing_order_does_not_reorder_a_single_column() -> None:
    """Headings drawn after the body text (some producers draw by font) are read in place."""
    body1, y = paragraph(72, 686, LOREM)
    body2, _ = paragraph(72, y - 20, OTHER)
    headings = text(72, 700, "Use", font="F2") + text(72, y - 6, "Changes", font="F2")
    assert pdf_to_markdown(make_pdf(body1 + body2 + headings), location="x") == (
        f"Use\n\n{LOREM}\n\nChanges\n\n{OTHER}"
    )


def test_two_columns_are_read_one_after_the_other() -> None:
    """A title spanning both columns comes first, then the left column, then the right one."""
    title = text(230, 740, "Privacy Policy", size=16, font="F2")
    left, _ = paragraph(72, 700, LOREM, right=290)
    right, _ = paragraph(322, 700, OTHER, right=540)
    assert pdf_to_markdown(make_pdf(title + left + right), location="x") == (
        f"Privacy Policy\n\n{LOREM}\n\n{OTHER}"
    )


def test_table_cells_drawn_row_by_row_are_read_row_by_row() -> None:
    """Cells of one table row are read together, a wrapped cell as one text."""
    content = text(72, 700, "Data", font="F2") + text(250, 700, "Purpose", font="F2")
    content += text(480, 700, "Kept", font="F2")
    y = 680.0
    for data, purpose in [("Contact data", LOREM), ("Usage data", "To improve the service.")]:
        cell, next_y = paragraph(250, y, purpose, right=460)
        content += text(72, y, data) + cell
        y = next_y - 8
    assert pdf_to_markdown(make_pdf(content), location="x").split("\n\n") == [
        "Data Purpose Kept",
        f"Contact data {LOREM}",
        "Usage data To improve the service.",
    ]


def test_a_line_spilling_into_the_next_column_does_not_mix_them() -> None:
    """A long word overhanging the gutter, below the end of the next column, stays in its column."""
    url = "https://example.com/legal/terms-of-service/archive/2024-01"
    left, y_left = paragraph(72, 700, LOREM, right=290)
    right, y_right = paragraph(322, 700, "We may change these terms at any time.", right=540)
    assert width(url) > 322 - 72 and y_right > y_left
    content = left + text(72, y_left, url) + right
    assert pdf_to_markdown(make_pdf(content), location="x") == (
        f"{LOREM} {url}\n\nWe may change these terms at any time."
    )


def test_a_footnote_under_two_columns_comes_after_both() -> None:
    """Text spanning the page under two columns follows them, whenever it was drawn."""
    left, y = paragraph(72, 700, f"{LOREM} {OTHER}", right=290)
    right, _ = paragraph(322, 700, OTHER, right=540)
    note = "1 A footnote that runs across the whole width of the page, under both columns."
    content = left + text(72, y - 4, note, size=9) + right
    assert pdf_to_markdown(make_pdf(content), location="x") == f"{LOREM} {OTHER}\n\n{OTHER}\n\n{note}"


def test_text_inside_forms_and_duplicated_text() -> None:
    """Text drawn in a form XObject is read; text drawn twice to look bold is read once;
    rotated text (a watermark) is left out."""
    content = "q 1 0 0 1 0 0 cm /Fm1 Do Q\n" + text(72, 700, "Definitions") + text(72.3, 700, "Definitions")
    content += "BT /F1 60 Tf 0.7071 0.7071 -0.7071 0.7071 200 300 Tm (DRAFT) Tj ET\n"
    data = make_pdf(content, form=text(72, 720, "Annex"))
    assert pdf_to_markdown(data, location="x") == "Annex\n\nDefinitions"


# -- Markdown --------------------------------------------------------------------------------------


def test_markdown_characters_are_escaped_like_turndown() -> None:
    """Backslash, * _ ` [ ] everywhere; - + = # > and numbers only where a paragraph starts."""
    lines = [
        r"a*b_c `d` [e] f\g h-i 1. j # k > l",
        "- dash",
        "+ plus",
        "== equals",
        "## hash",
        "> quote",
        "12. twelve",
        "~~~ fence",
    ]
    content = "".join(text(72, 700 - 30 * i, line) for i, line in enumerate(lines))
    assert pdf_to_markdown(make_pdf(content), location="x").split("\n\n") == [
        r"a\*b\_c \`d\` \[e\] f\\g h-i 1. j # k > l",
        r"\- dash",
        r"\+ plus",
        r"\== equals",
        r"\## hash",
        r"\> quote",
        r"12\. twelve",
        r"\~~~ fence",
    ]


def test_whitespace_is_collapsed_and_there_is_no_final_newline() -> None:
    """Runs of spaces, wide gaps and non-breaking spaces become one space."""
    start = "Effective   date:\xa0\xa01 January"
    content = text(72, 700, start) + text(72 + width(start) + 30, 700, "2026")
    assert pdf_to_markdown(make_pdf(content), location="x") == "Effective date: 1 January 2026"


# -- robustness ------------------------------------------------------------------------------------


def test_the_same_pdf_always_gives_the_same_text() -> None:
    """Extraction is a pure function of the bytes."""
    first, y = paragraph(72, 700, LOREM)
    second, _ = paragraph(72, y - 10, OTHER)
    data = make_pdf(first + second, second + first)
    assert len({pdf_to_markdown(data, location="x") for _ in range(3)}) == 1


def test_encrypted_pdf_that_anyone_can_open() -> None:
    """A PDF encrypted with an empty user password (permissions only) is read like any other."""
    first, _ = paragraph(72, 700, LOREM)
    data = make_pdf(first, encrypt=True)
    assert b"These terms" not in data
    assert pdf_to_markdown(data, location="x") == LOREM


@pytest.mark.parametrize(
    "data",
    [b"", b"<html><body>Not found</body></html>", b"%PDF-1.4\n" + bytes(range(256)) * 20],
    ids=["empty", "html", "garbage"],
)
def test_a_file_that_is_not_a_pdf_cannot_be_parsed(data: bytes) -> None:
    """OTA's message for a PDF it cannot read."""
    with pytest.raises(ExtractError, match=r"^Can't parse PDF file$"):
        pdf_to_markdown(data, location="https://example.com/terms.pdf")


def test_a_pdf_without_text_reports_scanned_images() -> None:
    """OTA's message, with the location, for a PDF whose pages hold no text: an image (as a scan
    would be), a drawing, nothing."""
    image = "q 100 0 0 100 100 100 cm BI /W 1 /H 1 /CS /G /BPC 8 ID A EI Q\n"
    drawing = "0 0 1 rg 100 100 200 200 re f\n"
    with pytest.raises(ExtractError) as error:
        pdf_to_markdown(make_pdf(image, drawing, ""), location="https://example.com/terms.pdf")
    assert str(error.value) == (
        "The PDF file at 'https://example.com/terms.pdf' contains no text, "
        "it might contain scanned images of text instead of actual text"
    )


def test_work_per_page_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Glyphs beyond the per-page budget are dropped, always the same ones."""
    monkeypatch.setattr(pdfglyphs, "MAX_CHARS_PER_PAGE", 10)
    data = make_pdf(text(72, 700, "abcdefghijklmnopqrstuvwxyz"), text(72, 700, "0123456789ABC"))
    assert pdf_to_markdown(data, location="x") == "abcdefghij\n\n0123456789"


# -- the real PDF of the compatibility corpus -------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "compat-corpus"


def _pdf_cases() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        case.parent
        for case in CORPUS.glob("*/case.json")
        if json.loads(case.read_text(encoding="utf-8")).get("mime") == "application/pdf"
    )


@pytest.mark.compat
@pytest.mark.skipif(not _pdf_cases(), reason="needs ../shared/compat-corpus")
@pytest.mark.parametrize("case", _pdf_cases(), ids=lambda case: case.name)
def test_corpus_pdf_has_the_text_ota_recorded(case: Path) -> None:
    """The same words in the same paragraphs as OTA's version: pdf.js glues wrapped lines without a
    space and puts three blank lines between paragraphs, so only the words are compared exactly."""
    expected = (case / "expected.md").read_text(encoding="utf-8")
    (snapshot,) = (case / "snapshots").glob("*.pdf")
    actual = pdf_to_markdown(snapshot.read_bytes(), location="x")

    def words(s: str) -> str:
        return re.sub(r"\n{3,}", "\n\n", s).replace(" ", "")

    assert words(actual) == words(expected)
    assert similarity(expected, actual) >= 0.55
