"""Which changes matter: two versions of a terms → cosmetic, editorial or substantive, and why.

Pure and deterministic (strings in, frozen values out; no I/O, no model), and versioned: a stored
classification names its `RULESET`, so that a new ruleset can tell its results from older ones.

How a change is classified (README, "Which changes matter", says it for readers)
-------------------------------------------------------------------------------
1. **Blocks.** Both texts are cut into blocks as `ota.diff` cuts them, and blocks that are equal
   byte for byte are matched (longest common subsequence); only the stretches where they differ
   are looked at, so that a 200 KB document with one changed sentence costs little.
2. **What a reader sees.** Each differing block is reduced to the words and punctuation a reader
   sees (`reader_tokens`): Unicode compatibility forms, zero-width and non-breaking spaces, curly
   and straight quotes, dashes, whitespace, Markdown markup (emphasis, headings, list bullets,
   tables, escapes, line breaks), link and image targets (the address behind a link, and the
   query string or fragment of an address shown as text: tracking tokens), relative dates ("2
   days ago", "il y a 3 jours") and case are set aside. Blocks with nothing left are layout.
3. **Moves.** A reduced block removed in one place and added unchanged in another was reordered.
4. **Gaps.** In each stretch, the reduced tokens of both sides are aligned (block ends included,
   so that a paragraph split in two is layout), and each gap between equal tokens is classified:
   an address replaced by Cloudflare's "[email protected]" (or back) is cosmetic; only
   punctuation, an absolute date that is not said to be an effective date, list or section
   numbering at the start of a block, a typo (up to three words, each within one edit, two for
   long words, no digits, no negation) is editorial; anything else is substantive.
5. **The class** is the highest of its gaps': no gap at all is cosmetic. When in doubt the rules
   say substantive: calling a real change cosmetic is the costly mistake.

A substantive change has a size: the words changed (added and removed, in substantive gaps), its
share of the document, the blocks it touches; `minor` when it is a few words (`MINOR_WORDS`).
`recurrent_of` names an earlier version whose text the new one equals exactly (a page that flips
back and forth); `classify` finds it among the `earlier` texts it is given.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz.distance import OSA

from ota.diff import diff_words, matching_runs, split_blocks

RULESET = "significance/1"
Level = Literal["cosmetic", "editorial", "substantive"]
LEVELS: tuple[Level, ...] = ("cosmetic", "editorial", "substantive")
#: A substantive change of at most this many words (added and removed) is `minor`.
MINOR_WORDS = 8
#: Examples kept per rule in the reasons.
EXAMPLES = 3
#: Longest example quoted, in characters.
EXAMPLE_CHARS = 80
#: A stretch larger than this (characters on both sides) is not searched for cosmetic reasons.
REASON_CHARS = 20_000

_END = "\x00"  # a block's end in the aligned tokens

# -- what a reader sees ---------------------------------------------------------------------------

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
_EMAIL_MARKER = re.compile(r"\\?\[email(?:\s|&#160;|\xa0)*protected\\?\]", re.IGNORECASE)
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
_EMAIL_PLACEHOLDER = "emailprotected"
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
_MONTH = "(?:" + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True)) + r")\.?"
_ORDINAL = r"(?:st|nd|rd|th|er|e)?"
_DATES = re.compile(
    rf"\b(?:(?P<m1>{_MONTH})\s+(?P<d1>[0-3]?\d){_ORDINAL},?(?:\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<d2>[0-3]?\d){_ORDINAL}\s+(?:of\s+|de\s+)?(?P<m2>{_MONTH}),?(?:\s+(?:de\s+)?(?P<y2>\d{{4}}))?"
    rf"|(?P<m3>{_MONTH}),?\s+(?P<y3>\d{{4}})"
    r"|(?P<y4>\d{4})-(?P<m4>[01]?\d)-(?P<d4>[0-3]?\d))\b",
    re.IGNORECASE,
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
    text = _EMAIL_MARKER.sub(f" {_EMAIL_PLACEHOLDER} ", text)
    for name, stage in STAGES:
        if name != skip:
            text = stage(text)
    return _TOKEN.findall(text)


# -- values ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that fired: its name, the class it gives, how often, and a few (old, new) examples."""

    rule: str
    significance: Level
    count: int
    examples: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "significance": self.significance,
            "count": self.count,
            "examples": [{"old": old, "new": new} for old, new in self.examples],
        }


