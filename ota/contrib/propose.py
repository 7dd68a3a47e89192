"""`ota new`: a declaration proposed for a page whose selector the contributor does not know yet.

readability (readability-lxml, the algorithm of Firefox's reader view) finds the page's main
content; ota corrects its choice where terms pages mislead it (one clause of a long list, the whole
body, a footer block: see `_refined`, measured by bench/propose.py on real pages), names that
element with a durable selector (`ota.contrib.selectors`), proposes to remove the cookie banners
and navigation inside it, and extracts the terms with that declaration exactly as tracking would,
so that what the contributor previews is what ota would record.

readability parses pages with lxml, whose tree may differ from the HTML5 tree extraction uses;
so each element of ota's tree is numbered (`data-ota-n`) before readability reads the page, and
readability's choice is found back in ota's tree by its number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ota.contrib.selectors import elements, own_selector, remove_candidates, stable_selector
from ota.declarations import STANDARD_TERMS_TYPES, SourceDocument
from ota.declarations.schema.terms_types import suggest_terms_type
from ota.errors import ExtractError
from ota.extract import PDF_MIME_TYPE, PDF_TEXT_MIME_TYPE, extract
from ota.extract.html import prepare
from ota.extras import require
from ota.fetch import FULL_DOM, Page

_NUMBER = "data-ota-n"
#: A `main` or `article` around readability's choice is taken when it adds at most this much text
#: (a heading, a date line) beyond the content; more, and it holds other things.
WIDEN_RATIO = 1.5
WIDEN_SLACK = 200
#: Less text than this, and the page probably writes its terms with scripts.
SHORT_TEXT = 100
_TITLE_SEPARATORS = re.compile(r"\s+[|–—·»:-]\s+|\s*[|–—·»]\s*")
_FILE_NAME_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class Proposal:
    """A proposed declaration for one page, and what ota would record with it."""

    service_id: str
    name: str
    terms_type: str
    #: The terms entry, as it would be written in the declaration.
    entry: dict[str, Any]
    #: The Markdown ota's extraction gives with this declaration, None when it failed.
    markdown: str | None
    #: Things the contributor should know or check, in plain words.
    notes: tuple[str, ...] = field(default=())

    def declaration(self) -> dict[str, Any]:
        """The service declaration holding this terms alone."""
        return {"name": self.name, "terms": {self.terms_type: self.entry}}


def propose(
    page: Page,
    *,
    url: str,
    service_id: str | None = None,
    terms_type: str | None = None,
    browser: bool = False,
    pdf_text: bytes | ExtractError | None = None,
) -> Proposal:
    """The declaration ota proposes for the page at `url`, fetched as `page`.

    For a PDF, `pdf_text` is its text as pdf.js read it (`ota.fetch.pdftext`), from which the
    Markdown is what tracking records, or why it could not be read; None: pdfminer's readable text.
    """
    notes: list[str] = []
    if page.final_url and page.final_url.rstrip("/") != url.rstrip("/"):
        notes.append(f"'{url}' redirects to '{page.final_url}': consider declaring that address")
    if page.mime_type == PDF_MIME_TYPE:
        html = ""
        entry: dict[str, Any] = {"fetch": url}
        if not SourceDocument(location=url).is_pdf_url:
            notes.append(
                "this PDF's address does not end in .pdf, so Open Terms Archive's schema asks for a "
                '"select" all the same: add one (it is not used for a PDF)'
            )
    else:
        html = page.content.decode("utf-8", errors="replace")
        selector, removes = find_terms(html, url)
        entry = {"fetch": url, "select": selector}
        if removes:
            entry["remove"] = removes if len(removes) > 1 else removes[0]
    if browser:
        entry["executeClientScripts"] = True
    elif page.fetcher == FULL_DOM:
        notes.append("the site refused plain requests and was read with a browser, as tracking would do too")
    page_title, heading, site_name = _titles(html)
    if terms_type is None:
        terms_type = _guess_type([heading, *_parts(page_title)])
        if terms_type is None:
            terms_type = "Terms of Service"
            notes.append("the terms type could not be told from the page's title: pass --type TYPE")
        else:
            notes.append(f"terms type '{terms_type}' read from the page's title; --type TYPE sets another")
    name = site_name or _name_from(page_title, terms_type) or (service_id or _name_from_host(url))
    service_id = service_id or _service_id(name)
    document = SourceDocument(
        location=url,
        select=(entry["select"],) if "select" in entry else (),
        remove=tuple(entry["remove"]) if isinstance(entry.get("remove"), list) else _one(entry.get("remove")),
        execute_client_scripts=entry.get("executeClientScripts"),
    )
    markdown: str | None
    try:
        if page.mime_type != PDF_MIME_TYPE or pdf_text is None:
            markdown = extract(page.content, page.mime_type, document)
        elif isinstance(pdf_text, ExtractError):
            raise pdf_text
        else:
            markdown = extract(pdf_text, PDF_TEXT_MIME_TYPE, document)
    except ExtractError as error:
        markdown = None
        notes.append(f"ota could not extract the terms with this declaration: {error}")
    if markdown is not None and len(markdown) < SHORT_TEXT and not browser:
        notes.append("the page has little text without scripts: try again with --browser")
    return Proposal(service_id, name, terms_type, entry, markdown, tuple(notes))


def _one(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else ()


def find_terms(html: str, url: str) -> tuple[str, list[str]]:
    """The `select` selector of the page's main content, and `remove` selectors inside it."""
    page = prepare(html, SourceDocument(location=url))
    nodes = elements(page)
    if not nodes:
        return "body", []
    chosen = _refined(page, _readability_choice(page, nodes, url))
    return stable_selector(page, chosen), remove_candidates(page, chosen)


