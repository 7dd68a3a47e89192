"""Links made absolute and e-mail protection normalised, as OTA does before selecting content.

URLs are resolved and serialised by the WHATWG URL standard (ada), as jsdom does, so that
`../terms?a=b c` gives the same bytes in ota's Markdown as in OTA's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ada_url import URL

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

#: Links OTA makes absolute: neither empty nor a fragment of the page itself.
LINKS_TO_CONVERT_SELECTOR = 'a[href]:not([href^="#"]):not([href=""])'
EMAIL_PROTECTION_SELECTOR = 'a[href*="/email-protection"]'
PROTECTED_EMAIL_TEXT = "[email\u00a0protected]"


def resolve(href: str, base: str) -> str | None:
    """The absolute URL of `href` against `base`, or None when it cannot be parsed."""
    try:
        return URL(href, base=base).href
    except ValueError:
        return None


def base_url(document: LexborHTMLParser, location: str) -> str:
    """The document's base URL: its first `<base href>` resolved against `location`, else `location`."""
    base = document.css_first("base[href]")
    if base is not None:
        resolved = resolve(base.attributes.get("href") or "", location)
        if resolved is not None:
            return resolved
    return location


def make_links_absolute(document: LexborHTMLParser, location: str) -> None:
    """Rewrite every link's href as an absolute URL; unparsable ones are left as they are."""
    base = base_url(document, location)
    for link in document.css(LINKS_TO_CONVERT_SELECTOR):
        href = link.attributes.get("href") or ""
        absolute = resolve(href, base)
        if absolute is None:
            # jsdom's `href` getter falls back to the raw attribute, which OTA resolves again
            # against the page URL.
            absolute = resolve(href, location)
        if absolute is not None and absolute != href:
            link.attrs["href"] = absolute


def normalise_email_protection(document: LexborHTMLParser, location: str) -> None:
    """Cloudflare-protected e-mail links: drop the changing `#…` part and show a fixed text."""
    base = base_url(document, location)
    for link in document.css(EMAIL_PROTECTION_SELECTOR):
        href = link.attributes.get("href") or ""
        absolute = resolve(href, base) or href
        link.attrs["href"] = absolute.split("#", 1)[0]
        for child in list(link.iter(include_text=True)):
            child.remove()
        link.insert_child(PROTECTED_EMAIL_TEXT)
