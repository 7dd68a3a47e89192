"""JavaScript's string and number semantics, where they show in OTA's Markdown.

turndown runs in JavaScript: its `trim()` and `\\s` know more whitespace than ASCII, its string
lengths count UTF-16 code units, and `<ol start>` goes through `Number()`. Reproducing OTA's
output byte for byte needs the same rules.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

#: The characters JavaScript's `\s` and `trim()` treat as whitespace.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


# `Number()` accepts decimal literals (ASCII digits, no separators) and unsigned 0x/0o/0b integers.
_JS_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\Z")
_JS_NON_DECIMAL = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)\Z")
_RADIXES = {"x": 16, "o": 8, "b": 2}


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
    if _JS_DECIMAL.match(text):
        return float(text)  # Python reads "Infinity", "5." and ".5" as JavaScript does
    if _JS_NON_DECIMAL.match(text):
        return float(int(text[2:], _RADIXES[text[1].lower()]))
    return math.nan


def js_number_to_string(number: float) -> str:
    """JavaScript's `String(number)` (ECMAScript's Number::toString)."""
    if number != number:
        return "NaN"
    if number == 0:
        return "0"
    if number < 0:
        return "-" + js_number_to_string(-number)
    if math.isinf(number):
        return "Infinity"
    # The shortest digits that round-trip, as in JavaScript: Python's repr finds the same ones.
    _, digit_tuple, exponent = Decimal(repr(number)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    k = len(digits)
    n = int(exponent) + len(digit_tuple)  # the value is 0.DIGITS × 10^n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return mantissa + "e" + ("+" if n > 0 else "-") + str(abs(n - 1))
