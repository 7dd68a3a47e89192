"""The gaps between the equal reader tokens of two texts, each classified by the rules of
`significance/1` (see the package's docstring), and the findings they add up to."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz.distance import OSA

from ota.diff.runs import matching_runs
from ota.significance.reader import EMAIL_PLACEHOLDER

Level = Literal["cosmetic", "editorial", "substantive"]
LEVELS: tuple[Level, ...] = ("cosmetic", "editorial", "substantive")
#: Examples kept per rule in the reasons.
EXAMPLES = 3
#: Longest example quoted, in characters.
EXAMPLE_CHARS = 80
END = "\x00"  # a block's end in the aligned tokens


@dataclass
class Findings:
    """Reasons gathered while classifying."""

    counts: Counter[tuple[str, Level]] = field(default_factory=Counter)
    examples: dict[tuple[str, Level], list[tuple[str, str]]] = field(default_factory=dict)
    words: int = 0
    blocks: int = 0

    def add(self, rule: str, level: Level, old: str, new: str) -> None:
        key = (rule, level)
        self.counts[key] += 1
        kept = self.examples.setdefault(key, [])
        if len(kept) < EXAMPLES:
            kept.append((quote(old), quote(new)))


_PUNCTUATION = re.compile(r"[^\w\s]")
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre "
    "januar februar märz maerz juni juli oktober dezember "
    "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre "
    "gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre".split()
)
_WEEKDAYS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi vendredi "
    "samedi dimanche montag dienstag mittwoch donnerstag freitag samstag sonntag".split()
)
_NUMERIC_DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./]\d{1,2}[./]\d{1,2}"
)
_DAY = re.compile(r"(?:[12]?\d|3[01])(?:st|nd|rd|th|er|e)?")
_YEAR = re.compile(r"(?:19[89]\d|20\d\d),?")
_EFFECTIVE = re.compile(
    r"effective|in force|into force|take[s]? effect|taking effect|enter[s]? into|come[s]? into"
    r"|apply from|applies from|applicable from|vigueur|prend effet|wirksam|gültig|inkrafttreten"
    r"|vigor|vigente",
)
_NEGATIONS = frozenset(
    "not no never none nor cannot can't won't don't doesn't isn't aren't ne pas non".split()
)
_NEGATIVE_PREFIXES = ("un", "in", "im", "il", "ir", "non", "dis", "de", "mis", "anti")
_ARTICLES = frozenset(("the", "a", "an", "to"))
_NUMBERING = re.compile(r"(?:\d{1,3}(?:\.\d{1,3})*\.?|[a-z]|[ivxlc]{1,6})")
_SECTION_WORDS = frozenset("section sections article articles clause clauses paragraph §".split())


def classify_gaps(old: list[str], new: list[str], found: Findings) -> int:
    """Classify each gap between the equal tokens of `old` and `new`; return how many had words."""
    gaps = 0
    i = j = 0
    for mi, mj, size in [*matching_runs(old, new), (len(old), len(new), 0)]:
        if i < mi or j < mj:
            gaps += _classify_gap(old, new, (i, mi), (j, mj), found)
        i, j = mi + size, mj + size
    return gaps


def _classify_gap(
    old: list[str], new: list[str], a: tuple[int, int], b: tuple[int, int], found: Findings
) -> bool:
    removed = [t for t in old[a[0] : a[1]] if t != END]
    added = [t for t in new[b[0] : b[1]] if t != END]
    if not removed and not added:
        return False  # blocks split or joined: layout
    old_text, new_text = " ".join(removed), " ".join(added)
    old_words = [t for t in removed if not _PUNCTUATION.fullmatch(t)]
    new_words = [t for t in added if not _PUNCTUATION.fullmatch(t)]
    if _email_marker(old_words, new_words):
        found.add("email-marker", "cosmetic", old_text, new_text)
        return True
    if not old_words and not new_words:
        found.add("punctuation", "editorial", old_text, new_text)
        return True
    at_start = (a[0] == 0 or old[a[0] - 1] == END) and (b[0] == 0 or new[b[0] - 1] == END)
    context = old[max(0, a[0] - 4) : a[0]] + new[max(0, b[0] - 4) : b[0]]
    if old_words and new_words and _numbering(old_words, new_words, at_start, context):
        found.add("numbering", "editorial", old_text, new_text)
        return True
    if _date(old_words, new_words, old, new, a, b):
        if _EFFECTIVE.search(" ".join(_block_around(new, b[0])) + " " + " ".join(_block_around(old, a[0]))):
            _substantive(found, "effective-date", removed, added, old_text, new_text)
        else:
            found.add("date", "editorial", old_text, new_text)
        return True
    if _typos(old_words, new_words):
        found.add("typo", "editorial", old_text, new_text)
        return True
    rule = "words"
    changed = set(old_words) ^ set(new_words)
    if any("@" in t or "://" in t for t in changed):
        rule = "contact"
    elif any(t in _NEGATIONS for t in changed):
        rule = "negation"
    elif any(any(c.isdigit() for c in t) for t in changed):
        rule = "number"
    _substantive(found, rule, removed, added, old_text, new_text)
    return True


def _substantive(
    found: Findings, rule: str, removed: list[str], added: list[str], old_text: str, new_text: str
) -> None:
    found.words += sum(1 for t in removed + added if not _PUNCTUATION.fullmatch(t))
    found.add(rule, "substantive", old_text, new_text)


def _email_marker(old_words: list[str], new_words: list[str]) -> bool:
    if len(old_words) != len(new_words) or not old_words:
        return False
    pairs = list(zip(old_words, new_words, strict=True))
    return all(
        o == n or (o == EMAIL_PLACEHOLDER and "@" in n) or (n == EMAIL_PLACEHOLDER and "@" in o)
        for o, n in pairs
    ) and any(EMAIL_PLACEHOLDER in pair for pair in pairs)


def _numbering(old_words: list[str], new_words: list[str], at_start: bool, context: list[str]) -> bool:
    if len(old_words) != 1 or len(new_words) != 1:
        return False
    if not (_NUMBERING.fullmatch(old_words[0]) and _NUMBERING.fullmatch(new_words[0])):
        return False
    return at_start or bool(context and context[-1] in _SECTION_WORDS)


def _is_date_token(token: str) -> bool:
    return bool(
        token.startswith("date:")
        or token in _MONTHS
        or token in _WEEKDAYS
        or _NUMERIC_DATE.fullmatch(token)
        or _DAY.fullmatch(token)
        or _YEAR.fullmatch(token)
        or token in ("de", "of", "the", "le", "der")
    )


def _anchors_date(token: str) -> bool:
    return (
        token.startswith("date:")
        or token in _MONTHS
        or bool(_NUMERIC_DATE.fullmatch(token) or _YEAR.fullmatch(token))
    )


def _date(
    old_words: list[str],
    new_words: list[str],
    old: list[str],
    new: list[str],
    a: tuple[int, int],
    b: tuple[int, int],
) -> bool:
    """Whether a gap only changes an absolute date: every word is part of a date, and a month, a
    year or a whole numeric date is in the gap or right beside it, on both sides."""
    if not all(map(_is_date_token, old_words + new_words)):
        return False
    if old_words and new_words and sorted(old_words) == sorted(new_words):
        return True  # "24 October" → "October 24"
    old_near = old[max(0, a[0] - 3) : a[1] + 3]
    new_near = new[max(0, b[0] - 3) : b[1] + 3]
    return any(map(_anchors_date, old_near)) and any(map(_anchors_date, new_near))


def _block_around(tokens: list[str], at: int) -> list[str]:
    start = at
    while start > 0 and tokens[start - 1] != END:
        start -= 1
    end = at
    while end < len(tokens) and tokens[end] != END:
        end += 1
    return tokens[start:end]


def _typos(old_words: list[str], new_words: list[str]) -> bool:
    """Whether a gap only fixes spelling: words within an edit or two, words joined or split
    ("jail breaking" → "jailbreaking", "third-party" → "third party"), an article (or "to") added or
    dropped. Never an address, never a number, never a negation."""
    if any("@" in t or "://" in t for t in old_words + new_words):
        return False  # an address is a contact: any change of it matters
    if not old_words or not new_words:
        return len(old_words + new_words) == 1 and (old_words + new_words)[0] in _ARTICLES
    if "".join(old_words).replace("-", "") == "".join(new_words).replace("-", ""):
        return len(old_words) + len(new_words) <= 6
    if len(old_words) != len(new_words) or len(old_words) > 3:
        return False
    for o, n in zip(old_words, new_words, strict=True):
        if o == n:
            continue
        if any(c.isdigit() for c in o + n) or o in _NEGATIONS or n in _NEGATIONS:
            return False
        if min(len(o), len(n)) < 3 or abs(len(o) - len(n)) > 1:
            return False
        shorter, longer = sorted((o, n), key=len)
        if any(longer == prefix + shorter for prefix in _NEGATIVE_PREFIXES):
            return False
        if OSA.distance(o, n) > (1 if max(len(o), len(n)) < 8 else 2):
            return False
    return True


_SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[.,;:!?)\]])|(?<=[(\[]) ")


def quote(text: str) -> str:
    text = _SPACE_BEFORE_PUNCTUATION.sub("", " ".join(text.split()))
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"