@dataclass(frozen=True, slots=True)
class Significance:
    """How much a change matters, and why."""

    significance: Level
    reasons: tuple[Reason, ...] = ()
    #: Words changed (added and removed) in the substantive gaps.
    words_changed: int = 0
    #: `words_changed` as a share of the longer side's words.
    share: float = 0.0
    #: Blocks touched by substantive gaps.
    blocks: int = 0
    #: The earlier version (its id) whose text the new one equals, if any.
    recurrent_of: str | None = None
    ruleset: str = RULESET

    @property
    def minor(self) -> bool:
        """A substantive change of a few words."""
        return self.significance == "substantive" and self.words_changed <= MINOR_WORDS

    @property
    def recurrent(self) -> bool:
        return self.recurrent_of is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "ruleset": self.ruleset,
            "significance": self.significance,
            "minor": self.minor,
            "recurrent": self.recurrent,
            "recurrentOf": self.recurrent_of,
            "wordsChanged": self.words_changed,
            "share": round(self.share, 4),
            "blocks": self.blocks,
            "reasons": [reason.to_dict() for reason in self.reasons],
        }


def describe(result: Significance) -> str:
    """One line: the class, its size, and each rule that fired with an example."""
    head = result.significance + (" (minor)" if result.minor else "")
    if result.significance == "substantive":
        head += f": {result.words_changed} words in {result.blocks} blocks ({result.share:.1%} of the text)"
    if result.recurrent_of:
        head += f", back to the text of {result.recurrent_of[:12]}"
    rules = "; ".join(
        f"{reason.rule} ×{reason.count}"
        + (f" ({reason.examples[0][0]!r} → {reason.examples[0][1]!r})" if reason.examples else "")
        for reason in result.reasons
    )
    return f"{head} [{result.ruleset}]" + (f" — {rules}" if rules else "")


# -- classification -------------------------------------------------------------------------------


@dataclass
class _Found:
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
            kept.append((_quote(old), _quote(new)))


def classify(old: str, new: str, *, earlier: Iterable[tuple[str, str]] = ()) -> Significance:
    """Classify the change from `old` to `new` (see the module's docstring).

    `earlier` gives (version id, text) of versions before `old`, oldest first: the last one whose
    text equals `new` is named `recurrent_of`. Equal texts give a cosmetic class with no reason.
    """
    recurrent_of = None
    for version_id, text in earlier:
        if text == new:
            recurrent_of = version_id
    found = _Found()
    old_blocks, new_blocks = split_blocks(old), split_blocks(new)
    old_contents = [content for content, _ in old_blocks]
    new_contents = [content for content, _ in new_blocks]
    stretches: list[tuple[list[str], list[str]]] = []
    i = j = 0
    for mi, mj, size in [*matching_runs(old_contents, new_contents), (len(old_blocks), len(new_blocks), 0)]:
        if i < mi or j < mj:
            stretches.append((old_contents[i:mi], new_contents[j:mj]))
        i, j = mi + size, mj + size
    if not stretches and old != new:
        found.add("layout", "cosmetic", "", "")  # only blank lines between blocks differ
    reduced = [
        ([reader_tokens(b) for b in olds], [reader_tokens(b) for b in news]) for olds, news in stretches
    ]
    moved = _moves(reduced)
    old_budget, new_budget = moved.copy(), moved.copy()
    for (olds, news), (old_tokens, new_tokens) in zip(stretches, reduced, strict=True):
        old_seq, old_moves = _sequence(old_tokens, old_budget)
        new_seq, new_moves = _sequence(new_tokens, new_budget)
        for text in old_moves:
            found.add("reordered", "editorial", text, text)
        words = found.words
        gaps = _classify_gaps(old_seq, new_seq, found)
        if not gaps and not old_moves and not new_moves:
            _cosmetic_reasons(olds, news, found)
        elif found.words > words:  # blocks touched: those whose reduced text is not on the other side
            old_keys = Counter(tuple(tokens) for tokens in old_tokens if tokens)
            new_keys = Counter(tuple(tokens) for tokens in new_tokens if tokens)
            found.blocks += max((old_keys - new_keys).total(), (new_keys - old_keys).total(), 1)
    reasons = tuple(
        Reason(rule, level, count, tuple(found.examples[(rule, level)]))
        for (rule, level), count in sorted(
            found.counts.items(), key=lambda item: (-LEVELS.index(item[0][1]), item[0][0])
        )
    )
    level: Level = max((reason.significance for reason in reasons), key=LEVELS.index, default="cosmetic")
    share = found.words / max(1, _count_words(old), _count_words(new)) if found.words else 0.0
    return Significance(level, reasons, found.words, min(1.0, share), found.blocks, recurrent_of)


