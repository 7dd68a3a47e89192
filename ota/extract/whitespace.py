"""Whitespace as turndown sees it, on `ota.extract.dom` nodes: collapsed the way browsers render
it (turndown's collapseWhitespace, mutating the tree), and what the converter reads of a node's
text (`summary`): whether it is blank, and the whitespace turndown moves outside an inline
element's Markdown. `ota.extract.markdown` converts the tree with them."""

from __future__ import annotations

import re

from ota.extract.dom import ELEMENT, TEXT, Node
from ota.extract.jsstring import JS_WHITESPACE

_ASCII_WHITESPACE = " \t\r\n"

BLOCK = frozenset(
    "ADDRESS ARTICLE ASIDE AUDIO BLOCKQUOTE BODY CANVAS CENTER DD DIR DIV DL DT FIELDSET FIGCAPTION "
    "FIGURE FOOTER FORM FRAMESET H1 H2 H3 H4 H5 H6 HEADER HGROUP HR HTML ISINDEX LI MAIN MENU NAV "
    "NOFRAMES NOSCRIPT OL OUTPUT P PRE SECTION TABLE TBODY TD TFOOT TH THEAD TR UL".split()
)
VOID = frozenset(
    "AREA BASE BR COL COMMAND EMBED HR IMG INPUT KEYGEN LINK META PARAM SOURCE TRACK WBR".split()
)
MEANINGFUL_WHEN_BLANK = frozenset("A TABLE THEAD TBODY TFOOT TH TD IFRAME SCRIPT AUDIO VIDEO".split())
_SPECIAL = VOID | MEANINGFUL_WHEN_BLANK

#: Runs of whitespace other than a lone space (which would be replaced by itself).
_WHITESPACE_RUN = re.compile(r"[\r\n\t][ \r\n\t]*| [ \r\n\t]+")


# -- whitespace collapsing ---------------------------------------------------------------------


def _next_in_walk(prev: Node | None, current: Node) -> Node | None:
    if (prev is not None and prev.parent is current) or current.name == "PRE":
        return current.next or current.parent
    return current.first or current.next or current.parent


def _remove(node: Node) -> Node | None:
    following = node.next or node.parent
    node.detach()
    return following


def collapse_whitespace(root: Node) -> None:
    """Collapse whitespace in `root` as browsers render it (turndown's collapseWhitespace)."""
    if root.first is None or root.name == "PRE":
        return
    prev_text: Node | None = None
    keep_leading = False
    prev: Node | None = None
    node = _next_in_walk(None, root)
    while node is not root and node is not None:
        if node.type == TEXT:
            text = _WHITESPACE_RUN.sub(" ", node.data)
            if (
                (prev_text is None or prev_text.data.endswith(" "))
                and not keep_leading
                and text.startswith(" ")
            ):
                text = text[1:]
            if not text:
                node = _remove(node)
                continue
            node.data = text
            prev_text = node
        elif node.type == ELEMENT:
            name = node.name
            if name in BLOCK or name == "BR":
                if prev_text is not None and prev_text.data.endswith(" "):
                    prev_text.data = prev_text.data[:-1]
                prev_text = None
                keep_leading = False
            elif name in VOID or name == "PRE":
                prev_text = None
                keep_leading = True
            elif prev_text is not None:
                keep_leading = False
        else:
            node = _remove(node)
            continue
        following = _next_in_walk(prev, node)
        prev = node
        node = following
    if prev_text is not None:
        if prev_text.data.endswith(" "):
            prev_text.data = prev_text.data[:-1]
        if not prev_text.data:
            _remove(prev_text)


# -- text summaries (what turndown reads from textContent) -------------------------------------


def summary(node: Node) -> tuple[bool, str, str, bool]:
    """What the converter needs of a node's textContent, computed once per node.

    (whitespace only, leading whitespace — the whole text when whitespace only —, trailing
    whitespace, has a void or meaningful-when-blank descendant).
    """
    cached = node.summary
    if cached is not None:
        return cached
    if node.type == TEXT:
        data = node.data
        stripped = data.lstrip(JS_WHITESPACE)
        if not stripped:
            result = (True, data, "", False)
        else:
            rest = stripped.rstrip(JS_WHITESPACE)
            result = (False, data[: len(data) - len(stripped)], stripped[len(rest) :], False)
    else:
        all_ws = True
        lead_parts: list[str] = []
        trail = ""
        special = False
        child = node.first
        while child is not None:
            c_ws, c_lead, c_trail, c_special = summary(child)
            if child.type == ELEMENT and child.name in _SPECIAL:
                c_special = True
            special = special or c_special
            if c_ws:
                if all_ws:
                    lead_parts.append(c_lead)
                else:
                    trail += c_lead
            else:
                if all_ws:
                    lead_parts.append(c_lead)
                all_ws = False
                trail = c_trail
            child = child.next
        result = (all_ws, "".join(lead_parts), "" if all_ws else trail, special)
    node.summary = result
    return result


def _starts_with_space(node: Node) -> bool:
    return summary(node)[1].startswith(" ")


def _ends_with_space(node: Node) -> bool:
    all_ws, lead, trail, _ = summary(node)
    return (lead if all_ws else trail).endswith(" ")


def _is_flanked(node: Node, left: bool) -> bool:
    sibling = node.prev if left else node.next
    if sibling is None:
        return False
    if sibling.type == TEXT:
        return sibling.data.endswith(" ") if left else sibling.data.startswith(" ")
    if sibling.type == ELEMENT and sibling.name not in BLOCK:
        return _ends_with_space(sibling) if left else _starts_with_space(sibling)
    return False


def flanking_whitespace(node: Node) -> tuple[str, str]:
    """The whitespace turndown moves outside an inline element's Markdown."""
    _, leading, trailing, _ = summary(node)
    if leading:
        ascii_part = leading[: len(leading) - len(leading.lstrip(_ASCII_WHITESPACE))]
        if ascii_part and _is_flanked(node, left=True):
            leading = leading[len(ascii_part) :]
    if trailing:
        ascii_part = trailing[len(trailing.rstrip(_ASCII_WHITESPACE)) :]
        if ascii_part and _is_flanked(node, left=False):
            trailing = trailing[: len(trailing) - len(ascii_part)]
    return leading, trailing


def is_blank(node: Node) -> bool:
    """turndown's isBlank: an element with no text, no void and nothing meaningful when blank."""
    if node.name in _SPECIAL:
        return False
    all_ws, _, _, special = summary(node)
    return all_ws and not special
