"""Python equivalent of genai-eu-declarations' `Claude.ai.filters.js`, for bench/compat.py."""

import re

from ota.extract.links import base_url, resolve

_REDIRECT = re.compile(r"/redirect/[^/]+/")


def removeRedirectFromLinks(document, parameters, source_document):
    """Drop Claude's `/redirect/TOKEN/` path segment from every link (it changes on each visit)."""
    base = base_url(document, source_document.location)
    for link in document.css("a"):
        href = link.attributes.get("href")
        # `link.href` in the DOM: the resolved URL, or "" for an anchor without href.
        absolute = "" if href is None else (resolve(href, base) or href)
        link.attrs["href"] = _REDIRECT.sub("/", absolute, count=1)
