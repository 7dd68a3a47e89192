"""HTML → Markdown exactly as Open Terms Archive writes it.

OTA converts with turndown 7.2.1 (default options) and joplin-turndown-plugin-gfm 1.0.12. This
module reproduces that conversion on `ota.extract.dom` nodes, rule for rule, including the
JavaScript details that show in the output: what JavaScript counts as whitespace (`\\s`,
`String.prototype.trim`), string lengths in UTF-16 code units, `Number()` coercion of `<ol start>`.

The conversion has three steps, as in turndown: collapse whitespace the way browsers render it
(mutating the tree; `ota.extract.whitespace`), convert every node with the first rule that matches
it, and trim the result.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from ota.extract import gfm
from ota.extract.dom import ELEMENT, TEXT, Node
from ota.extract.jsstring import JS_WHITESPACE, js_number, js_number_to_string, js_trim, utf16_length
from ota.extract.whitespace import BLOCK, collapse_whitespace, flanking_whitespace, is_blank

# Deeply nested pages recurse as deep as their tree; Python's default limit is 1,000.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))


_ESCAPE_ANYWHERE = re.compile(r"([\\*`\[\]_])")
_ESCAPE_LINE_START = re.compile(r"-|\+ |=+|#{1,6} |~~~|>|[0-9]+\. ")
_LINE_START_CHARS = frozenset("-+=#~>0123456789")
_NEWLINES_CLEANUP = re.compile(r"(\n+[" + JS_WHITESPACE + r"]*)+")
_JS_LINE_START = re.compile(r"^|(?<=[\n\r\u2028\u2029])")
_JS_NOT_NEWLINE = r"[^\n\r\u2028\u2029]"
_CODE_EXTRA_SPACE = re.compile(r"^`|^ " + _JS_NOT_NEWLINE + r"*?[^ ]" + _JS_NOT_NEWLINE + r"* \Z|`\Z")
_BACKTICKS = re.compile(r"`+")
_CODE_NEWLINES = re.compile(r"\r?\n|\r")
_HIGHLIGHT = re.compile(r"highlight-(?:text|source)-([a-z0-9]+)")


def escape(text: str) -> str:
    """Escape Markdown syntax in a text node, as turndown 7.2.1 does."""
    if not text:
        return text
    if text[0] in _LINE_START_CHARS:
        match = _ESCAPE_LINE_START.match(text)
        if match:
            # Only one line-start rule can apply: each needs its own first character.
            token = match.group(0)
            escaped = token[:-2] + "\\. " if token[0].isdigit() else "\\" + token
            return escaped + _ESCAPE_ANYWHERE.sub(r"\\\1", text[match.end() :])
    return _ESCAPE_ANYWHERE.sub(r"\\\1", text)


def clean_attribute(value: str | None) -> str:
    """turndown's `cleanAttribute`: runs of newlines (and following whitespace) become one."""
    return _NEWLINES_CLEANUP.sub("\n", value) if value else ""


# -- conversion -------------------------------------------------------------------------------


def join(parts: list[str], replacement: str) -> None:
    """Append `replacement` to the output in `parts`, with turndown's newline rules."""
    trailing = 0
    while parts:
        last = parts[-1]
        stripped = last.rstrip("\n")
        trailing += len(last) - len(stripped)
        if stripped:
            parts[-1] = stripped
            break
        parts.pop()
    body = replacement.lstrip("\n")
    newlines = max(trailing, len(replacement) - len(body))
    if newlines:
        parts.append("\n\n"[:newlines])
    if body:
        parts.append(body)


def process(parent: Node) -> str:
    """The Markdown of the children of `parent`."""
    parts: list[str] = []
    parent_is_code = parent.is_code
    child = parent.first
    while child is not None:
        if child.type == TEXT:
            child.is_code = parent_is_code
            join(parts, child.data if parent_is_code else escape(child.data))
        elif child.type == ELEMENT:
            name = child.name
            child.is_block = name in BLOCK
            child.is_code = parent_is_code or name == "CODE"
            join(parts, replacement_for_node(child))
        else:  # a comment, kept only inside <pre>: it adds nothing but still trims newlines
            join(parts, "")
        child = child.next
    return "".join(parts)


