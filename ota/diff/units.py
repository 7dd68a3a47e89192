"""A version's Markdown cut into *units*, the leaves of its structure as the version page renders it:
a heading, a paragraph (in a list item, a quote, or alone), a table row, a code block, a rule.

Each unit keeps the containers it sits in (lists, items, quotes, tables) and its inline formatting
(emphasis, links, code) as character ranges over its plain text, so that a diff drawn from units
never shows Markdown markup. The parser is the version page's (`new_parser`: raw HTML off, safe
links only). Pure: strings in, values out; `ota.diff.sections` aligns units and sums them up.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token as MdToken
from markupsafe import escape

HARD_BREAK = "\u2028"  # a line separator stands for a hard break in a unit's plain text
_LINK_REL = "nofollow noopener noreferrer"

_ALIGN = re.compile(r"text-align:\s*(left|right|center)")
_CONTAINERS = {
    "bullet_list_open": "ul",
    "ordered_list_open": "ol",
    "list_item_open": "li",
    "blockquote_open": "blockquote",
    "table_open": "table",
    "thead_open": "thead",
    "tbody_open": "tbody",
}
_CLOSERS = {name.replace("_open", "_close") for name in _CONTAINERS}

_SAFE_SCHEME = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def validate_link(url: str) -> bool:
    """Only web and mail links, and relative ones, are links (browsers drop control characters and
    spaces inside a scheme, so they are dropped before looking at it)."""
    compact = _CONTROL.sub("", url)
    return bool(_SAFE_SCHEME.match(compact)) or not _SCHEME.match(compact)


def new_parser() -> MarkdownIt:
    """A parser of versions as they are shown: CommonMark with tables and strikethrough, raw HTML
    off, only safe links (`validate_link`). The viewer adds its rendering rules to its own one."""
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.validateLink = validate_link  # type: ignore[method-assign]
    return parser


_parser = functools.cache(new_parser)

Tag = tuple[str, str]  # an opening and a closing HTML tag
Context = tuple[Tag, ...]


@dataclass(frozen=True, slots=True)
class Frame:
    """A container around a unit; `opens` when the unit is the first thing in it."""

    tag: str
    attrs: str
    opens: bool

    def open_html(self, extra_class: str = "") -> str:
        return f"<{self.tag}{self.attrs}{extra_class}>"


@dataclass(frozen=True, slots=True)
class Inline:
    """Text with its formatting: `ends[k]` is where the run with `contexts[k]` ends."""

    text: str
    ends: tuple[int, ...] = ()
    contexts: tuple[Context, ...] = ()
    links: tuple[str, ...] = ()

    def runs(self, start: int, end: int) -> Iterator[tuple[str, Context]]:
        """The pieces of text[start:end], each with its formatting."""
        at = start
        k = bisect.bisect_right(self.ends, start)
        while at < end:
            stop = min(end, self.ends[k]) if k < len(self.ends) else end
            yield self.text[at:stop], self.contexts[k] if k < len(self.contexts) else ()
            at, k = stop, k + 1


@dataclass(frozen=True, slots=True)
class Unit:
    """A leaf of the document: `kind` is heading, paragraph, table_row, code or rule."""

    kind: str
    tag: str
    frames: tuple[Frame, ...]
    cells: tuple[Inline, ...]
    cell_tags: tuple[str, ...] = ()
    hidden: bool = False  # a paragraph of a tight list: no <p>

    @property
    def key(self) -> str:
        """What is compared: text, and formatting and link targets (a changed link is a change)."""
        return (
            self.kind
            + "\x00"
            + "\x1f".join(f"{cell.text}\x1e{cell.ends}{cell.contexts}" for cell in self.cells)
        )

    @property
    def text(self) -> str:
        return " ".join(cell.text for cell in self.cells)


# -- parsing -----------------------------------------------------------------------------------------


def units(markdown: str) -> list[Unit]:
    """The leaves of a Markdown document, as the version page renders it."""
    tokens = _parser().parse(markdown)
    out: list[Unit] = []
    stack: list[list[object]] = []  # [tag, attrs, opens, next ordinal]

    def frames() -> tuple[Frame, ...]:
        made = tuple(Frame(str(f[0]), str(f[1]), bool(f[2])) for f in stack)
        for frame in stack:
            frame[2] = False
        return made

    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind in _CONTAINERS:
            tag, attrs = _CONTAINERS[kind], ""
            if kind == "ordered_list_open":
                start = _int(token.attrGet("start"), 1)
                stack.append([tag, f' start="{start}"' if start != 1 else "", True, start])
                index += 1
                continue
            if kind == "list_item_open" and stack and stack[-1][0] == "ol":
                ordinal = int(str(stack[-1][3]))
                stack[-1][3] = ordinal + 1
                attrs = f' value="{ordinal}"'
            stack.append([tag, attrs, True, 0])
        elif kind in _CLOSERS:
            if stack:
                stack.pop()
        elif kind in ("paragraph_open", "heading_open"):
            inline = tokens[index + 1] if index + 1 < len(tokens) else None
            cell = _inline(inline.children or [] if inline else [])
            if kind == "heading_open":
                tag = f"h{min(6, int(token.tag[1]) + 2)}"
                out.append(Unit("heading", tag, frames(), (cell,)))
            else:
                out.append(Unit("paragraph", "p", frames(), (cell,), hidden=token.hidden))
            index += 3
            continue
        elif kind == "tr_open":
            cells: list[Inline] = []
            cell_tags: list[str] = []
            index += 1
            while index < len(tokens) and tokens[index].type != "tr_close":
                if tokens[index].type in ("th_open", "td_open"):
                    align = _ALIGN.search(str(tokens[index].attrGet("style") or ""))
                    cell_tags.append(tokens[index].tag + (f' class="{align.group(1)}"' if align else ""))
                    inline = tokens[index + 1]
                    cells.append(_inline(inline.children or [] if inline.type == "inline" else []))
                index += 1
            out.append(Unit("table_row", "tr", frames(), tuple(cells), tuple(cell_tags)))
        elif kind in ("fence", "code_block"):
            out.append(Unit("code", "pre", frames(), (Inline(token.content),)))
        elif kind == "hr":
            out.append(Unit("rule", "hr", frames(), (Inline(""),)))
        elif kind == "html_block":  # never produced with raw HTML off; shown as text if it were
            out.append(Unit("paragraph", "p", frames(), (Inline(token.content),)))
        index += 1
    return out


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _inline(children: Sequence[MdToken]) -> Inline:
    text: list[str] = []
    ends: list[int] = []
    contexts: list[Context] = []
    links: list[str] = []
    stack: list[Tag] = []
    length = 0

    def add(piece: str, *extra: Tag) -> None:
        nonlocal length
        if not piece:
            return
        context = (*stack, *extra)
        length += len(piece)
        text.append(piece)
        if contexts and contexts[-1] == context:
            ends[-1] = length
        else:
            ends.append(length)
            contexts.append(context)

    for child in children:
        kind = child.type
        if kind == "link_open":
            href = str(child.attrGet("href") or "")
            links.append(href)
            title = child.attrGet("title")
            title_attr = f' title="{escape(str(title))}"' if title else ""
            stack.append((f'<a href="{escape(href)}"{title_attr} rel="{_LINK_REL}">', "</a>"))
        elif kind in ("em_open", "strong_open", "s_open"):
            stack.append((f"<{child.tag}>", f"</{child.tag}>"))
        elif kind.endswith("_close"):
            if stack:
                stack.pop()
        elif kind == "code_inline":
            add(child.content, ("<code>", "</code>"))
        elif kind == "softbreak":
            add("\n")
        elif kind == "hardbreak":
            add(HARD_BREAK)
        elif kind == "image":
            src = str(child.attrGet("src") or "")
            links.append(src)
            alt = "".join(grandchild.content for grandchild in child.children or []) or "image"
            add(f"[image: {alt}]", (f'<a class="image" rel="{_LINK_REL}" href="{escape(src)}">', "</a>"))
        else:  # text, and html_inline if raw HTML were on: as text
            add(child.content)
    return Inline("".join(text), tuple(ends), tuple(contexts), tuple(links))