def _reason_order(item: tuple[tuple[str, Level], int]) -> tuple[int, str]:
    """The most significant rules first, then by name."""
    (rule, level), _ = item
    return -LEVELS.index(level), rule


def _count_words(text: str) -> int:
    return len(text.split())


def _moves(reduced: list[tuple[list[list[str]], list[list[str]]]]) -> Counter[tuple[str, ...]]:
    """Reduced blocks deleted in one place and inserted in another (each as often as it moved)."""
    deleted: Counter[tuple[str, ...]] = Counter()
    inserted: Counter[tuple[str, ...]] = Counter()
    for olds, news in reduced:
        old_keys = Counter(tuple(tokens) for tokens in olds if tokens)
        new_keys = Counter(tuple(tokens) for tokens in news if tokens)
        deleted.update(old_keys - new_keys)
        inserted.update(new_keys - old_keys)
    return deleted & inserted


def _sequence(blocks: list[list[str]], budget: Counter[tuple[str, ...]]) -> tuple[list[str], list[str]]:
    """The tokens of a stretch's blocks, each block ended by `_END`, and the moved blocks left out
    (as long as `budget` has moves of them left)."""
    out: list[str] = []
    moves: list[str] = []
    for tokens in blocks:
        key = tuple(tokens)
        if tokens and budget[key] > 0:
            budget[key] -= 1
            moves.append(" ".join(tokens))
            continue
        out.extend(tokens)
        out.append(_END)
    return out, moves


# -- gaps -----------------------------------------------------------------------------------------

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


def _classify_gaps(old: list[str], new: list[str], found: _Found) -> int:
    """Classify each gap between the equal tokens of `old` and `new`; return how many had words."""
    gaps = 0
    i = j = 0
    for mi, mj, size in [*matching_runs(old, new), (len(old), len(new), 0)]:
        if i < mi or j < mj:
            gaps += _classify_gap(old, new, (i, mi), (j, mj), found)
        i, j = mi + size, mj + size
    return gaps


def _classify_gap(
    old: list[str], new: list[str], a: tuple[int, int], b: tuple[int, int], found: _Found
) -> bool:
    removed = [t for t in old[a[0] : a[1]] if t != _END]
    added = [t for t in new[b[0] : b[1]] if t != _END]
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
    at_start = (a[0] == 0 or old[a[0] - 1] == _END) and (b[0] == 0 or new[b[0] - 1] == _END)
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
    found: _Found, rule: str, removed: list[str], added: list[str], old_text: str, new_text: str
) -> None:
    found.words += sum(1 for t in removed + added if not _PUNCTUATION.fullmatch(t))
    found.add(rule, "substantive", old_text, new_text)


def _email_marker(old_words: list[str], new_words: list[str]) -> bool:
    if len(old_words) != len(new_words) or not old_words:
        return False
    pairs = list(zip(old_words, new_words, strict=True))
    return all(
        o == n or (o == _EMAIL_PLACEHOLDER and "@" in n) or (n == _EMAIL_PLACEHOLDER and "@" in o)
        for o, n in pairs
    ) and any(_EMAIL_PLACEHOLDER in pair for pair in pairs)


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
    while start > 0 and tokens[start - 1] != _END:
        start -= 1
    end = at
    while end < len(tokens) and tokens[end] != _END:
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


# -- reasons of cosmetic changes ------------------------------------------------------------------


def _cosmetic_reasons(olds: Sequence[str], news: Sequence[str], found: _Found) -> None:
    """Name the normalisations a stretch with no gap needed, with the raw words that differ."""
    old_text, new_text = "\n\n".join(olds), "\n\n".join(news)
    if len(old_text) + len(new_text) > REASON_CHARS:
        found.add("layout", "cosmetic", "", "")
        return
    rules = [
        name for name, _ in STAGES if reader_tokens(old_text, skip=name) != reader_tokens(new_text, skip=name)
    ]
    if not rules and _EMAIL_MARKER.search(old_text) != _EMAIL_MARKER.search(new_text):
        rules = ["email-marker"]
    tokens, _, _ = diff_words(old_text, new_text)
    removed = "".join(t.text for t in tokens if t.op == "delete")
    added = "".join(t.text for t in tokens if t.op == "insert")
    for rule in rules or ["layout"]:
        found.add(rule, "cosmetic", removed.strip(), added.strip())


_SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[.,;:!?)\]])|(?<=[(\[]) ")


def _quote(text: str) -> str:
    text = _SPACE_BEFORE_PUNCTUATION.sub("", " ".join(text.split()))
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"