#: Elements inside which terms never begin: a list item, a table cell, a paragraph, inline text.
_INNER_TAGS = frozenset(
    "li ol ul dl dt dd table thead tbody tfoot tr td th p span em strong b i a blockquote".split()
)
#: Page furniture: a container holding one of these beside the content is not the content.
_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "form"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
#: Climbing to a parent is worth it when its other children add at most this much text (a title,
#: an introduction) to the content: more, and they are something else.
CLIMB_RATIO = 0.25
CLIMB_SLACK = 200


def _is_chrome(node: LexborNode) -> bool:
    return node.tag in _CHROME_TAGS or (node.attributes.get("role") or "").lower() in _CHROME_ROLES


def _refined(page: LexborHTMLParser, node: LexborNode) -> LexborNode:
    """readability's choice, corrected where terms pages mislead it.

    Long legal texts are lists of lists, and readability may pick one clause; it may also give up
    and answer the whole body, or pick a block of the footer. So: the page's `main` when the
    choice is the body or lies outside it in the page's furniture; out of any list, table or
    paragraph; up to the parents that add only a title or an introduction; then the `main` or
    `article` around, when it adds little.
    """
    main = _unique_main(page)
    if node.tag in ("body", "html") or any(_is_chrome(a) for a in _ancestors(node)[1:]):
        if main is not None:
            node = main
        elif node.tag in ("body", "html"):
            node = _largest_article(page, node) or node
    outermost = None
    for ancestor in _ancestors(node):
        if ancestor.tag in ("body", "html"):
            break
        if ancestor.tag in _INNER_TAGS:
            outermost = ancestor
    if (
        outermost is not None
        and outermost.parent is not None
        and outermost.parent.tag not in ("body", "html")
    ):
        node = outermost.parent
    node = _climbed(page, node)
    return _widened(node)


def _unique_main(page: LexborHTMLParser) -> LexborNode | None:
    found = page.css('main, [role="main"]')
    return found[0] if len(found) == 1 else None


def _largest_article(page: LexborHTMLParser, body: LexborNode) -> LexborNode | None:
    """The article holding most of the page's text, when it holds at least half of it."""
    articles = sorted(page.css("article"), key=_text_length, reverse=True)
    if articles and _text_length(articles[0]) >= 0.5 * _text_length(body):
        return articles[0]
    return None


def _climbed(page: LexborHTMLParser, node: LexborNode) -> LexborNode:
    """Up through the parents whose other children add only a little text and no furniture, as
    long as they can be named as durably."""
    while (parent := node.parent) is not None and parent.tag not in ("body", "html"):
        if own_selector(page, parent) is None and own_selector(page, node) is not None:
            break
        others = [child for child in parent.iter() if child.mem_id != node.mem_id]
        if any(_is_chrome(child) or child.css_first("nav, header, footer, aside") for child in others):
            break
        length = _text_length(node)
        if _text_length(parent) - length > length * CLIMB_RATIO + CLIMB_SLACK:
            break
        node = parent
    return node


