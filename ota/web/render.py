"""HTML from hostile text: versions rendered from Markdown, and word-level diffs.

Everything here comes from pages the platforms control. Markdown is rendered by markdown-it-py with
raw HTML off (a `<script>` or an `<img onerror>` in a version is shown as text), and only `http:`,
`https:` and `mailto:` links (or relative ones) become links: `javascript:`, `data:`, `vbscript:`
and the rest stay text. Images are never loaded (that would tell a platform who reads its terms,
and the pages' Content-Security-Policy forbids other origins anyway): an image becomes a link to
it. Diffs are built with `markupsafe.escape` around every piece of text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token as MdToken
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

from ota.diff import Block, Hunk, TextDiff

_SAFE_SCHEME = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def _validate_link(url: str) -> bool:
    """Only web and mail links, and relative ones (browsers drop control characters and spaces
    inside a scheme, so they are dropped before looking at it)."""
    compact = _CONTROL.sub("", url)
    return bool(_SAFE_SCHEME.match(compact)) or not _SCHEME.match(compact)


def _link_open(
    self: RendererHTML, tokens: Sequence[MdToken], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _image(
    self: RendererHTML, tokens: Sequence[MdToken], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = str(token.attrGet("src") or "")
    return (
        f'<a class="image" rel="nofollow noopener noreferrer" href="{escape(src)}">[image: {escape(alt)}]</a>'
    )


def _heading(
    self: RendererHTML, tokens: Sequence[MdToken], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """The terms' headings sit below the page's own h1 and h2: h1 becomes h3, down to h6."""
    token = tokens[idx]
    token.tag = f"h{min(6, int(token.tag[1]) + 2)}"
    return self.renderToken(tokens, idx, options, env)


@functools.cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.validateLink = _validate_link  # type: ignore[method-assign]
    parser.add_render_rule("link_open", _link_open)
    parser.add_render_rule("image", _image)
    parser.add_render_rule("heading_open", _heading)
    parser.add_render_rule("heading_close", _heading)
    return parser


def markdown_html(text: str) -> Markup:
    """A version's Markdown as safe HTML."""
    return Markup(_parser().render(text))  # markdown-it escapes all text; html is off


# -- diffs -------------------------------------------------------------------------------------------

_ADDED = '<ins><span class="sr">[added: </span>{}<span class="sr">]</span></ins>'
_REMOVED = '<del><span class="sr">[removed: </span>{}<span class="sr">]</span></del>'


def _side(block: Block, side: str) -> str:
    """One side of a block as HTML: equal text plain, its side's changed tokens marked."""
    parts = []
    for token in block.tokens:
        if token.op == "equal":
            parts.append(str(escape(token.text)))
        elif token.op == "delete" and side == "old":
            parts.append(_REMOVED.format(escape(token.text)))
        elif token.op == "insert" and side == "new":
            parts.append(_ADDED.format(escape(token.text)))
    return "".join(parts)


def _inline(block: Block) -> str:
    parts = []
    for token in block.tokens:
        text = escape(token.text)
        if token.op == "equal":
            parts.append(str(text))
        else:
            parts.append((_ADDED if token.op == "insert" else _REMOVED).format(text))
    return "".join(parts)


def _plain(block: Block, side: str = "new") -> str:
    return str(escape(block.new_text if side == "new" else block.old_text))


@functools.cache
def _block_class(kind: str, op: str, moved: bool) -> str:
    return f"b {kind} {op}" + (" moved" if moved else "")


def diff_sections(diff: TextDiff, *, context: int = 1) -> list[dict[str, Any]]:
    """What a diff page shows: hunks of changed blocks with context, and the folded blocks between
    them, each block as inline HTML and as its old and new sides (for side by side)."""
    sections: list[dict[str, Any]] = []
    hunks: tuple[Hunk, ...] = diff.hunks(context)
    position = 0
    for hunk in hunks:
        if hunk.start > position:
            sections.append({"folded": _blocks(diff.blocks[position : hunk.start])})
        sections.append({"hunk": _blocks(hunk.blocks)})
        position = hunk.start + len(hunk.blocks)
    if position < len(diff.blocks) and hunks:
        sections.append({"folded": _blocks(diff.blocks[position:])})
    return sections


def _blocks(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    rendered = []
    for block in blocks:
        if block.op == "equal":
            text = Markup(_plain(block))  # escaped in _plain
            old = new = inline = text
        else:
            inline = Markup(_inline(block))  # escaped in _inline
            old = Markup(_side(block, "old"))
            new = Markup(_side(block, "new"))
        rendered.append(
            {
                "op": block.op,
                "css": _block_class(block.kind, block.op, block.moved),
                "inline": inline,
                "old": old if block.op != "insert" else None,
                "new": new if block.op != "delete" else None,
                "added": block.words_added,
                "removed": block.words_removed,
            }
        )
    return rendered
