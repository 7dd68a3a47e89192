"""What changed between two versions, shown as the documents they are: rendered, not as Markdown.

The documents are cut into units and aligned by `ota.diff.sections` (the parser that renders the
version page, word diffs inside changed units, cell by cell in tables). Here the result is
rendered back into the structure: inline (one document, insertions and deletions marked where they
are) and side by side (one row per aligned unit). A summary says what changed by section ("§4A
added; §5 reworded; 2 links changed"), each item linking to its first change.

Everything is escaped here: texts with `markupsafe.escape`, link targets were validated by the
parser (only web, mail and relative links are links at all).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from ota.diff import Token
from ota.diff.sections import Item, align, link_changes, section_summary
from ota.diff.units import HARD_BREAK, Context, Frame, Inline, Tag, Unit, units

#: Unchanged units shown around each change; the others are folded.
CONTEXT = 1


@dataclass
class RenderedDiff:
    """A diff page's body: segments (changed passages and folded ones) and the summary."""

    segments: list[dict[str, object]] = field(default_factory=list)
    summary: list[dict[str, str]] = field(default_factory=list)
    links: str = ""
    changed: bool = False


# -- rendering -----------------------------------------------------------------------------------------

_MARKS = {
    "insert": ('<ins><span class="sr">[added: </span>', '<span class="sr">]</span></ins>'),
    "delete": ('<del><span class="sr">[removed: </span>', '<span class="sr">]</span></del>'),
}


def _cell_html(tokens: Sequence[Token], old: Inline | None, new: Inline | None, side: str = "") -> str:
    """A cell's word diff, its formatting restored around each piece; `side` keeps one side only."""
    out: list[str] = []
    open_context: list[Tag] = []
    open_mark = ""
    old_at = new_at = 0

    def emit(piece: str, context: Context, mark: str) -> None:
        nonlocal open_mark
        if tuple(open_context) != context:
            if open_mark:
                out.append(_MARKS[open_mark][1])
                open_mark = ""
            common = 0
            while common < min(len(open_context), len(context)) and open_context[common] == context[common]:
                common += 1
            out.extend(tag[1] for tag in reversed(open_context[common:]))
            out.extend(tag[0] for tag in context[common:])
            open_context[common:] = context[common:]
        if mark != open_mark:
            if open_mark:
                out.append(_MARKS[open_mark][1])
            if mark:
                out.append(_MARKS[mark][0])
            open_mark = mark
        out.append(str(escape(piece)).replace(HARD_BREAK, "<br>"))

    for token in tokens:
        size = len(token.text)
        if token.op == "equal":
            if old is not None and new is not None:
                for piece, before, after in _split(old, old_at, new, new_at, size):
                    if before == after:
                        emit(piece, after, "")
                        continue
                    # The same words, another link or formatting: shown as replaced.
                    if side != "new":
                        emit(piece, before, "delete")
                    if side != "old":
                        emit(piece, after, "insert")
            else:
                source, start = (new, new_at) if new is not None else (old, old_at)
                for piece, context in source.runs(start, start + size) if source is not None else ():
                    emit(piece, context, "")
            old_at, new_at = old_at + size, new_at + size
        elif token.op == "insert":
            if side != "old" and new is not None:
                for piece, context in new.runs(new_at, new_at + size):
                    emit(piece, context, "insert")
            new_at += size
        else:
            if side != "new" and old is not None:
                for piece, context in old.runs(old_at, old_at + size):
                    emit(piece, context, "delete")
            old_at += size
    if open_mark:
        out.append(_MARKS[open_mark][1])
    out.extend(tag[1] for tag in reversed(open_context))
    return "".join(out)


def _split(
    old: Inline, old_at: int, new: Inline, new_at: int, size: int
) -> Iterator[tuple[str, Context, Context]]:
    """Equal text cut where the formatting of either side changes: (piece, old's, new's)."""
    before, after = list(old.runs(old_at, old_at + size)), list(new.runs(new_at, new_at + size))
    text = new.text[new_at : new_at + size]
    if not before or not after:
        return
    i = j = position = 0
    end_i, end_j = len(before[0][0]), len(after[0][0])
    while position < size:
        end = min(end_i, end_j)
        yield text[position:end], before[i][1], after[j][1]
        position = end
        if end_i == end and i + 1 < len(before):
            i += 1
            end_i += len(before[i][0])
        if end_j == end and j + 1 < len(after):
            j += 1
            end_j += len(after[j][0])


