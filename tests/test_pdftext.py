"""PDFs read as Open Terms Archive's engine reads them: pdf.js 2.13.216 in Chromium, then its rules."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.declarations import SourceDocument
from ota.declarations.collection import FilterFiles
from ota.errors import ExtractError
from ota.extract import PDF_MIME_TYPE, PDF_TEXT_MIME_TYPE, extract
from ota.extract.pdfjs import encode_pages, escape_text, pdf_text_to_markdown
from ota.fetch.browser import Browser
from ota.fetch.pdftext import PDFJS_FILES, PdfTextPrefilter, PdfTextReader, pdfjs_checksums
from tests.conftest import CHROMIUM, SharedChromium, needs_chromium
from tests.pdfs import make_pdf

LOCATION = "https://example.com/terms.pdf"
NO_TEXT = (
    f"The PDF file at '{LOCATION}' contains no text, "
    "it might contain scanned images of text instead of actual text"
)


def markdown(*pages: list[tuple[str, float, float]]) -> str:
    return pdf_text_to_markdown(encode_pages([list(map(list, items)) for items in pages]), location=LOCATION)


# -- the engine's rules, on text items ---------------------------------------------------------------


def test_items_are_glued_and_a_jump_of_more_than_two_heights_starts_a_paragraph() -> None:
    """Lines of one paragraph touch ("ofgovernment"), as the engine writes them."""
    assert markdown(
        [("Requests on behalf of", 700, 10), ("government agencies", 688, 10), ("Next", 660, 10)]
    ) == ("Requests on behalf ofgovernment agencies\n\nNext")
    # Exactly two heights is still the same paragraph.
    assert markdown([("a", 700, 10), ("b", 680, 10)]) == "ab"


def test_blank_items_keep_the_last_position_and_empty_ones_make_blank_paragraphs() -> None:
    """Only a non-blank item moves lastY; an item that starts a paragraph alone makes an empty one."""
    assert markdown([("a", 700, 10), (" ", 600, 10), ("b", 695, 10)]) == "a\n\n b"
    assert markdown([("a", 700, 10), ("", 600, 0), ("", 500, 0), ("b", 400, 10)]) == "a\n\n\n\n\n\nb"


def test_each_page_starts_a_paragraph_at_position_zero() -> None:
    assert markdown([("a", 700, 10)], [("b", 700, 10)]) == "a\n\nb"
    assert markdown([("a", 15, 10)], [("b", 15, 10)]) == "a\n\nb"  # lastY is 0 on each page


def test_line_breaks_inside_an_item_become_spaces() -> None:
    assert markdown([("one\r\ntwo\rthree\nfour", 700, 10)]) == "one two three four"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a * b `c` & d > e", r"a \* b \`c\` \& d \> e"),
        ("## Title", r"\## Title"),
        ("12. Item", r"12\. Item"),
        ("- item", r"\- item"),
        ("_under_", r"\_under_"),
        ("a # b", "a # b"),  # only at the start
        ("\u0661. arabic digit", "\u0661. arabic digit"),  # JavaScript's \d is ASCII
        ("#nospace", "#nospace"),
    ],
)
def test_every_item_is_escaped_as_markdown_common_escapes_text(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped


def test_the_whole_is_trimmed_as_javascript_trims() -> None:
    """JavaScript's trim removes no-break spaces but not the separators Python's strip also removes."""
    assert markdown([("\u00a0 text \u00a0", 700, 10)]) == "text"
    assert markdown([("\x1ctext", 700, 10)]) == "\x1ctext"


def test_a_pdf_without_text_fails_with_the_engines_message() -> None:
    with pytest.raises(ExtractError, match="^" + NO_TEXT.replace("(", r"\(") + "$"):
        markdown([("", 700, 0), (" ", 680, 10)], [])


# -- pdf.js itself ---------------------------------------------------------------------------------


def test_the_shipped_pdfjs_is_the_published_2_13_216() -> None:
    """The files are npm's pdfjs-dist@2.13.216, unchanged (ota/fetch/pdfjs-dist/README.md)."""
    assert pdfjs_checksums() == PDFJS_FILES
    licence = (Path(__file__).parents[1] / "ota" / "fetch" / "pdfjs-dist" / "LICENSE").read_text("utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence


def test_html_sources_never_start_the_browser() -> None:
    """Only a terms whose snapshot is a PDF starts Chromium."""
    browser = Browser(CHROMIUM, user_agent="ota test", accept_language="en")
    reader = PdfTextReader(browser)
    sources = [(SourceDocument("https://example.com/terms"), b"<p>Terms</p>", "text/html")]
    assert asyncio.run(PdfTextPrefilter(reader)(sources, FilterFiles())) == sources
    assert reader.read_count == 0 and not browser.running and browser.launches == 0


def test_without_chromium_a_pdf_fails_in_one_line_saying_what_to_install(tmp_path: Path) -> None:
    browser = Browser(str(tmp_path / "no-chromium"), user_agent="ota test", accept_language="en")
    reader = PdfTextReader(browser)
    with pytest.raises(ExtractError) as raised:
        asyncio.run(reader.read(make_pdf("Terms"), location=LOCATION))
    assert str(raised.value) == (
        f"Cannot read the text of the PDF file at '{LOCATION}' with pdf.js: Chromium is not installed at "
        f"'{tmp_path / 'no-chromium'}'; install Debian's chromium package (apt-get install chromium)"
    )


class Reader:
    """pdf.js in the session's Chromium: `read` returns the Markdown of a PDF, or raises."""

    def __init__(self, shared: SharedChromium) -> None:
        self.loop = shared.loop
        self.reader = PdfTextReader(shared.browser)

    def read(self, data: bytes, *, max_pages: int | None = None) -> str:
        if max_pages is not None:
            self.reader.max_pages = max_pages
        try:
            text = self.loop.run_until_complete(self.reader.read(data, location=LOCATION))
        finally:
            self.reader.max_pages = 2_000
        return extract(text, PDF_TEXT_MIME_TYPE, SourceDocument(LOCATION))

    def close(self) -> None:
        self.loop.run_until_complete(self.reader.aclose())


@pytest.fixture(scope="module")
def pdfjs(shared_chromium: SharedChromium) -> Iterator[Reader]:
    reader = Reader(shared_chromium)
    try:
        yield reader
    finally:
        reader.close()


@pytest.mark.browser
@needs_chromium
def test_text_in_a_standard_font_that_is_not_embedded_is_read_and_escaped(pdfjs: Reader) -> None:
    """Helvetica, not embedded: pdf.js's built-in metrics give its text (no worker fetch)."""
    data = make_pdf("1. Terms & conditions", "We keep *your* data > one year.")
    assert pdfjs.read(data) == "1\\. Terms \\& conditions\n\nWe keep \\*your\\* data \\> one year."


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>not a pdf</html>", "Invalid PDF structure."),
        (make_pdf("Cut short")[:200], "Invalid PDF structure."),
        (b"", "The PDF file is empty, i.e. its size is zero bytes."),
    ],
)
def test_an_unparsable_file_fails_with_the_engines_message(pdfjs: Reader, data: bytes, message: str) -> None:
    """The engine reports pdf.js's own message, as ota does (checked with pdf.js 2.13.216 in Node)."""
    with pytest.raises(ExtractError) as raised:
        pdfjs.read(data)
    assert str(raised.value) == message