def _readability_choice(page: LexborHTMLParser, nodes: list[LexborNode], url: str) -> LexborNode:
    """The element readability takes for the main content, in ota's tree (the body if none)."""
    require("new")
    from readability import Document
    from readability.readability import Unparseable

    body = next((node for node in nodes if node.tag == "body"), nodes[0])
    numbered = LexborHTMLParser(page.html or "")
    for index, node in enumerate(elements(numbered)):
        node.attrs[_NUMBER] = str(index)
    try:
        summary = Document(numbered.html or "", url=url).summary(html_partial=True)
    except Unparseable:
        return body
    chosen = []
    for top in elements(LexborHTMLParser(summary)):
        if top.tag in ("html", "head", "body"):
            continue
        if top.attributes.get(_NUMBER) is not None:
            chosen = [top]
        else:  # readability's own wrapper: the elements it gathered are its children
            chosen = [child for child in top.iter() if child.attributes.get(_NUMBER) is not None]
        break
    picked = [nodes[int(n)] for node in chosen if (n := node.attributes.get(_NUMBER) or "").isdigit()]
    picked = [node for node in picked if int(node.attributes.get(_NUMBER) or 0) < len(nodes)]
    if not picked:
        return body
    return _common_ancestor(picked)


def _ancestors(node: LexborNode) -> list[LexborNode]:
    chain = [node]
    while (parent := chain[-1].parent) is not None:
        chain.append(parent)
    return chain


def _common_ancestor(nodes: list[LexborNode]) -> LexborNode:
    common = _ancestors(nodes[0])
    for node in nodes[1:]:
        ids = {ancestor.mem_id for ancestor in _ancestors(node)}
        common = [ancestor for ancestor in common if ancestor.mem_id in ids]
    return common[0]


def _text_length(node: LexborNode) -> int:
    return len(" ".join((node.text(deep=True) or "").split()))


def _widened(node: LexborNode) -> LexborNode:
    """The `main` or `article` around `node` when it adds little (a title), else `node`."""
    length = _text_length(node)
    current = node.parent
    while current is not None and current.tag not in ("body", "html"):
        role = (current.attributes.get("role") or "").lower()
        if current.tag in ("main", "article") or role == "main":
            if _text_length(current) <= length * WIDEN_RATIO + WIDEN_SLACK:
                return current
            break
        current = current.parent
    return node


def _titles(html: str) -> tuple[str, str, str]:
    """The page's title, first heading and site name (`og:site_name`), empty when absent."""
    if not html:
        return "", "", ""
    page = LexborHTMLParser(html)

    def text(selector: str) -> str:
        node = page.css_first(selector)
        return " ".join((node.text(deep=True) or "").split()) if node is not None else ""

    site = page.css_first('meta[property="og:site_name"], meta[name="application-name"]')
    site_name = (site.attributes.get("content") or "").strip() if site is not None else ""
    return text("title"), text("h1"), site_name


def _parts(title: str) -> list[str]:
    return [part.strip() for part in _TITLE_SEPARATORS.split(title) if part.strip()]


def _guess_type(candidates: list[str]) -> str | None:
    for text in candidates:
        if text and (found := suggest_terms_type(text, STANDARD_TERMS_TYPES)):
            return found
    return None


def _name_from(title: str, terms_type: str) -> str | None:
    """The site's name in a title such as `Privacy Policy | Example`: the part that is not the type."""
    parts = _parts(title)
    if len(parts) < 2:
        return None
    others = [part for part in parts if suggest_terms_type(part, [terms_type]) != terms_type]
    return others[-1] if others else None


def _name_from_host(url: str) -> str:
    """`Example` for `https://www.legal.example.co.uk/…`: the registered name, capitalised."""
    host = urlsplit(url).hostname or "service"
    labels = [label for label in host.split(".") if label]
    if all(label.isdigit() for label in labels) or len(labels) < 2:
        return host
    # `example.co.uk`: a country's second-level domain is part of the suffix, not the name.
    second_level = (
        len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in {"co", "com", "org", "net", "ac"}
    )
    drop = 2 if second_level else 1
    name = labels[-1 - drop]
    return name[:1].upper() + name[1:]


def _service_id(name: str) -> str:
    """A service ID from its name: the name, without what file names cannot hold."""
    return _FILE_NAME_UNSAFE.sub("", name).strip().lstrip(".") or "Service"
