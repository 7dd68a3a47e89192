"""JavaScript's string and number semantics, where they show in OTA's Markdown.

turndown runs in JavaScript: its `trim()` and `\\s` know more whitespace than ASCII, its string
lengths count UTF-16 code units, and `<ol start>` goes through `Number()`. Reproducing OTA's
output byte for byte needs the same rules.
"""

from __future__ import annotations

#: The characters JavaScript's `\s` and `trim()` treat as whitespace.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(text: str) -> str:
    """JavaScript's `String.prototype.trim`."""
    return text.strip(JS_WHITESPACE)


def utf16_length(text: str) -> int:
    """JavaScript's `string.length`: characters outside the BMP count twice."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def js_number(text: str) -> float:
    """JavaScript's `Number(string)`: NaN for anything that is not a whole numeric literal."""
    text = js_trim(text)
    if not text:
        return 0.0
    lowered = text.lower()
    try:
        if lowered.startswith(("0x", "0o", "0b")) and len(text) > 2:
            return float(int(text[2:], {"x": 16, "o": 8, "b": 2}[lowered[1]]))
        unsigned = lowered.lstrip("+-")
        if unsigned in ("inf", "infinity", "nan") and text.lstrip("+-") != "Infinity":
            return float("nan")
        if "_" in text:
            return float("nan")
        return float(text)
    except ValueError:
        return float("nan")


def js_number_to_string(number: float) -> str:
    """JavaScript's `String(number)`."""
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "Infinity" if number > 0 else "-Infinity"
    if number == int(number) and abs(number) < 1e21:
        return str(int(number))
    return repr(number)
