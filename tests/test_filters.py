"""Tests of the built-in filters of ota.extract.filters that are not covered by golden cases."""

from __future__ import annotations

import unicodedata

from ota.declarations import SourceDocument
from ota.extract.filters import _SPACE_SEPARATORS, BUILTIN_FILTERS, convert_spaces_to_standard
from ota.extract.html import parse

DOCUMENT = SourceDocument("https://example.com/terms", select=("main",))


def test_space_separators_are_unicodes_zs_category() -> None:
    """The characters replaced are exactly JavaScript's `\\p{Zs}` but the plain space."""
    zs = {chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) == "Zs"}
    assert {c for c in zs if _SPACE_SEPARATORS.fullmatch(c)} == zs - {" "}
    assert not _SPACE_SEPARATORS.search("a\tb\nc\u200bd")  # tabs, newlines, zero-width space stay


def test_convert_spaces_to_standard_rewrites_the_text_of_the_body_only() -> None:
    """Every text node under <body> loses its special spaces; the head and templates keep theirs."""
    page = parse(
        "<html><head><title>A\u00a0B</title></head><body>"
        "<p>one\u00a0two\u2009three\u3000four &lt;x&gt;</p><pre>a\u202fb</pre>"
        "<script>var s = 'x\u00a0y'</script><template>t\u00a0u</template><p>plain text</p>"
        "</body></html>"
    )
    convert_spaces_to_standard(page, None, DOCUMENT)
    assert page.body is not None
    assert page.body.html == (
        "<body><p>one two three four &lt;x&gt;</p><pre>a b</pre>"
        "<script>var s = 'x y'</script><template>t&nbsp;u</template><p>plain text</p></body>"
    )
    assert page.css_first("title").text() == "A\u00a0B"  # type: ignore[union-attr]


def test_convert_spaces_to_standard_is_a_builtin_filter() -> None:
    """Declarations name it `convertSpacesToStandard`, as OTA's exposed filter."""
    assert BUILTIN_FILTERS["convertSpacesToStandard"] is convert_spaces_to_standard
