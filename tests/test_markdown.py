"""The JavaScript details the Markdown conversion reproduces, and the DOM copy it works on.

Expected values were taken from Node.js (V8) and turndown 7.2.1; the golden cases in
`tests/golden` check the whole conversion.
"""

from __future__ import annotations

import math

import pytest
from selectolax.lexbor import LexborHTMLParser

from ota.extract import dom
from ota.extract.html import parse
from ota.extract.jsstring import js_number, js_number_to_string, js_trim, utf16_length
from ota.extract.markdown import clean_attribute, escape, to_markdown

# -- JavaScript strings and numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "trimmed"),
    [
        (" \t\n a \u00a0", "a"),
        ("\u3000x\u2028", "x"),  # ideographic space, line separator
        ("\ufeffx\u200b", "x\u200b"),  # the BOM is whitespace, the zero-width space is not
        ("\u180ex", "\u180ex"),  # the Mongolian vowel separator no longer is
        ("\u0085x", "\u0085x"),  # nor NEL
        ("\vx\f", "x"),
    ],
)
def test_js_trim(text: str, trimmed: str) -> None:
    """`js_trim` removes exactly what `String.prototype.trim` removes."""
    assert js_trim(text) == trimmed


@pytest.mark.parametrize(
    ("text", "length"),
    [("abc", 3), ("é", 1), ("😀", 2), ("𝔘𝔫", 4), ("日本", 2), ("a\u0301", 2)],
)
def test_utf16_length(text: str, length: int) -> None:
    """`utf16_length` counts UTF-16 code units, as JavaScript's `length` (setext underlines)."""
    assert utf16_length(text) == length


