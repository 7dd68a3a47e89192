"""CSS selectors a declaration can keep for years: for an element, and for what to remove inside it.

Sites are rebuilt; a selector that names the element by what it is (an id, `main`, `article`, a
class saying `terms-content`) survives more rebuilds than one that names it by the build's
machinery (`css-1x2y3z`, `sc-abc123`, `styles_content__a1B2c`) or by its position. So, in order:
an id, a semantic element, `[role="main"]`, a meaningful class; failing those, a short path of
child steps from the nearest element that has one of them. Each selector is checked to match
exactly the element, with the CSS engine extraction uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

# Class names written by CSS-in-JS libraries, site builders and CSS modules, not by people.
_GENERATOR_PREFIX = re.compile(
    r"^(?:(?:css|sc|jsx|svelte|emotion|jss|tw|styled|makeStyles|framer)-|mount_\d)", re.IGNORECASE
)
_SEGMENTS = re.compile(r"[-_]+")
# How people write words in names: `content`, `Content`, `TableOfContents`, `termsOfUse`.
_WORD_CASE = re.compile(r"^[A-Z]?[a-z]+(?:[A-Z][a-z]+)*$")
# Atomic CSS (Meta's stylex): `x` and six to eight characters, such as `xwnkcuf`.
_ATOMIC = re.compile(r"^x[a-z0-9]{6,8}$")
# Utility classes (Tailwind and the like) say how an element looks, not what it is.
_UTILITY = re.compile(
    r"^(?:text|bg|font|leading|tracking|p[xytrbl]?|m[xytrbl]?|w|h|min-[wh]|max-[wh]|gap|space-[xy]|flex|grid|"
    r"col|row|items|justify|self|place|order|z|opacity|overflow|border|rounded|shadow|ring|inset|top|left|"
    r"right|bottom|sm|md|lg|xl|2xl)(?:-|$)"
)
_IDENTIFIER = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")
# Words that make a class or an id name the content rather than its layout.
_MEANINGFUL = re.compile(
    r"content|terms|legal|policy|privacy|article|document|condition|agreement|main|body|text|page|rules",
    re.IGNORECASE,
)
_SEMANTIC_TAGS = ("main", "article")
#: Ids and classes of cookie banners: a cookie word with a word for a box on screen, or the name of a
#: consent platform. A section of a privacy policy about cookies (`#cookies`, `#cookie-statement`)
#: is terms, not a banner.
_COOKIE_WORD = re.compile(r"cookie|consent|gdpr", re.IGNORECASE)
_BOX_WORD = re.compile(r"banner|bar|notice|popup|pop-up|modal|dialog|overlay|box|prompt|wall", re.IGNORECASE)
_CONSENT_PLATFORM = re.compile(
    r"onetrust|didomi|cookiebot|usercentrics|truste|cc-window|cc-banner|qc-cmp|cmpbox|sp_message",
    re.IGNORECASE,
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: At most this share of the content's text may go in one `remove` candidate: a banner is short.
MAX_REMOVED_SHARE = 0.2
MAX_REMOVED_LENGTH = 3000
_NAVIGATION = re.compile(r"breadcrumb|(?:^|[-_\s])nav(?:$|[-_\s]|igation|bar)|skip-link", re.IGNORECASE)


def is_generated(name: str) -> bool:
    """Whether a class name (or id) looks made by a build tool, hence likely to change at the next build.

    `css-1x2y3z` (emotion), `sc-abc123` and `bdVaJa` (styled-components), `jsx-123` (styled-jsx),
    `styles_content__a1B2c` (CSS modules), `x1n2onr6` (atomic CSS): a generator's prefix, a part
    mixing letters and digits, or a short word with capitals inside it.
    """
    if _GENERATOR_PREFIX.match(name):
        return True
    if _ATOMIC.match(name) and sum(1 for char in name[1:] if char in "aeiou") <= 1:
        return True
    for segment in _SEGMENTS.split(name):
        has_digit = any(char.isdigit() for char in segment)
        has_letter = any(char.isalpha() for char in segment)
        if len(segment) >= 4 and has_digit and has_letter:
            return True
        # A hash's letters: `aopSS`, `EfJPB`, `ldJRupka`, `kJzQdP`; not `TableOfContents`, nor an
        # acronym such as `FAQ`.
        hashed = segment.isalpha() and not segment.isupper() and not _WORD_CASE.match(segment)
        if 4 <= len(segment) <= 10 and hashed:
            return True
    return False


def is_utility(name: str) -> bool:
    """Whether a class says how the element looks (`text-p1`, `mt-4`, `flex`), not what it is."""
    return bool(_UTILITY.match(name))


def _is_element(node: LexborNode) -> bool:
    return not (node.tag or "-").startswith("-")


def _tag(node: LexborNode) -> str:
    return node.tag or ""


def elements(page: LexborHTMLParser) -> list[LexborNode]:
    """Every element of the page, in document order."""
    root = page.root
    if root is None:
        return []
    return [node for node in root.traverse() if _is_element(node)]


def _same(a: LexborNode, b: LexborNode) -> bool:
    return bool(a.mem_id == b.mem_id)


def matches_only(page: LexborHTMLParser, selector: str, node: LexborNode) -> bool:
    """Whether `selector` matches `node` and nothing else in the page."""
    try:
        found = page.css(selector)
    except Exception:  # lexbor refuses a selector it cannot parse: not one to propose
        return False
    return len(found) == 1 and _same(found[0], node)


def _ident(name: str) -> str | None:
    """`name` as a CSS identifier, when it can be written without escapes."""
    return name if _IDENTIFIER.match(name) and not name.startswith("--") else None


def _classes(node: LexborNode) -> list[str]:
    names = (node.attributes.get("class") or "").split()
    stable = [name for name in names if not is_generated(name) and not is_utility(name) and _ident(name)]
    # Classes that say "content" or "terms" first: they outlive layout classes.
    return sorted(stable, key=lambda name: not _MEANINGFUL.search(name))


def _own_selectors(node: LexborNode) -> Iterator[str]:
    """Selectors naming `node` by what it is, most durable first (not checked for uniqueness)."""
    element_id = node.attributes.get("id")
    if element_id and not is_generated(element_id):
        ident = _ident(element_id)
        yield f"#{ident}" if ident else f'[id="{_quoted(element_id)}"]'
    if node.tag in _SEMANTIC_TAGS:
        yield node.tag
    if (node.attributes.get("role") or "").lower() == "main":
        yield '[role="main"]'
    classes = _classes(node)
    for name in classes:
        yield f"{node.tag}.{name}"
    if len(classes) >= 2:
        yield f"{node.tag}.{classes[0]}.{classes[1]}"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def own_selector(page: LexborHTMLParser, node: LexborNode) -> str | None:
    """A selector naming `node` alone by what it is (an id, `main`, a class), if it has one."""
    return next((s for s in _own_selectors(node) if matches_only(page, s, node)), None)


def stable_selector(page: LexborHTMLParser, node: LexborNode) -> str:
    """A selector matching `node` alone in `page`, as durable as the page allows."""
    own = own_selector(page, node)
    if own is not None:
        return own
    # A path of child steps from the nearest ancestor that can be named on its own.
    steps: list[str] = []
    current = node
    while True:
        parent = current.parent
        steps.insert(0, _step(current))
        if parent is None or not _is_element(parent) or parent.tag == "html":
            anchor = None
            break
        anchor = "body" if parent.tag == "body" else own_selector(page, parent)
        if anchor is not None:
            break
        current = parent
    selector = " > ".join([anchor, *steps] if anchor else steps)
    if matches_only(page, selector, node):
        return selector
    return _numbered_path(node)


def _step(node: LexborNode) -> str:
    """One step of a path: the element's tag, told apart from its siblings if needed."""
    parent = node.parent
    siblings = [child for child in parent.iter() if _is_element(child)] if parent is not None else [node]
    tag = _tag(node)
    same_tag = [child for child in siblings if child.tag == tag]
    if len(same_tag) == 1:
        return tag
    for name in _classes(node):
        if sum(1 for child in same_tag if name in (child.attributes.get("class") or "").split()) == 1:
            return f"{tag}.{name}"
    position = next(index for index, child in enumerate(same_tag, 1) if _same(child, node))
    return f"{tag}:nth-of-type({position})"


