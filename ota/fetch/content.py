"""What a response's bytes mean: its MIME type, and the text of a text response in any charset.

Pure functions of a response's `Content-Type` header and body, as OTA decodes them (OTA-FORMATS §3).
"""

from __future__ import annotations

import codecs
import re

CHARSET_SNIFF_BYTES = 1024
TEXT_MIME_TYPES = frozenset({"application/xhtml+xml", "application/xml", "application/json"})
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# `<meta charset="x">` and `<meta http-equiv="Content-Type" content="text/html; charset=x">`.
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml\b[^>]*?\bencoding\s*=\s*["']\s*([\w.:-]+)""", re.IGNORECASE)
_PYTHON_ONLY_CODECS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape"})
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def _usable(charset: str) -> str | None:
    name = charset.strip().lower()
    if name in ("gb2312", "gbk", "x-gbk"):
        return "gb18030"  # a superset: pages labelled GBK often use its extra characters
    try:
        b"a".decode(name)  # rejects unknown names and bytes-to-bytes codecs such as "base64"
    except (LookupError, UnicodeError):
        return None
    canonical = codecs.lookup(name).name
    return None if canonical in _PYTHON_ONLY_CODECS else canonical


def detect_charset(content_type: str | None, head: bytes) -> str:
    """The charset to decode a text response with, as Python's canonical codec name (``cp1252``).

    The `Content-Type` charset wins, then a declaration in the first 1024 bytes of the body
    (`<meta charset>`, `<meta http-equiv="Content-Type">`, `<?xml encoding?>`), else UTF-8.
    Unknown names fall back to UTF-8.
    """
    if content_type and (match := _CHARSET_PARAM.search(content_type)):
        return _usable(match.group(1)) or "utf-8"
    head = head[:CHARSET_SNIFF_BYTES]
    declared = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if declared:
        charset = _usable(declared.group(1).decode("ascii"))
        # A declaration readable as ASCII cannot be in UTF-16/32: browsers read it as UTF-8.
        if charset and not charset.startswith(("utf-16", "utf-32")):
            return charset
    return "utf-8"


def decode_text(body: bytes, content_type: str | None) -> str:
    """Decode a text response: a byte order mark first, then `detect_charset`; bad bytes become U+FFFD."""
    for bom, charset in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(charset, errors="replace")
    text = body.decode(detect_charset(content_type, body), errors="replace")
    return text.removeprefix("\ufeff")


def mime_type_of(content_type: str | None, body: bytes) -> str:
    """The lowercased MIME type without parameters; sniffed from the body when the header is missing."""
    mime_type = (content_type or "").split(";", 1)[0].strip().lower()
    if mime_type:
        return mime_type
    return "application/pdf" if body.startswith(b"%PDF-") else "text/html"


def is_text(mime_type: str) -> bool:
    """Whether responses of `mime_type` are stored as decoded text rather than raw bytes."""
    return mime_type.startswith("text/") or mime_type in TEXT_MIME_TYPES