@pytest.mark.parametrize(
    ("text", "string"),
    [
        ("", "0"),
        ("  ", "0"),
        ("12", "12"),
        (" 7 ", "7"),
        ("2.5", "2.5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-3", "-3"),
        ("+4", "4"),
        ("1e3", "1000"),
        ("1E-2", "0.01"),
        ("0x1F", "31"),
        ("0X1f", "31"),
        ("0o17", "15"),
        ("0b101", "5"),
        ("-0x10", "NaN"),  # signed hexadecimal is not a numeric literal
        ("0x", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("infinity", "NaN"),
        ("inf", "NaN"),
        ("NaN", "NaN"),
        ("abc", "NaN"),
        ("1_000", "NaN"),  # Python's float() accepts these three, JavaScript does not
        ("٣", "NaN"),
        ("１", "NaN"),
        ("1e", "NaN"),
        (".", "NaN"),
        ("0x1_0", "NaN"),
        ("12abc", "NaN"),
    ],
)
def test_js_number(text: str, string: str) -> None:
    """`js_number` is `Number(string)` (how `<ol start>` is read), shown as JavaScript shows it."""
    assert js_number_to_string(js_number(text)) == string


@pytest.mark.parametrize(
    ("number", "string"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (2.5, "2.5"),
        (-2.0, "-2"),
        (100.0, "100"),
        (0.1, "0.1"),
        (1 / 3, "0.3333333333333333"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (5e-324, "5e-324"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
    ],
)
def test_js_number_to_string(number: float, string: str) -> None:
    """`js_number_to_string` is JavaScript's `String(number)`, exponent notation included."""
    assert js_number_to_string(number) == string


# -- turndown's escaping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("1. x", "1\\. x"),
        ("10. x", "10\\. x"),
        ("1.x", "1.x"),
        ("- a", "\\- a"),
        ("-a", "\\-a"),
        ("+ a", "\\+ a"),
        ("+a", "+a"),
        ("# a", "\\# a"),
        ("####### a", "####### a"),
        ("=== a", "\\=== a"),
        ("> a", "\\> a"),
        ("~~~ a", "\\~~~ a"),
        ("~~ a", "~~ a"),
        ("a_b*c\\d", "a\\_b\\*c\\\\d"),
        ("[a]`b`", "\\[a\\]\\`b\\`"),
        ("_*1. ", "\\_\\*1. "),
        ("*- x", "\\*- x"),
        ("\\- x", "\\\\- x"),
        ("a\n- b", "a\n- b"),  # line-start rules apply at the start of a text node only
        ("", ""),
    ],
)
def test_escape(text: str, escaped: str) -> None:
    """`escape` is turndown's `escape`, rule for rule."""
    assert escape(text) == escaped


def test_clean_attribute() -> None:
    """Runs of newlines, with the whitespace after them, become one newline in titles and alts."""
    assert clean_attribute("a\n\n   b\n \n c") == "a\nb\nc"
    assert clean_attribute(None) == ""


# -- the DOM copy ------------------------------------------------------------------------------


def copy_of(html: str, selector: str = "body") -> dom.Node:
    node = dom.deep_copy(parse(html).css_first(selector))
    assert node is not None
    return node


def shape(node: dom.Node) -> list[object]:
    """The copy as nested lists: element names with their children, text data, "#comment"."""
    result: list[object] = []
    for child in node.children():
        if child.type == dom.ELEMENT:
            result.append([child.name, *shape(child)])
        else:
            result.append(child.data if child.type == dom.TEXT else child.name)
    return result


def test_copy_names_html_elements_in_upper_case() -> None:
    """HTML element names are upper-case, as jsdom's `nodeName`; attributes are kept."""
    body = copy_of('<p class="x">a<b>b</b></p><x-custom>c</x-custom>')
    assert shape(body) == [["P", "a", ["B", "b"]], ["X-CUSTOM", "c"]]
    assert body.first is not None
    assert body.first.get("class") == "x"


def test_copy_keeps_the_case_of_foreign_elements() -> None:
    """SVG and MathML elements keep their names; integration points hold HTML again."""
    body = copy_of(
        "<svg><foreignObject><b>x</b></foreignObject><clipPath><a>y</a></clipPath><del>z</del></svg>"
        '<math><mi><i>i</i><mglyph></mglyph></mi><annotation-xml encoding="text/html"><p>p</p>'
        "</annotation-xml></math>"
    )
    assert shape(body) == [
        ["svg", ["foreignObject", ["B", "x"]], ["clipPath", ["a", "y"]], ["del", "z"]],
        ["math", ["mi", ["I", "i"], ["mglyph"]], ["annotation-xml", ["P", "p"]]],
    ]


def test_copy_keeps_comments_and_leaves_template_contents_out() -> None:
    """Comments are copied (they count inside `<pre>`); an HTML template's contents are not children."""
    body = copy_of(
        "<pre><!--c--><code>x</code></pre><template><p>t</p></template><svg><template>s</template></svg>"
    )
    assert shape(body) == [["PRE", "#comment", ["CODE", "x"]], ["TEMPLATE"], ["svg", ["template", "s"]]]


def test_copy_text_content() -> None:
    """`text_content` joins the text of all descendants, comments excluded."""
    body = copy_of("<p>a<!--x--><b>b<i>c</i></b></p>d")
    assert body.text_content() == "abcd"


def test_select_contents_are_parsed_as_jsdom_parses_them() -> None:
    """Inside `<select>`, tags other than option, optgroup and hr are ignored, their text kept."""
    body = copy_of("<select><option>a<span>b</span>c</option><div>d</div><hr><br></select>")
    assert shape(body) == [["SELECT", ["OPTION", "abc"], "d", ["HR"]]]


def test_ignore_tags_in_select_leaves_svg_select_alone() -> None:
    """An SVG element named `select` is not a form control."""
    document = LexborHTMLParser("<svg><select><b>x</b></select></svg>")
    dom.ignore_tags_in_select(document)
    assert document.css_first("b") is not None


def test_to_markdown_of_a_built_tree() -> None:
    """The converter works on any tree of `dom` nodes, not only copies of pages."""
    root = dom.fragment()
    paragraph = dom.element("p")
    paragraph.append(dom.text("  1. first  "))
    root.append(paragraph)
    root.append(dom.element("hr"))
    assert to_markdown(root) == "1\\. first\n\n* * *"
