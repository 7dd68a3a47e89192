"""`remove` and `select`: CSS selectors and DOM ranges over the parsed page.

Ranges follow the DOM Standard, as jsdom implements them for OTA: a range starts before or after
the first match of its start selector and ends before or after the first match of its end
selector; `select` copies the range's contents (partially selected ancestors are copied without
their other children) and `remove` deletes them. All `remove` ranges are computed before any
element is removed, and they move as the document changes (live ranges), like jsdom's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ota.errors import ExtractError
from ota.extract import dom

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

    from ota.declarations import RangeSelector, Selector


@dataclass
class _Range:
    """A live DOM range: two boundary points (container, offset)."""

    start: LexborNode
    start_offset: int
    end: LexborNode
    end_offset: int


def _children(node: LexborNode) -> list[LexborNode]:
    return list(node.iter(include_text=True))


def _index(node: LexborNode) -> int:
    index = 0
    sibling = node.prev
    while sibling is not None:
        index += 1
        sibling = sibling.prev
    return index


def _parent(node: LexborNode) -> LexborNode:
    parent = node.parent
    if parent is None:  # cannot happen: what a selector matches is in the document
        raise ExtractError(f"<{node.tag}> is not in the document")
    return parent


def _path(node: LexborNode, offset: int) -> list[int]:
    """The boundary point as child indexes from the document: compares in tree order."""
    path = [offset]
    while node.parent is not None:
        path.append(_index(node))
        node = node.parent
    path.reverse()
    return path


def _ancestors(node: LexborNode) -> list[LexborNode]:
    """`node` and its ancestors, innermost first."""
    chain = [node]
    while (parent := chain[-1].parent) is not None:
        chain.append(parent)
    return chain


def _query(document: LexborHTMLParser, selector: str) -> list[LexborNode]:
    try:
        return document.css(selector)
    except Exception as error:  # lexbor raises a bare ValueError/SelectolaxError for bad syntax
        raise ExtractError(
            f'The provided selector "{selector}" is not a valid CSS selector: {error}'
        ) from error


def _first(document: LexborHTMLParser, selector: str) -> LexborNode | None:
    matches = _query(document, selector)
    return matches[0] if matches else None


def make_range(document: LexborHTMLParser, selector: RangeSelector) -> _Range:
    """The range a range selector designates, collapsed when its end comes before its start."""
    start_node = _first(document, selector.start_before or selector.start_after or "")
    end_node = _first(document, selector.end_before or selector.end_after or "")
    if start_node is None:
        raise ExtractError(f'The "start" selector has no match in document in: {selector.as_json()}')
    if end_node is None:
        raise ExtractError(f'The "end" selector has no match in document in: {selector.as_json()}')
    start_parent, end_parent = _parent(start_node), _parent(end_node)
    start_offset = _index(start_node) + (0 if selector.start_before else 1)
    end_offset = _index(end_node) + (0 if selector.end_before else 1)
    if _path(end_parent, end_offset) < _path(start_parent, start_offset):
        return _Range(end_parent, end_offset, end_parent, end_offset)
    return _Range(start_parent, start_offset, end_parent, end_offset)


def _split(rng: _Range) -> tuple[LexborNode, LexborNode | None, LexborNode | None, int, int]:
    """Common ancestor, first and last partially contained children, contained children span."""
    start_chain = _ancestors(rng.start)
    end_ids = {node.mem_id for node in _ancestors(rng.end)}
    common = next(node for node in start_chain if node.mem_id in end_ids)
    start_ids = {node.mem_id for node in start_chain}
    first = last = None
    if rng.start.mem_id not in end_ids:  # start container is not an ancestor of the end one
        first = start_chain[[n.mem_id for n in start_chain].index(common.mem_id) - 1]
    if rng.end.mem_id not in start_ids:
        end_chain = _ancestors(rng.end)
        last = end_chain[[n.mem_id for n in end_chain].index(common.mem_id) - 1]
    low = _index(first) + 1 if first is not None else rng.start_offset
    high = _index(last) if last is not None else rng.end_offset
    return common, first, last, low, high


def clone_contents(rng: _Range) -> list[dom.Node]:
    """A copy of what the range contains, as `Range.cloneContents()` gives it."""
    if rng.start == rng.end:
        if rng.start_offset >= rng.end_offset:
            return []
        copies = (dom.deep_copy(c) for c in _children(rng.start)[rng.start_offset : rng.end_offset])
        return [c for c in copies if c is not None]
    common, first, last, low, high = _split(rng)
    result: list[dom.Node] = []
    if first is not None:
        clone = dom.shallow_copy(first)
        inner = _Range(rng.start, rng.start_offset, first, len(_children(first)))
        for child in clone_contents(inner):
            clone.append(child)
        result.append(clone)
    for contained in _children(common)[low:high]:
        copied = dom.deep_copy(contained)
        if copied is not None:
            result.append(copied)
    if last is not None:
        clone = dom.shallow_copy(last)
        for child in clone_contents(_Range(last, 0, rng.end, rng.end_offset)):
            clone.append(child)
        result.append(clone)
    return result


def _contained_nodes(rng: _Range) -> list[LexborNode]:
    """The outermost nodes entirely inside the range."""
    if rng.start == rng.end:
        return _children(rng.start)[rng.start_offset : rng.end_offset]
    common, first, last, low, high = _split(rng)
    nodes: list[LexborNode] = []
    if first is not None:
        nodes.extend(_children(rng.start)[rng.start_offset :])
        current = rng.start
        while current != first:
            sibling = current.next
            while sibling is not None:
                nodes.append(sibling)
                sibling = sibling.next
            current = _parent(current)
    nodes.extend(_children(common)[low:high])
    if last is not None:
        nodes.extend(_children(rng.end)[: rng.end_offset])
        current = rng.end
        while current != last:
            sibling = current.prev
            while sibling is not None:
                nodes.append(sibling)
                sibling = sibling.prev
            current = _parent(current)
    return nodes


def _remove_node(node: LexborNode, live: list[_Range]) -> None:
    """Detach `node`, moving the live ranges' boundary points as the DOM Standard says."""
    parent = node.parent
    if parent is None:
        return
    if parent.tag == "-document" and node.tag == "html":
        # lexbor cannot detach the root element: empty it instead, which leaves nothing to select
        # but the <html> element itself.
        for child in _children(node):
            _remove_node(child, live)
        return
    index = _index(node)
    for rng in live:
        for side in ("start", "end"):
            container = getattr(rng, side)
            offset = getattr(rng, side + "_offset")
            if any(ancestor == node for ancestor in _ancestors(container)):
                setattr(rng, side, parent)
                setattr(rng, side + "_offset", index)
            elif container == parent and offset > index:
                setattr(rng, side + "_offset", offset - 1)
    node.remove()


