"""What a reader sees of a Markdown text: its words and punctuation, normalised (`reader_tokens`).

Each normalisation is a named stage (`STAGES`), so that a classification can tell which ones a
change needed: Unicode compatibility forms and zero-width spaces, quote and dash styles, link and
image targets (and the query string of an address shown as text), Markdown markup, relative dates,
the way a date is written, case. Cloudflare's "[email protected]" becomes `EMAIL_PLACEHOLDER`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_ZERO_WIDTH = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
_QUOTE_OF = {
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
}
_QUOTES = re.compile(f"[{''.join(_QUOTE_OF)}]")
# A link's or image's target: "](…)" with one level of parentheses inside, and an optional title.
_LINK_TARGET = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]*)>")
_URL_QUERY = re.compile(r"((?:https?|ftp)://[^\s?#()\[\]<>]*)[?#][^\s()\[\]<>]*")
_MAILTO = re.compile(r"\bmailto:", re.IGNORECASE)
EMAIL_MARKER = re.compile(r"\\?\[email(?:\s|&#160;|\xa0)*protected\\?\]", re.IGNORECASE)
_MARKUP = re.compile(
    r"<br\s*/?>"  # line breaks inside table cells
    r"|^[ \t]*(?:#{1,6}|>+|[*+-](?=[ \t])|(?:[*_-][ \t]*){3,}$|=+[ \t]*$)"  # line starts, rules
    r"|^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*:?-*:?[ \t]*$"  # a table's separator row
    r"|\\(?=[^\w\s]|_)"  # Markdown escapes
    r"|(?<![^\W_])_+|_+(?![^\W_])"  # emphasis, not the underscore inside a word or an address
    r"|!(?=\[)|[*~`|\[\]•▪►·]",
    re.MULTILINE,
)
_RELATIVE_DATE = re.compile(
    r"\b(?:(?:\d+|an?|one|two|three|few|several)\s+(?:second|minute|hour|day|week|month|year)s?\s+ago"
    r"|yesterday|just now"
    r"|il\s+y\s+a\s+(?:\d+|une?|quelques)\s+(?:seconde|minute|heure|jour|semaine|mois|an|année)s?"
    r"|vor\s+(?:\d+|einem|einer|zwei|drei)\s+(?:Sekunde|Minute|Stunde|Tag|Woche|Monat|Jahr)(?:n|en|e)?"
    r"|hace\s+(?:\d+|una?)\s+(?:segundo|minuto|hora|d[ií]a|semana|mes|año)(?:s|es)?)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an e-mail address
    r"|(?:https?|ftp)://[^\s()\[\]<>\"]*[^\s()\[\]<>\".,;:!?']"  # an address shown as text
    r"|[^\W_]+(?:['.,/:-][^\W_]+)*"  # words, numbers (4.2, 1,000, 24/10/2025, 10:30), don't, opt-out
    r"|[^\w\s]"
)
EMAIL_PLACEHOLDER = "emailprotected"
_RELATIVE_PLACEHOLDER = "relativedate"


def _unicode(text: str) -> str:
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))


def _quotes(text: str) -> str:
    return _QUOTES.sub(lambda match: _QUOTE_OF[match[0]], text)


def _link_targets(text: str) -> str:
    text = _AUTOLINK.sub(r"\1", _LINK_TARGET.sub("]", text))
    return _MAILTO.sub("", _URL_QUERY.sub(r"\1", text))


def _markup(text: str) -> str:
    return _MARKUP.sub(" ", text)


def _relative_dates(text: str) -> str:
    return _RELATIVE_DATE.sub(f" {_RELATIVE_PLACEHOLDER} ", text)


_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        (
            "january jan janvier januar enero gennaio",
            "february feb février fevrier februar febrero febbraio",
            "march mar mars märz maerz marzo",
            "april apr avril abril aprile",
            "may mai mayo maggio",
            "june jun juin juni junio giugno",
            "july jul juillet juli julio luglio",
            "august aug août aout agosto",
            "september sep sept septembre septiembre setiembre settembre",
            "october oct octobre oktober octubre ottobre",
            "november nov novembre noviembre",
            "december dec décembre decembre dezember diciembre dicembre",
        ),
        start=1,
    )
    for name in names.split()
}
# Month names as written (lower case, capitalised, upper case): the pattern is case-sensitive and
# starts with a look-ahead on the first letters, ten times faster than IGNORECASE on long texts.
_MONTH_FORMS = sorted(
    {form for name in _MONTH_NUMBERS for form in (name, name.capitalize(), name.upper())},
    key=len,
    reverse=True,
)
_MONTH = "(?:" + "|".join(_MONTH_FORMS) + r")\.?"
_FIRSTS = "".join(sorted({form[0] for form in _MONTH_FORMS}))
_ORDINAL = r"(?:st|nd|rd|th|er|e)?"
_DATES = re.compile(
    rf"\b(?=[{_FIRSTS}0-9])(?:(?P<m1>{_MONTH})\s+(?P<d1>[0-3]?\d){_ORDINAL},?(?:\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<d2>[0-3]?\d){_ORDINAL}\s+(?:of\s+|de\s+)?(?P<m2>{_MONTH}),?(?:\s+(?:de\s+)?(?P<y2>\d{{4}}))?"
    rf"|(?P<m3>{_MONTH}),?\s+(?P<y3>\d{{4}})"
    r"|(?P<y4>\d{4})-(?P<m4>[01]?\d)-(?P<d4>[0-3]?\d))\b"
)


def _date_format(text: str) -> str:
    return _DATES.sub(_canonical_date, text)


def _canonical_date(match: re.Match[str]) -> str:
    """A date as `date:YYYY-MM-DD` (`date:MM-DD` without a year, `date:YYYY-MM` without a day)."""
    groups = match.groupdict()
    year = groups["y1"] or groups["y2"] or groups["y3"] or groups["y4"]
    day = groups["d1"] or groups["d2"] or groups["d4"]
    month_text = groups["m1"] or groups["m2"] or groups["m3"]
    month = _MONTH_NUMBERS.get(month_text.rstrip(".").casefold(), 0) if month_text else int(groups["m4"])
    if (day is not None and not 1 <= int(day) <= 31) or not 1 <= month <= 12:
        return match[0]
    parts = [year] if year else []
    parts.append(f"{month:02d}")
    if day is not None:
        parts.append(f"{int(day):02d}")
    return f" date:{'-'.join(parts)} "


def _case(text: str) -> str:
    return text.casefold()


#: The normalisations, in order, by the name a reason gives them.
STAGES: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("unicode", _unicode),
    ("quotes-dashes", _quotes),
    ("link-target", _link_targets),
    ("markup", _markup),
    ("relative-date", _relative_dates),
    ("date-format", _date_format),
    ("case", _case),
)


def reader_tokens(text: str, *, skip: str | None = None) -> list[str]:
    """The words and punctuation a reader sees in `text`, normalised (see the module's docstring).

    `skip` leaves one of the `STAGES` out (to tell which normalisation a change needed).
    """
    text = EMAIL_MARKER.sub(f" {EMAIL_PLACEHOLDER} ", text)
    for name, stage in STAGES:
        if name != skip:
            text = stage(text)
    return _TOKEN.findall(text)
