"""Pipe tables as joplin-turndown-plugin-gfm 1.0.12 writes them (OTA's table conversion).

A table becomes a pipe table unless it has a single cell or contains another table, in which case
its cells are written one after the other as plain content. A table whose first row is not a
heading row gets an empty header row, so the result is still a valid Markdown table.
"""

from __future__ import annotations

import re

from ota.extract.dom import Node
from ota.extract.jsstring import js_number, js_trim, utf16_length

_PIPES = re.compile(r"\|+")
_JS_SPACE_ONLY = re.compile(r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*\Z")


def _child_count(node: Node) -> int:
    count = 0
    child = node.first
    while child is not None:
        count += 1
        child = child.next
    return count


def rows(table: Node) -> list[Node]:
    """`HTMLTableElement.rows`: thead rows, then body rows, then tfoot rows, in tree order."""
    head: list[Node] = []
    body: list[Node] = []
    foot: list[Node] = []
    for child in table.children():
        if child.name == "TR":
            body.append(child)
        elif child.name in ("THEAD", "TBODY", "TFOOT"):
            group = head if child.name == "THEAD" else foot if child.name == "TFOOT" else body
            group.extend(row for row in child.children() if row.name == "TR")
    return head + body + foot


def _contains_table(node: Node) -> bool:
    return any(descendant.name == "TABLE" for descendant in node.descendants())


def table_should_be_skipped(table: Node | None) -> bool:
    """Whether a table is written as plain content: single cell, nested table, or no table."""
    if table is None:
        return True
    skipped = table.table_skipped  # asked for every cell: computed once per table
    if skipped is None:
        table_rows = rows(table)
        single_cell = len(table_rows) == 1 and _child_count(table_rows[0]) <= 1
        skipped = table.table_skipped = single_cell or _contains_table(table)
    return skipped


def parent_table(node: Node) -> Node | None:
    """The nearest TABLE ancestor, or None."""
    parent = node.parent
    while parent is not None and parent.name != "TABLE":
        parent = parent.parent
    return parent


def column_count(table: Node) -> int:
    """The largest number of child nodes of a row."""
    return max((_child_count(row) for row in rows(table)), default=0)


def _is_first_tbody(element: Node) -> bool:
    if element.name != "TBODY":
        return False
    previous = element.prev
    return previous is None or (
        previous.name == "THEAD" and _JS_SPACE_ONLY.match(previous.text_content()) is not None
    )


def is_heading_row(row: Node) -> bool:
    """A row in a THEAD, or the first row of the table (or first TBODY) made only of TH cells."""
    parent = row.parent
    if parent is None:
        return False
    if parent.name == "THEAD":
        return True
    return (
        parent.first is row
        and (parent.name == "TABLE" or _is_first_tbody(parent))
        and all(child.name == "TH" for child in row.children())
    )


def _js_int_loop_count(value: str | None) -> int:
    """How many extra columns `for (i = 1; i < colspan; i++)` adds for a colspan attribute."""
    number = js_number(value) if value else 1.0
    if number != number or number <= 1:
        return 0
    whole = int(number)
    # Browsers clamp colspan to 1,000; so do we, so a hostile page cannot blow up the output.
    return min(whole - 1 if whole == number else whole, 999)


def cell(content: str, node: Node | None, index: int | None = None) -> str:
    """One cell: trimmed, newlines as `<br>`, pipes escaped, padded to three characters."""
    if index is None and node is not None:
        index = 0
        sibling = node.prev
        while sibling is not None:
            index += 1
            sibling = sibling.prev
    prefix = "| " if index == 0 else " "
    text = js_trim(content).replace("\n\r", "<br>").replace("\n", "<br>")
    text = _PIPES.sub("\\|", text)
    length = utf16_length(text)
    if length < 3:
        text += " " * (3 - length)
    if node is not None:
        text += " |    " * _js_int_loop_count(node.get("colspan"))
    return prefix + text + " |"


def table(content: str, node: Node) -> str:
    """A whole table, with an empty header row when its first row is not a heading row."""
    content = re.sub(r"\n+", "\n", content)
    lines = js_trim(content).split("\n")
    divider = lines[1].startswith("| ---") if len(lines) >= 2 else lines[0] == "| ---"
    columns = column_count(node)
    header = ""
    if columns and not divider:
        header = "|" + "     |" * columns + "\n" + "|" + " --- |" * columns
    return "\n\n" + header + content + "\n\n"
