"""HTML from hostile text: versions rendered from Markdown (diffs: `ota.web.rendered_diff`).

Everything here comes from pages the platforms control. Markdown is rendered by markdown-it-py with
raw HTML off (a `<script>` or an `<img onerror>` in a version is shown as text), and only `http:`,
`https:` and `mailto:` links (or relative ones) become links: `javascript:`, `data:`, `vbscript:`
and the rest stay text. Images are never loaded (that would tell a platform who reads its terms,
and the pages' Content-Security-Policy forbids other origins anyway): an image becomes a link to
it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token as MdToken
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

from ota.diff.units import new_parser


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
    parser = new_parser()
    parser.add_render_rule("link_open", _link_open)
    parser.add_render_rule("image", _image)
    parser.add_render_rule("heading_open", _heading)
    parser.add_render_rule("heading_close", _heading)
    return parser


def markdown_parser() -> MarkdownIt:
    """The parser versions are rendered with (raw HTML off, safe links only)."""
    return _parser()


def markdown_html(text: str) -> Markup:
    """A version's Markdown as safe HTML."""
    return Markup(_parser().render(text))  # markdown-it escapes all text; html is off