def _unit_html(item: Item, side: str = "", anchor: str = "") -> str:
    """One aligned unit as HTML, without its containers; `side` ("old", "new") for side by side."""
    unit = (item.old if side == "old" else item.new) or item.unit
    css = f"b {unit.kind} {item.op}"
    attrs = f' class="{css}"' + (f' id="{anchor}"' if anchor else "")
    olds = item.old.cells if item.old and item.op != "equal" else ()  # equal: the same formatting
    news = item.new.cells if item.new else ()

    def cell(k: int) -> str:
        return _cell_html(
            item.cells[k] if k < len(item.cells) else (),
            olds[k] if k < len(olds) else (Inline("") if item.old and item.op != "equal" else None),
            news[k] if k < len(news) else (Inline("") if item.new else None),
            side,
        )

    if unit.kind == "table_row":
        tags = unit.cell_tags or ("td",) * len(item.cells)
        cells = "".join(
            f"<{tags[min(k, len(tags) - 1)]}>{cell(k)}</{tags[min(k, len(tags) - 1)].split()[0]}>"
            for k in range(len(item.cells))
        )
        return f"<tr{attrs}>{cells}</tr>"
    if unit.kind == "rule":
        return f"<hr{attrs}>"
    if unit.kind == "code":
        return f"<pre{attrs}><code>{cell(0)}</code></pre>"
    if unit.hidden:
        return f"<span{attrs}>{cell(0)}</span>"
    return f"<{unit.tag}{attrs}>{cell(0)}</{unit.tag}>"


class _Writer:
    """Opens and closes containers around a sequence of units (inline view)."""

    def __init__(self) -> None:
        self.stack: list[Frame] = []
        self.out: list[str] = []

    def write(self, frames: tuple[Frame, ...], html: str) -> None:
        keep = 0
        while (
            keep < min(len(self.stack), len(frames))
            and not frames[keep].opens
            and (self.stack[keep].tag, self.stack[keep].attrs) == (frames[keep].tag, frames[keep].attrs)
        ):
            keep += 1
        self.close(keep)
        for frame in frames[keep:]:
            self.out.append(frame.open_html(' class="cont"' if frame.tag == "li" and not frame.opens else ""))
            self.stack.append(frame)
        self.out.append(html)

    def close(self, depth: int = 0) -> None:
        while len(self.stack) > depth:
            self.out.append(f"</{self.stack.pop().tag}>")

    def html(self) -> Markup:
        self.close()
        return Markup("".join(self.out))  # every text was escaped in _cell_html


def _alone(frames: tuple[Frame, ...], html: str) -> Markup:
    writer = _Writer()
    writer.write(tuple(Frame(f.tag, f.attrs, True) for f in frames), html)
    return writer.html()


# -- the page ------------------------------------------------------------------------------------------


def rendered_diff(
    old_markdown: str, new_markdown: str, *, side: bool = False, context: int = CONTEXT
) -> RenderedDiff:
    """The diff page's body for two versions' Markdown (`old_markdown` empty for a first record):
    segments with their `inline` HTML, or their side by side `rows` when `side`."""
    return diff_units(units(old_markdown), units(new_markdown), side=side, context=context)


def diff_units(
    old: list[Unit], new: list[Unit], *, side: bool = False, context: int = CONTEXT
) -> RenderedDiff:
    """`rendered_diff` of two documents already cut into units (`units`)."""
    items = align(old, new)
    anchors = {
        index: f"change-{n}" for n, index in enumerate(i for i, it in enumerate(items) if it.op != "equal")
    }
    result = RenderedDiff(
        changed=bool(anchors), summary=section_summary(items, anchors), links=link_changes(items)
    )
    position = 0
    for start, end in _spans(items, context):
        if start > position:
            result.segments.append(_segment("folded", items, position, start, anchors, side))
        result.segments.append(_segment("hunk", items, start, end, anchors, side))
        position = end
    if position < len(items) and result.segments:
        result.segments.append(_segment("folded", items, position, len(items), anchors, side))
    return result


def _spans(items: list[Item], context: int) -> list[tuple[int, int]]:
    spans: list[list[int]] = []
    for index, item in enumerate(items):
        if item.op != "equal":
            start, end = max(0, index - context), min(len(items), index + context + 1)
            if spans and start <= spans[-1][1]:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    return [(start, end) for start, end in spans]


def _segment(
    kind: str, items: list[Item], start: int, end: int, anchors: dict[int, str], side: bool
) -> dict[str, object]:
    writer = _Writer()
    rows = []
    for index in range(start, end):
        item = items[index]
        anchor = anchors.get(index, "")
        if not side:
            writer.write(item.unit.frames, _unit_html(item, anchor=anchor))
            continue
        rows.append(
            {
                "css": f"row {item.unit.kind} {item.op}",
                "id": anchor,
                "old": _alone(item.old.frames, _unit_html(item, "old")) if item.old else None,
                "new": _alone(item.new.frames, _unit_html(item, "new")) if item.new else None,
            }
        )
    return {"kind": kind, "count": end - start, "inline": writer.html(), "rows": rows}