def remove(document: LexborHTMLParser, selectors: tuple[Selector, ...]) -> None:
    """Delete what the `remove` selectors match: CSS matches first, then range contents."""
    ranges: list[_Range] = []
    matches: list[LexborNode] = []
    for selector in selectors:
        if isinstance(selector, str):
            matches.extend(_query(document, selector))
        else:
            ranges.append(make_range(document, selector))
    removed: set[int] = set()
    for node in matches:
        if node.mem_id in removed:
            continue
        # A node inside an already removed element is gone with it.
        if any(ancestor.mem_id in removed for ancestor in _ancestors(node)):
            continue
        removed.add(node.mem_id)
        _remove_node(node, ranges)
    for index, rng in enumerate(ranges):
        others = ranges[index + 1 :]
        for node in _contained_nodes(rng):
            _remove_node(node, others)


def select(document: LexborHTMLParser, selectors: tuple[Selector, ...]) -> dom.Node:
    """A fragment holding a copy of everything the `select` selectors match, in order."""
    result = dom.fragment()
    for selector in selectors:
        if isinstance(selector, str):
            for match in _query(document, selector):
                copied = dom.deep_copy(match)
                if copied is not None:
                    result.append(copied)
        else:
            for child in clone_contents(make_range(document, selector)):
                result.append(child)
    return result
