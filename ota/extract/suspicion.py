"""What makes a new version suspicious: a block or challenge page, or most of the text gone.

Sites answer robots with pages that say "Access denied" or ask to complete a captcha, with a
200 status and often inside the same layout, so the selector still matches. Recorded, such a
page would be a change of the terms that never happened, and the real page's return a second
one. Tracking confirms these before they become evidence (`ota.tracking.track`): the page is fetched again
after a pause; a block page is never recorded as a version (its snapshot is kept), and a large
loss of text is recorded only when the second fetch agrees.

Pure: the Markdown (and the latest version's length) in, a reason or None out.
"""

from __future__ import annotations

import re
import unicodedata

#: Below this many characters, a text matching a block pattern is taken for a block page: real
#: terms that mention "captcha" or "access denied" are much longer than the pages that say so.
BLOCK_PAGE_MAX_LENGTH = 5000
#: A new text shorter than this share of the latest version's is a large loss of text…
LOSS_RATIO = 0.5
#: …when the latest version had at least this many characters.
LOSS_MIN_LENGTH = 1000

# Phrases of access-denied, captcha and bot-check pages (Cloudflare, Akamai, Incapsula, PerimeterX,
# DataDome, Google, AWS WAF, and generic ones), in English and in a few other languages.
# Their spaces match any run of white space, or none: the text is normalised first (`_plain`), and
# a zero-width space between two words is gone from it.
_BLOCK_PATTERNS = tuple(
    re.compile(pattern.replace(" ", r"\s*"), re.IGNORECASE)
    for pattern in (
        r"\baccess (is )?denied\b",
        r"\byou (have been|are) blocked\b",
        r"\bthis request (was|has been) blocked\b",
        r"\bcomplete the (security )?(check|captcha|challenge)\b",
        r"\bcaptcha\b",
        r"\b(please )?(verify|confirm) (that )?you are (a )?human\b",
        r"\bverifying you are human\b",
        r"\bare you a (robot|human)\b",
        r"\bnot a robot\b",
        r"\bchecking (if the site connection is secure|your browser)\b",
        r"\bjust a moment\.\.\.",
        r"\battention required!?\s*\|\s*cloudflare\b",
        r"\bddos protection by\b",
        r"\benable javascript and cookies to continue\b",
        r"\bunusual traffic from your (computer )?network\b",
        r"\bpardon our interruption\b",
        r"\brequest unsuccessful\.? incapsula\b",
        r"\bbot (detection|verification|protection)\b",
        r"\baccès refusé\b",
        r"\bzugriff verweigert\b",
        r"\bacceso denegado\b",
    )
)


def _plain(text: str) -> str:
    """`text` as it reads: compatibility forms folded (NFKC: fullwidth letters, ligatures), invisible
    format characters dropped (soft hyphens, zero-width spaces and joiners, byte order marks), and
    every run of white space, non-breaking and other Unicode spaces included, one plain space."""
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(char for char in folded if unicodedata.category(char) != "Cf")
    return " ".join(visible.split())


def block_page(markdown: str) -> str | None:
    """The phrase that makes `markdown` look like a block or challenge page, or None.

    Matched on the text as it reads (`_plain`): `Access&nbsp;denied`, `Acc&shy;ess denied` and
    `Access&#8203;denied` are the page that says "Access denied".
    """
    if len(markdown) > BLOCK_PAGE_MAX_LENGTH:
        return None
    text = _plain(markdown)
    for pattern in _BLOCK_PATTERNS:
        match = pattern.search(text)
        if match is not None:
            return match.group(0)
    return None


def suspicion(markdown: str, latest_length: int | None) -> str | None:
    """Why a new text should be confirmed before it is recorded, or None for an ordinary change.

    `latest_length` is the length of the latest version (None for a first record).
    """
    phrase = block_page(markdown)
    if phrase is not None:
        return f"it looks like a block or challenge page ({phrase!r}, {len(markdown)} characters)"
    if (
        latest_length is not None
        and latest_length >= LOSS_MIN_LENGTH
        and len(markdown) < latest_length * LOSS_RATIO
    ):
        lost = 1 - len(markdown) / latest_length
        return f"it loses {lost:.0%} of the text ({latest_length} characters before, {len(markdown)} now)"
    return None