def with_markdown_metadata(data: bytes, markdown: str) -> bytes:
    """`data` (a PDF of tests/pdfs.py) with an Info dictionary holding `markdown` (Info.Custom.markdown)."""
    info = b"6 0 obj\n<< /Title (Terms) /markdown (" + markdown.encode() + b") >>\nendobj\n"
    xref = data.index(b"xref")
    data = data[:xref] + info + data[xref:]
    return data.replace(b"/Size 6 /Root 1 0 R", b"/Size 7 /Root 1 0 R /Info 6 0 R")


@pytest.mark.browser
@needs_chromium
def test_a_markdown_in_the_metadata_is_ignored_as_the_engine_ignores_it(pdfjs: Reader) -> None:
    """markdown-pdf reads Info.Custom.markdown only with `loadMarkdown`, which OTA's call never sets
    (it sets `loadCiceroMark`): the engine writes the PDF's text, and so does ota."""
    document = '{"$class":"org.accordproject.commonmark@0.5.0.Document","nodes":[]}'
    data = with_markdown_metadata(make_pdf("The printed terms"), document)
    assert pdfjs.read(data) == "The printed terms"


@pytest.mark.browser
@needs_chromium
def test_a_pdf_longer_than_the_page_limit_fails_saying_so(pdfjs: Reader) -> None:
    from tests.test_pdf import make_pdf as make_pages

    data = make_pages("BT /F1 12 Tf 72 700 Td (One) Tj ET", "BT /F1 12 Tf 72 700 Td (Two) Tj ET")
    assert pdfjs.read(data) == "One\n\nTwo"
    with pytest.raises(
        ExtractError, match=rf"^The PDF file at '{LOCATION}' has 2 pages; ota reads at most 1$"
    ):
        pdfjs.read(data, max_pages=1)


