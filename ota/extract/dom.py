"""A small DOM for the Markdown conversion, built from lexbor nodes.

The page is parsed and filtered with lexbor (C, HTML5-conformant); the part the declaration
selects is then copied into these pure-Python nodes, which the turndown port walks and mutates
(whitespace collapsing) much faster than it could through lexbor's wrappers.

Names follow the DOM that Open Terms Archive's converter sees (jsdom): HTML elements have
upper-case `name`s (`"P"`, `"TABLE"`), elements inside `<svg>` and `<math>` keep their own case,
text nodes are `"#text"`. Comments (and the processing instructions lexbor makes of `<?…>`, which
browsers parse as comments) are copied as `"#comment"` nodes: the converter drops them while it
collapses whitespace, except inside `<pre>`, where they still count as siblings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

ELEMENT = 1
TEXT = 3
COMMENT = 8
FRAGMENT = 11

HTML_NAMESPACE = "html"
SVG_NAMESPACE = "svg"
MATHML_NAMESPACE = "math"
# In these foreign elements, the parser reads HTML again (HTML and MathML text integration points).
_SVG_HTML_INTEGRATION_POINTS = frozenset({"foreignObject", "desc", "title"})
_MATHML_TEXT_INTEGRATION_POINTS = frozenset({"mi", "mo", "mn", "ms", "mtext"})


class Node:
    """A DOM node: an element, a text node or a document fragment."""

    __slots__ = (
        "attrs",
        "data",
        "first",
        "is_block",
        "is_code",
        "last",
        "name",
        "next",
        "parent",
        "prev",
        "summary",
        "table_skipped",
        "type",
    )

    def __init__(self, type_: int, name: str, attrs: dict[str, str] | None = None, data: str = "") -> None:
        self.type = type_
        self.name = name
        self.attrs = attrs
        self.data = data
        self.parent: Node | None = None
        self.first: Node | None = None
        self.last: Node | None = None
        self.next: Node | None = None
        self.prev: Node | None = None
        # Caches filled by the converter.
        self.summary: tuple[bool, str, str, bool] | None = None
        self.is_block = False
        self.is_code = False
        self.table_skipped: bool | None = None

    # -- tree edits -----------------------------------------------------------------------------

    def append(self, child: Node) -> None:
        """Append `child` (detached) as the last child."""
        child.parent = self
        child.prev = self.last
        child.next = None
        if self.last is None:
            self.first = child
        else:
            self.last.next = child
        self.last = child

    def detach(self) -> None:
        """Remove this node from its parent."""
        parent = self.parent
        if parent is None:
            return
        if self.prev is None:
            parent.first = self.next
        else:
            self.prev.next = self.next
        if self.next is None:
            parent.last = self.prev
        else:
            self.next.prev = self.prev
        self.parent = self.next = self.prev = None

    # -- reading --------------------------------------------------------------------------------

    def children(self) -> Iterator[Node]:
        """The child nodes, in order."""
        node = self.first
        while node is not None:
            following = node.next
            yield node
            node = following

    def get(self, name: str) -> str | None:
        """The value of attribute `name`, or None (the DOM's `getAttribute`)."""
        attrs = self.attrs
        return attrs.get(name) if attrs else None

    def text_content(self) -> str:
        """The concatenated text of all descendant text nodes (the DOM's `textContent`)."""
        if self.type == TEXT:
            return self.data
        parts: list[str] = []
        _collect_text(self, parts)
        return "".join(parts)

    def descendants(self) -> Iterator[Node]:
        """Every descendant in document order."""
        stack = [self.first] if self.first is not None else []
        while stack:
            node = stack.pop()
            if node.next is not None:
                stack.append(node.next)
            yield node
            if node.first is not None:
                stack.append(node.first)

    def __repr__(self) -> str:
        if self.type == TEXT:
            return f"<#text {self.data[:30]!r}>"
        return f"<{self.name} {self.attrs or ''}>"


def _collect_text(node: Node, parts: list[str]) -> None:
    child = node.first
    while child is not None:
        if child.type == TEXT:
            parts.append(child.data)
        elif child.first is not None:
            _collect_text(child, parts)
        child = child.next


def fragment() -> Node:
    """An empty document fragment."""
    return Node(FRAGMENT, "#document-fragment")


def text(data: str) -> Node:
    """A new text node."""
    return Node(TEXT, "#text", data=data)


def element(name: str, attrs: dict[str, str] | None = None) -> Node:
    """A new HTML element named `name` (any case)."""
    return Node(ELEMENT, name.upper(), attrs)


def _child_namespace(parent_namespace: str, parent_tag: str, parent: LexborNode | None, tag: str) -> str:
    """The namespace the HTML parser gives a `tag` element inside its parent (HTML Standard 13.2.6.5).

    Inside SVG or MathML content elements stay foreign, except under the integration points, where
    the parser reads HTML again.
    """
    if parent_namespace == SVG_NAMESPACE:
        html_inside = parent_tag in _SVG_HTML_INTEGRATION_POINTS
    elif parent_namespace == MATHML_NAMESPACE:
        if parent_tag in _MATHML_TEXT_INTEGRATION_POINTS:
            html_inside = tag not in ("mglyph", "malignmark")
        elif parent_tag == "annotation-xml" and parent is not None:
            encoding = (parent.attributes.get("encoding") or "").lower()
            html_inside = tag == "svg" or encoding in ("text/html", "application/xhtml+xml")
        else:
            html_inside = False
    else:
        html_inside = True
    if not html_inside:
        return parent_namespace
    return SVG_NAMESPACE if tag == "svg" else MATHML_NAMESPACE if tag == "math" else HTML_NAMESPACE


def _is_element(lex: LexborNode) -> bool:
    tag = lex.tag
    return tag is not None and not tag.startswith("-")


def _namespace(lex: LexborNode) -> str:
    """The namespace of a lexbor element, worked out from its ancestors (lexbor does not expose it)."""
    chain: list[tuple[LexborNode, str]] = []
    node: LexborNode | None = lex
    while node is not None and (tag := node.tag) is not None and not tag.startswith("-"):
        chain.append((node, tag))
        node = node.parent
    namespace, parent_tag, parent = HTML_NAMESPACE, "", None
    for element, tag in reversed(chain):
        namespace = _child_namespace(namespace, parent_tag, parent, tag)
        parent_tag, parent = tag, element
    return namespace


def _element(lex: LexborNode, tag: str, namespace: str) -> Node:
    # The DOM upper-cases the names of HTML elements only.
    name = tag.upper() if namespace == HTML_NAMESPACE else tag
    return Node(ELEMENT, name, {k: v or "" for k, v in lex.attributes.items()})


def shallow_copy(lex: LexborNode) -> Node:
    """A copy of one lexbor node, without its children."""
    tag = lex.tag
    if tag == "-text":
        return Node(TEXT, "#text", data=lex.text_content or "")
    if tag is None or tag.startswith("-"):
        return Node(COMMENT, "#comment")
    return _element(lex, tag, _namespace(lex))


#: The deepest nesting of elements copied for conversion. Browsers' parsers stop nesting at 512
#: levels; the conversion recurses once per level, and deeper pages exist only to break parsers.
MAX_NESTING = 2000


class TooDeep(Exception):
    """The selection nests elements more than `MAX_NESTING` levels deep."""


def deep_copy(lex: LexborNode, namespace: str | None = None, depth: int = 0) -> Node | None:
    """A copy of a lexbor node and all it contains (None for nodes other than elements, texts, comments).

    `namespace` is the element's own, when the caller knows it. Raises TooDeep past `MAX_NESTING`.
    """
    if depth > MAX_NESTING:
        raise TooDeep(f"elements are nested more than {MAX_NESTING} levels deep")
    tag = lex.tag
    if tag == "-text":
        return Node(TEXT, "#text", data=lex.text_content or "")
    if tag == "-comment" or tag is None:
        return Node(COMMENT, "#comment")
    if tag.startswith("-"):
        return None
    if namespace is None:
        namespace = _namespace(lex)
    copy = _element(lex, tag, namespace)
    if tag == "template" and namespace == HTML_NAMESPACE:  # template contents are not children in the DOM
        return copy
    for child in lex.iter(include_text=True):
        child_tag = child.tag
        if child_tag is not None and not child_tag.startswith("-"):
            child_namespace = _child_namespace(namespace, tag, lex, child_tag)
        else:
            child_namespace = namespace
        copied = deep_copy(child, child_namespace, depth + 1)
        if copied is not None:
            copy.append(copied)
    return copy


# Inside <select>, jsdom's parser (parse5) keeps these elements and ignores every other tag.
_KEPT_IN_SELECT = frozenset({"option", "optgroup", "hr", "script", "template"})


def ignore_tags_in_select(document: LexborHTMLParser) -> None:
    """Make `<select>` contents what jsdom parses: the tags of other elements dropped, text kept.

    lexbor follows today's HTML parser, where a `<select>` may hold any element (customisable
    select); jsdom's still ignores, inside `<select>`, every tag but those of `_KEPT_IN_SELECT`, so
    `<option>&rlm;<span>עברית</span></option>` is one text node there.
    """
    for select in document.css("select"):
        if _namespace(select) != HTML_NAMESPACE:
            continue
        descendants = list(select.traverse())[1:]  # traverse() starts with the select itself
        ignored = [node for node in descendants if node.tag not in _KEPT_IN_SELECT and _is_element(node)]
        for node in ignored:
            if node.child is None:
                node.remove()  # lexbor's unwrap() leaves empty elements in place
            else:
                node.unwrap()
        if ignored:
            select.merge_text_nodes()
