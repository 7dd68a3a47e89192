"""A small DOM for the Markdown conversion, built from lexbor nodes.

The page is parsed and filtered with lexbor (C, HTML5-conformant); the part the declaration
selects is then copied into these pure-Python nodes, which the turndown port walks and mutates
(whitespace collapsing) much faster than it could through lexbor's wrappers.

Names follow the DOM that Open Terms Archive's converter sees (jsdom): HTML elements have
upper-case `name`s (`"P"`, `"TABLE"`), elements inside `<svg>` and `<math>` keep their own case,
text nodes are `"#text"`. Comments are not copied: the converter drops them before reading
anything else, and dropping them earlier gives the same output.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

ELEMENT = 1
TEXT = 3
FRAGMENT = 11

# In these foreign elements, the content is HTML again (HTML integration points).
_HTML_INTEGRATION_POINTS = frozenset({"foreignObject", "desc", "title", "annotation-xml"})
_FOREIGN_ROOTS = frozenset({"svg", "math"})


class Node:
    """A DOM node: an element, a text node or a document fragment."""

    __slots__ = (
        "attrs",
        "data",
        "first",
        "flank",
        "is_block",
        "is_code",
        "last",
        "name",
        "next",
        "parent",
        "prev",
        "summary",
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
        self.summary: tuple[bool, str, str] | None = None
        self.is_block = False
        self.is_code = False
        self.flank: tuple[str, str] = ("", "")

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


def _is_foreign(lex: LexborNode) -> bool:
    """Whether a lexbor element lives in SVG or MathML content (names keep their case there)."""
    node = lex.parent
    while node is not None and node.tag is not None and not node.tag.startswith("-"):
        tag = node.tag
        if tag in _HTML_INTEGRATION_POINTS:
            return False
        if tag in _FOREIGN_ROOTS:
            return True
        node = node.parent
    return False


def shallow_copy(lex: LexborNode, foreign: bool | None = None) -> Node:
    """A copy of one lexbor element or text node, without its children."""
    tag = lex.tag
    if tag == "-text":
        return Node(TEXT, "#text", data=lex.text_content or "")
    if foreign is None:
        foreign = _is_foreign(lex)
    attrs = dict(lex.attributes)
    return Node(ELEMENT, tag if foreign else tag.upper(), {k: v or "" for k, v in attrs.items()})


def deep_copy(lex: LexborNode, foreign: bool | None = None) -> Node | None:
    """A copy of a lexbor element or text node and all it contains (None for comments)."""
    tag = lex.tag
    if tag == "-text":
        return Node(TEXT, "#text", data=lex.text_content or "")
    if tag is None or tag.startswith("-"):
        return None
    if foreign is None:
        foreign = _is_foreign(lex)
    copy = Node(ELEMENT, tag if foreign else tag.upper(), {k: v or "" for k, v in lex.attributes.items()})
    if tag == "template":  # template contents are not children in the DOM
        return copy
    inner_foreign = (foreign or tag in _FOREIGN_ROOTS) and tag not in _HTML_INTEGRATION_POINTS
    for child in lex.iter(include_text=True):
        copied = deep_copy(child, inner_foreign)
        if copied is not None:
            copy.append(copied)
    return copy