@pytest.mark.browser
@needs_chromium
def test_a_pdf_out_of_time_fails_saying_so_and_the_next_one_is_read(pdfjs: Reader) -> None:
    """Past its time the tab is closed (pdf.js stops wherever it is); the next PDF gets a new one.
    A bound of 0 seconds is met at the first wait, however fast the machine."""
    data = make_pdf("In time")
    pdfjs.reader.timeout = 0
    try:
        with pytest.raises(ExtractError) as raised:
            pdfjs.read(data)
    finally:
        pdfjs.reader.timeout = 60
    assert str(raised.value) == f"The text of the PDF file at '{LOCATION}' could not be read within 0 seconds"
    assert pdfjs.read(data) == "In time"


# -- end to end ----------------------------------------------------------------------------------------


def write_collection(root: Path, url: str) -> Path:
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    service = {"name": "Example", "terms": {"Privacy Policy": {"fetch": url}}}
    (declarations / "Example.json").write_text(json.dumps(service), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")
    return root


@pytest.mark.browser
@needs_chromium
def test_ota_track_records_a_pdf_as_the_engine_writes_it(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A PDF served from 127.0.0.1: its snapshot is the PDF, its version the engine's Markdown."""
    pdf = make_pdf("Privacy Policy", "We collect what you give us & keep it.")
    httpserver.expect_request("/privacy.pdf").respond_with_data(pdf, content_type="application/pdf")
    root = write_collection(tmp_path, httpserver.url_for("/privacy.pdf"))
    result = CliRunner().invoke(
        app, ["track", "--config", str(root / "ota.toml"), "--no-progress", "--log-file", str(root / "log")]
    )
    assert result.exit_code == 0, result.output
    assert (root / "snapshots" / "Example" / "Privacy Policy.pdf").read_bytes() == pdf
    version = root / "versions" / "Example" / "Privacy Policy.md"
    assert version.read_text("utf-8") == "Privacy Policy\n\nWe collect what you give us \\& keep it."
    log = subprocess.run(
        ["git", "-C", str(root / "versions"), "log", "--format=%s"], capture_output=True, text=True
    )
    assert log.stdout.splitlines() == ["First record of Example Privacy Policy"]


@pytest.mark.browser
@needs_chromium
def test_ota_extract_gives_the_engines_text_or_with_readable_pdfminers(tmp_path: Path) -> None:
    """`ota extract` prints what tracking records; `--readable` spaces wrapped lines' words."""
    declaration = tmp_path / "Example.json"
    declaration.write_text(json.dumps({"name": "Example", "terms": {"Privacy Policy": {"fetch": LOCATION}}}))
    page = tmp_path / "privacy.pdf"
    from tests.test_pdf import make_pdf as make_pages

    page.write_bytes(
        make_pages("BT /F1 12 Tf 72 700 Td (requests of) Tj ET BT /F1 12 Tf 72 686 Td (government) Tj ET")
    )
    engine = CliRunner().invoke(app, ["extract", str(declaration), "Privacy Policy", str(page)])
    assert engine.exit_code == 0, engine.output
    assert engine.output == "requests ofgovernment"
    readable = CliRunner().invoke(
        app, ["extract", str(declaration), "Privacy Policy", str(page), "--readable"]
    )
    assert readable.exit_code == 0, readable.output
    assert readable.output == "requests of government"
    assert extract(page.read_bytes(), PDF_MIME_TYPE, SourceDocument(LOCATION)) == readable.output