def replacement_for_node(node: Node) -> str:
    """The Markdown of one element, its flanking whitespace included."""
    if node.is_block:
        leading = trailing = ""
    else:
        leading, trailing = flanking_whitespace(node)
    if is_blank(node):
        return leading + ("\n\n" if node.is_block else "") + trailing
    rule = _rule_for(node)
    if rule is None:
        content = process(node)
        if leading or trailing:
            content = js_trim(content)
        converted = "\n\n" + content + "\n\n" if node.is_block else content
    else:
        converted = rule(node, bool(leading or trailing))
    return leading + converted + trailing


def _content(node: Node, trim: bool) -> str:
    content = process(node)
    return js_trim(content) if trim else content


def _paragraph(node: Node, trim: bool) -> str:
    return "\n\n" + _content(node, trim) + "\n\n"


def _line_break(node: Node, trim: bool) -> str:
    return "  \n"


def _heading(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    level = int(node.name[1])
    if level < 3:
        return "\n\n" + content + "\n" + ("=" if level == 1 else "-") * utf16_length(content) + "\n\n"
    return "\n\n" + "#" * level + " " + content + "\n\n"


def _blockquote(node: Node, trim: bool) -> str:
    content = _content(node, trim).strip("\n")
    return "\n\n" + _JS_LINE_START.sub("> ", content) + "\n\n"


def _list(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    parent = node.parent
    if parent is not None and parent.name == "LI" and _last_element_child(parent) is node:
        return "\n" + content
    return "\n\n" + content + "\n\n"


def _list_item(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    prefix = "*   "
    parent = node.parent
    if parent is not None and parent.name == "OL":
        start = parent.get("start")
        index = 0
        sibling = node.prev
        while sibling is not None:
            if sibling.type == ELEMENT:
                index += 1
            sibling = sibling.prev
        number = js_number(start) + index if start else index + 1
        prefix = js_number_to_string(number) + ".  "
    content = content.lstrip("\n")
    if content.endswith("\n"):
        content = content.rstrip("\n") + "\n"
    content = content.replace("\n", "\n" + " " * len(prefix))
    return prefix + content + ("\n" if node.next is not None and not content.endswith("\n") else "")


def _pre(node: Node, trim: bool) -> str:
    first = node.first
    if first is not None and first.name == "CODE":
        return "\n\n    " + first.text_content().replace("\n", "\n    ") + "\n\n"
    return "\n\n" + _content(node, trim) + "\n\n"


def _horizontal_rule(node: Node, trim: bool) -> str:
    return "\n\n* * *\n\n"


def _link(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    href = node.get("href")
    if not href:
        return content
    # OTA's engine adds a rule before turndown's own: the link text is trimmed, so that a link
    # wrapping block elements does not spread over several lines.
    content = js_trim(content)
    href = href.replace("(", "\\(").replace(")", "\\)")
    title = clean_attribute(node.get("title"))
    if title:
        title = ' "' + title.replace('"', '\\"') + '"'
    return "[" + content + "](" + href + title + ")"


def _emphasis(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    return "_" + content + "_" if js_trim(content) else ""


def _strong(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    return "**" + content + "**" if js_trim(content) else ""


def _code(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    parent = node.parent
    if parent is not None and parent.name == "PRE" and node.prev is None and node.next is None:
        return content  # a code block: the PRE rule writes it
    if not content:
        return ""
    content = _CODE_NEWLINES.sub(" ", content)
    extra = " " if _CODE_EXTRA_SPACE.search(content) else ""
    delimiter = "`"
    runs = set(_BACKTICKS.findall(content))
    while delimiter in runs:
        delimiter += "`"
    return delimiter + extra + content + extra + delimiter


def _image(node: Node, trim: bool) -> str:
    src = node.get("src") or ""
    if not src:
        return ""
    alt = clean_attribute(node.get("alt"))
    title = clean_attribute(node.get("title"))
    return "![" + alt + "](" + src + (' "' + title + '"' if title else "") + ")"


def _strikethrough(node: Node, trim: bool) -> str:
    return "~" + _content(node, trim) + "~"


def _div(node: Node, trim: bool) -> str:
    first = node.first
    match = _HIGHLIGHT.search(node.get("class") or "")
    if match and first is not None and first.name == "PRE":
        return "\n\n```" + match.group(1) + "\n" + first.text_content() + "\n```\n\n"
    return "\n\n" + _content(node, trim) + "\n\n"


# Elements whose DOM `type` property is their `type` attribute as written; an INPUT's is the
# attribute in ASCII lower case (when it names a known type). GFM's task-list rule reads that property,
# so `<li><ul type="checkbox">…` is a checkbox too.
_TYPE_AS_WRITTEN = frozenset("A EMBED LI LINK OBJECT OL PARAM SOURCE UL".split())


def _is_task_checkbox(node: Node) -> bool:
    """GFM's task-list filter: `node.type === 'checkbox'` in a list item."""
    name = node.name
    if name == "INPUT":
        kind = node.get("type") or ""
        is_checkbox = kind.isascii() and kind.lower() == "checkbox"
    else:
        is_checkbox = name in _TYPE_AS_WRITTEN and node.get("type") == "checkbox"
    parent = node.parent
    return is_checkbox and parent is not None and parent.name == "LI"


def _task_list_item(node: Node, trim: bool) -> str:
    checked = node.name == "INPUT" and node.get("checked") is not None
    return "[x] " if checked else "[ ] "


def _table_cell(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    if gfm.table_should_be_skipped(gfm.parent_table(node)):
        return content
    return gfm.cell(content, node)


def _table_row(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    table = gfm.parent_table(node)
    if table is None or gfm.table_should_be_skipped(table):
        return content
    borders = ""
    if gfm.is_heading_row(node):
        borders = "".join(gfm.cell("---", None, i) for i in range(gfm.column_count(table)))
    return "\n" + content + ("\n" + borders if borders else "")


def _table(node: Node, trim: bool) -> str:
    content = _content(node, trim)
    if gfm.table_should_be_skipped(node):
        return content
    return gfm.table(content, node)


def _table_section(node: Node, trim: bool) -> str:
    return _content(node, trim)


def _last_element_child(node: Node) -> Node | None:
    child = node.last
    while child is not None and child.type != ELEMENT:
        child = child.prev
    return child


Rule = Callable[[Node, bool], str]

RULES: dict[str, Rule] = {
    "THEAD": _table_section,
    "TBODY": _table_section,
    "TFOOT": _table_section,
    "TABLE": _table,
    "TR": _table_row,
    "TH": _table_cell,
    "TD": _table_cell,
    "DEL": _strikethrough,
    "S": _strikethrough,
    "STRIKE": _strikethrough,
    "DIV": _div,
    "P": _paragraph,
    "BR": _line_break,
    **{f"H{level}": _heading for level in range(1, 7)},
    "BLOCKQUOTE": _blockquote,
    "UL": _list,
    "OL": _list,
    "LI": _list_item,
    "PRE": _pre,
    "HR": _horizontal_rule,
    "A": _link,
    "EM": _emphasis,
    "I": _emphasis,
    "STRONG": _strong,
    "B": _strong,
    "CODE": _code,
    "IMG": _image,
}


# The rules turndown and the GFM plugin declare by tag name; the others test `nodeName` exactly.
_RULES_BY_FOREIGN_NAME = {
    name.lower(): RULES[name]
    for name in "THEAD TBODY TFOOT TR TH TD DEL S STRIKE P BR H1 H2 H3 H4 H5 H6 BLOCKQUOTE UL OL LI HR "
    "EM I STRONG B IMG".split()
}


def _rule_for(node: Node) -> Rule | None:
    """The first rule that applies to `node`, in the order OTA's converter tries them."""
    name = node.name
    if name == "A" and node.get("href"):
        return _link  # OTA's own link rule is tried first
    if _is_task_checkbox(node):
        return _task_list_item
    # turndown matches the rules declared by tag name case-insensitively, so an SVG or MathML
    # element named like one (`<svg><del>`, whose name stays lower-case) gets that rule too.
    return RULES.get(name) or _RULES_BY_FOREIGN_NAME.get(name)


def to_markdown(root: Node) -> str:
    """Convert `root` (a fragment or element, mutated) to Markdown, as OTA's turndown does."""
    collapse_whitespace(root)
    output = process(root)
    return output.lstrip("\t\r\n").rstrip(JS_WHITESPACE)
