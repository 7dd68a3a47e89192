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

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ota.diff import diff_words, split_blocks
from ota.diff.runs import matching_runs
from ota.significance.gaps import END, LEVELS, Findings, Level, classify_gaps
from ota.significance.reader import EMAIL_MARKER, STAGES, reader_tokens

__all__ = [
    "LEVELS",
    "RULESET",
    "STAGES",
    "Level",
    "Reason",
    "Significance",
    "classify",
    "describe",
    "reader_tokens",
]

RULESET = "significance/1"
#: A substantive change of at most this many words (added and removed) is `minor`.
MINOR_WORDS = 8
#: A stretch larger than this (characters on both sides) is not searched for cosmetic reasons.
REASON_CHARS = 20_000

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
        words = f"{result.words_changed} word{'' if result.words_changed == 1 else 's'}"
        blocks = f"{result.blocks} block{'' if result.blocks == 1 else 's'}"
        head += f": {words} in {blocks} ({result.share:.1%} of the text)"
    if result.recurrent_of:
        head += f", back to the text of {result.recurrent_of[:12]}"
    rules = "; ".join(
        f"{reason.rule} ×{reason.count}"
        + (f" ({reason.examples[0][0]!r} → {reason.examples[0][1]!r})" if reason.examples else "")
        for reason in result.reasons
    )
    return f"{head} [{result.ruleset}]" + (f" — {rules}" if rules else "")


# -- classification -------------------------------------------------------------------------------


def classify(old: str, new: str, *, earlier: Iterable[tuple[str, str]] = ()) -> Significance:
    """Classify the change from `old` to `new` (see the module's docstring).

    `earlier` gives (version id, text) of versions before `old`, oldest first: the last one whose
    text equals `new` is named `recurrent_of`. Equal texts give a cosmetic class with no reason.
    """
    recurrent_of = None
    for version_id, text in earlier:
        if text == new:
            recurrent_of = version_id
    found = Findings()
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
        gaps = classify_gaps(old_seq, new_seq, found)
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
    """The tokens of a stretch's blocks, each block ended by `END`, and the moved blocks left out
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
        out.append(END)
    return out, moves


# -- reasons of cosmetic changes ------------------------------------------------------------------


def _cosmetic_reasons(olds: Sequence[str], news: Sequence[str], found: Findings) -> None:
    """Name the normalisations a stretch with no gap needed, with the raw words that differ."""
    old_text, new_text = "\n\n".join(olds), "\n\n".join(news)
    if len(old_text) + len(new_text) > REASON_CHARS:
        found.add("layout", "cosmetic", "", "")
        return
    rules = [
        name for name, _ in STAGES if reader_tokens(old_text, skip=name) != reader_tokens(new_text, skip=name)
    ]
    if not rules and EMAIL_MARKER.search(old_text) != EMAIL_MARKER.search(new_text):
        rules = ["email-marker"]
    tokens, _, _ = diff_words(old_text, new_text)
    removed = "".join(t.text for t in tokens if t.op == "delete")
    added = "".join(t.text for t in tokens if t.op == "insert")
    for rule in rules or ["layout"]:
        found.add(rule, "cosmetic", removed.strip(), added.strip())