def _numbered_path(node: LexborNode) -> str:
    """The full path from `html`, every step numbered: always unique, the last resort."""
    steps: list[str] = []
    current: LexborNode | None = node
    while current is not None and _is_element(current) and current.tag != "html":
        steps.insert(0, _step(current))
        current = current.parent
    return " > ".join(["html", *steps])


def _within(node: LexborNode, container: LexborNode) -> bool:
    current: LexborNode | None = node
    while current is not None:
        if _same(current, container):
            return True
        current = current.parent
    return False


def _is_cookie_banner(name: str) -> bool:
    return bool(_CONSENT_PLATFORM.search(name) or (_COOKIE_WORD.search(name) and _BOX_WORD.search(name)))


def _unwanted(node: LexborNode) -> bool:
    """Whether `node` is a cookie banner or navigation, not terms."""
    if node.tag in _HEADINGS:  # a heading's id is its title's slug: `#cookie-banners` is a title
        return False
    role = (node.attributes.get("role") or "").lower()
    if node.tag == "nav" or role == "navigation":
        return True
    names = (node.attributes.get("id") or "").split() + (node.attributes.get("class") or "").split()
    return any(_is_cookie_banner(name) or _NAVIGATION.search(name) for name in names)


def _text_length(node: LexborNode) -> int:
    return len(" ".join((node.text(deep=True) or "").split()))


def remove_candidates(page: LexborHTMLParser, container: LexborNode) -> list[str]:
    """Selectors of the cookie banners and navigation inside `container`, to `remove`.

    Each one matches, inside the container, only such elements, so that removing it never takes
    terms away.
    """
    found: list[LexborNode] = []
    limit = min(MAX_REMOVED_LENGTH, MAX_REMOVED_SHARE * _text_length(container))
    for node in container.traverse():
        if _same(node, container) or not _is_element(node) or not _unwanted(node):
            continue
        if any(_within(node, earlier) for earlier in found) or _text_length(node) > limit:
            continue
        found.append(node)
    selectors: list[str] = []
    for node in found:
        for selector in _removal_selectors(node):
            if selector in selectors:
                break
            try:
                matched = [match for match in page.css(selector) if _within(match, container)]
            except Exception:  # not a selector lexbor reads
                continue
            if matched and all(any(_within(m, unwanted) for unwanted in found) for m in matched):
                selectors.append(selector)
                break
    return selectors


def _removal_selectors(node: LexborNode) -> Iterator[str]:
    element_id = node.attributes.get("id")
    if element_id and not is_generated(element_id) and _ident(element_id):
        yield f"#{element_id}"
    for name in (node.attributes.get("class") or "").split():
        unwanted = _is_cookie_banner(name) or _NAVIGATION.search(name)
        if unwanted and not is_generated(name) and _ident(name):
            yield f".{name}"
    if node.tag == "nav":
        yield "nav"
    if (node.attributes.get("role") or "").lower() == "navigation":
        yield '[role="navigation"]'
