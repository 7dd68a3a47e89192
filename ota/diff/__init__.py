"""Two versions of a terms document → a word-level diff model, as plain values.

The web viewer renders it inline (one column, removed words struck, added words highlighted) or
side by side (old left, new right, aligned by block); notifications and run summaries quote its
hunks; timelines print its counts ("+12 words, −3 words"). Pure: strings in, frozen values out.

How a diff is made
------------------
1. **Blocks.** Each text is cut at blank lines into paragraphs; inside a paragraph, each list item
   and each table row is a block of its own (turndown writes tight lists and tables without blank
   lines, and one changed item of a 30-item list should read as one changed item). The separator
   after a block (blank lines, a line end, nothing after the last) is kept apart from its content:
   the texts rebuild exactly, and the last paragraph still matches when a version appends after it.
2. **Alignment.** Blocks are matched by content with an exact longest-common-subsequence diff. In
   a stretch where they differ, an old and a new block are paired as *changed* when they share at
   least half of their tokens (Dice coefficient of their token sets), most similar pairs first, in
   order; the others are *deleted* or *inserted*. A deleted block whose exact content is inserted
   elsewhere is marked `moved` on both sides.
3. **Words.** A changed pair is diffed token by token: words (`don't`, `opt-out`, `4.2`), URLs,
   CJK characters, Markdown escapes, runs of one punctuation character (`**`), runs of whitespace.
   Words and punctuation are matched first, whitespace only then, so spaces never pull words
   apart; an equal stretch between two changes and no longer than either is folded into them
   (diff-match-patch's semantic cleanup, see `_absorbs`): "~~may share your data~~ will never
   sell your information" reads as one rewrite.
4. **Counts.** A word is a token that starts with a letter or a digit. `words_added` and
   `words_removed` count the words of inserted and deleted tokens, moved blocks included.

Bounds
------
The LCS engine (`ota.diff.runs`), rapidfuzz's bit-parallel Indel (exact, C++), costs len(a) ×
len(b) / 64 whatever the inputs, so it gets problems of at most `MAX_CELLS`. A larger one loses its
common prefix and suffix, then is cut at anchors (elements found once on each side, or else the
n-th occurrences of elements found as often on each side, longest chain in order: patience diff)
and each gap is diffed the same way. A gap still too large and without anchor, or met after
`ANCHOR_WORK` × (len(a) + len(b)) elements of anchoring, matches nothing: it shows deleted and
inserted whole. Pairing in a large stretch compares blocks near its diagonal only. So 1 MB texts
take a second or two at worst.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from itertools import accumulate, compress
from operator import itemgetter, not_
from typing import Literal

from ota.diff.runs import Run, matching_runs

Op = Literal["equal", "insert", "delete"]
BlockOp = Literal["equal", "insert", "delete", "change"]
Kind = Literal["paragraph", "heading", "list_item", "table_row", "quote", "code", "rule"]

DEFAULT_CONTEXT = 1
#: Share of tokens two blocks must have in common to be shown as one changed block.
PAIR_SIMILARITY = 0.5
#: A stretch of up to this many old × new blocks compares every pair; a larger one, a diagonal band.
PAIR_ALL = 2_500
PAIR_BAND = 25

# Blocks end at blank lines, and at a line end when the next line starts a list item or a table row.
_SEPARATOR = re.compile(r"(\n(?:[ \t\r]*\n)+|\n(?=[ \t]*(?:(?:[*+-]|\d{1,9}[.)])[ \t]|\|)))")
_KIND = re.compile(
    r"(?P<code>\s*(?:```|~~~))"
    r"|(?P<rule>[ \t]*(?:[*_-][ \t]*){3,}\Z)"
    r"|(?P<heading>\s*#|\s*[^\n]+\n[ \t]*(?:=+|-+)[ \t]*\Z)"
    r"|(?P<list_item>[ \t]*(?:[*+-]|\d{1,9}[.)])(?:[ \t]|\Z))"
    r"|(?P<table_row>\s*\|)"
    r"|(?P<quote>\s*>)"
)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTER = rf"[^\W_{_CJK}]"
_TOKEN = re.compile(
    r"\s+"
    r"|(?:https?|ftp|mailto):[^\s<>()\[\]\"]*[^\s<>()\[\]\".,;:!?'’]"
    rf"|[{_CJK}]"
    rf"|{_LETTER}+(?:['’.\-]{_LETTER}+)*"
    r"|\\[^\s]"
    r"|\*+|=+|-+|_+|#+|~+|`+|[^\w\s]"
)
_FIRST = itemgetter(0)
_SPACES = frozenset((" ", "\n"))


@dataclass(frozen=True, slots=True)
class Token:
    """A run of text that is in both sides (equal), only in the old one, or only in the new one."""

    op: Op
    text: str


@dataclass(frozen=True, slots=True)
class Block:
    """One block of the aligned texts: a paragraph, a list item, a table row, a heading…

    Equal and deleted tokens give the old block, equal and inserted ones the new block; an equal,
    inserted or deleted block has one token, its whole content. `old_sep` and `new_sep` are the
    whitespace after the block on each side ("" where it is absent): layout, never a change.
    """

    op: BlockOp
    kind: Kind
    tokens: tuple[Token, ...]
    old_sep: str = ""
    new_sep: str = ""
    words_added: int = 0
    words_removed: int = 0
    moved: bool = False

    @property
    def old_text(self) -> str:
        """The block as it is in the old text ("" for an inserted block)."""
        return "".join(token.text for token in self.tokens if token.op != "insert")

    @property
    def new_text(self) -> str:
        """The block as it is in the new text ("" for a deleted block)."""
        return "".join(token.text for token in self.tokens if token.op != "delete")


@dataclass(frozen=True, slots=True)
class Hunk:
    """Changed blocks with context; `start` indexes `blocks[0]` in `TextDiff.blocks`.

    `folded_before`/`folded_after` count the unchanged blocks folded before and after it (a hunk's
    `folded_after` is the next one's `folded_before`)."""

    start: int
    blocks: tuple[Block, ...]
    folded_before: int
    folded_after: int


@dataclass(frozen=True, slots=True)
class TextDiff:
    """The aligned blocks of two texts, what changed between them, and how to fold the rest."""

    blocks: tuple[Block, ...]
    context: int = DEFAULT_CONTEXT

    @property
    def words_added(self) -> int:
        """Words in inserted tokens (of changed and inserted blocks)."""
        return sum(block.words_added for block in self.blocks)

    @property
    def words_removed(self) -> int:
        """Words in deleted tokens (of changed and deleted blocks)."""
        return sum(block.words_removed for block in self.blocks)

    @property
    def blocks_changed(self) -> int:
        """Blocks that are changed, inserted or deleted."""
        return sum(block.op != "equal" for block in self.blocks)

    @property
    def changed(self) -> bool:
        """Whether the texts differ at all (blank lines alone make no changed block)."""
        return any(block.op != "equal" or block.old_sep != block.new_sep for block in self.blocks)

    def old_text(self) -> str:
        """The old text, exactly."""
        return "".join(block.old_text + block.old_sep for block in self.blocks)

    def new_text(self) -> str:
        """The new text, exactly."""
        return "".join(block.new_text + block.new_sep for block in self.blocks)

    def hunks(self, context: int | None = None) -> tuple[Hunk, ...]:
        """The changes with `context` unchanged blocks around each (default: the diff's).

        Changes whose contexts touch or overlap make one hunk. No change, no hunk.
        """
        context = self.context if context is None else _checked(context)
        spans: list[list[int]] = []
        for index, block in enumerate(self.blocks):
            if block.op != "equal":
                start, end = max(0, index - context), min(len(self.blocks), index + context + 1)
                if spans and start <= spans[-1][1]:
                    spans[-1][1] = end
                else:
                    spans.append([start, end])
        ends = [0, *(end for _, end in spans)]
        starts = [*(start for start, _ in spans), len(self.blocks)]
        return tuple(
            Hunk(start, self.blocks[start:end], start - ends[number], starts[number + 1] - end)
            for number, (start, end) in enumerate(spans)
        )


def diff_texts(old: str, new: str, *, context: int = DEFAULT_CONTEXT) -> TextDiff:
    """Align the blocks of `old` and `new` and diff the changed ones word by word.

    `context` is how many unchanged blocks `TextDiff.hunks()` keeps around each change. An empty
    `old` (a first version) gives every block of `new` as inserted.
    """
    return TextDiff(tuple(_diff_blocks(old, new)), _checked(context))


def word_counts(old: str, new: str) -> tuple[int, int]:
    """(words added, words removed) from `old` to `new`: `diff_texts`'s counts, for timelines."""
    if old == new:
        return 0, 0
    blocks = _diff_blocks(old, new, changes_only=True)
    return sum(block.words_added for block in blocks), sum(block.words_removed for block in blocks)


def split_blocks(text: str) -> list[tuple[str, str]]:
    """`text` as (content, separator) pairs whose concatenation is `text` (see How a diff is made).

    Only the first content may start with blank lines, and only an empty text has no block.
    """
    if not text:
        return []
    parts = _SEPARATOR.split(text)
    contents, seps = parts[0::2], [*parts[1::2], ""]
    if len(contents) > 1 and not contents[-1]:  # the text ends with a separator
        del contents[-1], seps[-1]
    if len(contents) > 1 and not contents[0]:  # it starts with one: keep it in the first content
        contents[1] = seps[0] + contents[1]
        del contents[0], seps[0]
    return list(zip(contents, seps, strict=True))


def block_kind(content: str) -> Kind:
    """What a block is, from its Markdown: a hint for rendering (indented code reads as paragraph)."""
    match = _KIND.match(content)
    return match.lastgroup if match else "paragraph"  # type: ignore[return-value]


def tokenize(text: str) -> list[str]:
    """The tokens of `text` (see How a diff is made); they join to `text`."""
    return _TOKEN.findall(text)


def diff_words(old: str, new: str) -> tuple[tuple[Token, ...], int, int]:
    """Tokens of a word-level diff of two blocks, with (words added, words removed)."""
    return _diff_tokens(tokenize(old), tokenize(new))


def _checked(context: int) -> int:
    if context < 0:
        raise ValueError(f"context must be 0 or more, not {context}")
    return context


def _word_sums(tokens: list[str]) -> list[int]:
    """Running count of words: tokens[i:j] hold sums[j] - sums[i] words."""
    return [0, *accumulate(map(str.isalnum, map(_FIRST, tokens)))]


# -- blocks ---------------------------------------------------------------------------------------


def _diff_blocks(old: str, new: str, *, changes_only: bool = False) -> list[Block]:
    """The aligned blocks; with `changes_only`, those that are not equal (enough to count words)."""
    old_blocks, new_blocks = split_blocks(old), split_blocks(new)
    out: list[Block] = []
    i = j = 0
    runs = matching_runs([content for content, _ in old_blocks], [content for content, _ in new_blocks])
    for mi, mj, size in [*runs, (len(old_blocks), len(new_blocks), 0)]:
        if i < mi or j < mj:
            out.extend(_pair_stretch(old_blocks[i:mi], new_blocks[j:mj]))
        if not changes_only:
            for (content, old_sep), (_, new_sep) in zip(
                old_blocks[mi : mi + size], new_blocks[mj : mj + size], strict=True
            ):
                out.append(Block("equal", block_kind(content), (Token("equal", content),), old_sep, new_sep))
        i, j = mi + size, mj + size
    return _mark_moves(out)


def _pair_stretch(olds: list[tuple[str, str]], news: list[tuple[str, str]]) -> list[Block]:
    """Blocks for a stretch where old and new differ: similar ones paired in order, others alone."""
    old_tokens = [tokenize(content) for content, _ in olds]
    new_tokens = [tokenize(content) for content, _ in news]
    out: list[Block] = []
    i = j = 0
    for pi, pj in [*_best_pairs(old_tokens, new_tokens), (len(olds), len(news))]:
        for (content, sep), tokens in zip(olds[i:pi], old_tokens[i:pi], strict=True):
            removed = sum(map(str.isalnum, map(_FIRST, tokens)))
            out.append(Block("delete", block_kind(content), (Token("delete", content),), sep, "", 0, removed))
        for (content, sep), tokens in zip(news[j:pj], new_tokens[j:pj], strict=True):
            added = sum(map(str.isalnum, map(_FIRST, tokens)))
            out.append(Block("insert", block_kind(content), (Token("insert", content),), "", sep, added))
        if pi < len(olds):
            (old_content, old_sep), (new_content, new_sep) = olds[pi], news[pj]
            diff, added, removed = _diff_tokens(old_tokens[pi], new_tokens[pj])
            op: BlockOp = "change" if old_content != new_content else "equal"
            out.append(Block(op, block_kind(new_content), diff, old_sep, new_sep, added, removed))
        i, j = pi + 1, pj + 1
    return out


def pair_similar(olds: list[list[str]], news: list[list[str]]) -> list[tuple[int, int]]:
    """Indexes (i, j) of the blocks, given as tokens, paired as changed (How a diff is made, 2)."""
    return _best_pairs(olds, news)


def _best_pairs(olds: list[list[str]], news: list[list[str]]) -> list[tuple[int, int]]:
    """Indexes (i, j) of similar blocks, increasing in both, the most similar chosen first."""
    n, m = len(olds), len(news)
    if not n or not m:
        return []
    old_sets = [set(tokens) - _SPACES for tokens in olds]
    new_sets = [set(tokens) - _SPACES for tokens in news]
    if n * m <= PAIR_ALL:
        candidates = [(i, j) for i in range(n) for j in range(m)]
    else:  # a large stretch is a rewrite: compare near its diagonal, at most ~PAIR_ALL × 40 pairs
        band = max(1, min(PAIR_BAND, PAIR_ALL * 20 // (n + m)))
        candidates = [
            (i, j) for i in range(n) for j in range(max(0, i * m // n - band), min(m, i * m // n + band + 1))
        ]
    scored = []
    for i, j in candidates:
        x, y = old_sets[i], new_sets[j]
        if 2 * min(len(x), len(y)) < PAIR_SIMILARITY * (len(x) + len(y)):
            continue  # too different in size to be similar enough: no need to intersect
        similarity = 2 * len(x & y) / (len(x) + len(y)) if x or y else 1.0
        if similarity >= PAIR_SIMILARITY:
            scored.append((-similarity, i, j))
    scored.sort()
    chosen_i: list[int] = []
    chosen_j: list[int] = []
    for _, i, j in scored:
        at = bisect.bisect_left(chosen_i, i)
        if (at < len(chosen_i) and (chosen_i[at] == i or chosen_j[at] <= j)) or (
            at and chosen_j[at - 1] >= j
        ):
            continue  # i is taken, or the pair would cross one already chosen
        chosen_i.insert(at, i)
        chosen_j.insert(at, j)
    return list(zip(chosen_i, chosen_j, strict=True))


def _mark_moves(blocks: list[Block]) -> list[Block]:
    # Inserted and deleted blocks have a single token: their content.
    deleted = {block.tokens[0].text for block in blocks if block.op == "delete"}
    moved = deleted & {block.tokens[0].text for block in blocks if block.op == "insert"}
    if not moved:
        return blocks
    return [
        replace(block, moved=True)
        if block.op in ("insert", "delete") and block.tokens[0].text in moved
        else block
        for block in blocks
    ]


# -- words ----------------------------------------------------------------------------------------


def _diff_tokens(a: list[str], b: list[str]) -> tuple[tuple[Token, ...], int, int]:
    words_a, words_b = _word_sums(a), _word_sums(b)
    sums = ([0, *accumulate(map(len, a))], [0, *accumulate(map(len, b))], words_a, words_b)
    # Segments (equal, a1, a2, b1, b2) alternate between equal stretches and changes.
    segments: list[tuple[bool, int, int, int, int]] = []

    def append(equal: bool, a1: int, a2: int, b1: int, b2: int) -> None:
        if a1 == a2 and b1 == b2:
            return
        if equal and segments and segments[-1][0]:
            segments[-1] = (True, segments[-1][1], a2, segments[-1][3], b2)
            return
        # Fold the equal stretch before this change into it and the change before when
        # _absorbs says so; going back lets folds chain, each segment folded at most once.
        while not equal and len(segments) >= 2 and segments[-1][0] and not segments[-2][0]:
            _, c1, c2, d1, d2 = segments[-2]
            if not _absorbs(sums, (c1, c2, d1, d2), segments[-1][1:3], (a1, a2, b1, b2)):
                break
            del segments[-2:]
            a1, b1 = c1, d1
        segments.append((equal, a1, a2, b1, b2))

    ka = list(compress(range(len(a)), map(not_, map(str.isspace, a))))
    kb = list(compress(range(len(b)), map(not_, map(str.isspace, b))))
    matched: list[Run] = []
    for x, y, size in matching_runs(list(map(a.__getitem__, ka)), list(map(b.__getitem__, kb))):
        i1, i2, j1, j2 = ka[x], ka[x + size - 1] + 1, kb[y], kb[y + size - 1] + 1
        if a[i1:i2] == b[j1:j2]:  # the whitespace between these words is the same too
            matched.append((i1, j1, i2 - i1))
        else:
            matched.extend((ka[x + k], kb[y + k], 1) for k in range(size))
    i = j = 0
    for mi, mj, size in [*matched, (len(a), len(b), 0)]:
        # Between two matches, only whitespace can still be equal, at either end of the gap.
        p = s = 0
        while i + p < mi and j + p < mj and a[i + p] == b[j + p]:
            p += 1
        while mi - s > i + p and mj - s > j + p and a[mi - s - 1] == b[mj - s - 1]:
            s += 1
        append(True, i, i + p, j, j + p)
        append(False, i + p, mi - s, j + p, mj - s)
        append(True, mi - s, mi + size, mj - s, mj + size)
        i, j = mi + size, mj + size

    tokens: list[Token] = []
    added = removed = 0
    for equal, a1, a2, b1, b2 in segments:
        if equal:
            tokens.append(Token("equal", "".join(a[a1:a2])))
            continue
        if a1 < a2:
            tokens.append(Token("delete", "".join(a[a1:a2])))
            removed += words_a[a2] - words_a[a1]
        if b1 < b2:
            tokens.append(Token("insert", "".join(b[b1:b2])))
            added += words_b[b2] - words_b[b1]
    return tuple(tokens), added, removed


def _absorbs(
    sums: tuple[list[int], list[int], list[int], list[int]],
    before: tuple[int, int, int, int],
    equal: tuple[int, int],
    after: tuple[int, int, int, int],
) -> bool:
    """Whether an equal stretch between two changes is folded into them.

    It must be no longer than either change (diff-match-patch's rule, in characters), and the two
    changes must delete and insert between them, or folding would strike text that is not gone.
    Equal words also need each change to replace words: next to a pure insertion or a change of
    spaces, kept words are worth showing ("a ~~OLD~~ b NEW", not "a ~~OLD b~~ b NEW").
    """
    chars_a, chars_b, words_a, words_b = sums
    (a1, a2, b1, b2), (e1, e2), (c1, c2, d1, d2) = before, equal, after
    if not ((a1 < a2 or c1 < c2) and (b1 < b2 or d1 < d2)):
        return False
    length = chars_a[e2] - chars_a[e1]
    if length > max(chars_a[a2] - chars_a[a1], chars_b[b2] - chars_b[b1]):
        return False
    if length > max(chars_a[c2] - chars_a[c1], chars_b[d2] - chars_b[d1]):
        return False
    if words_a[e2] == words_a[e1]:
        return True
    return (
        a1 < a2 and b1 < b2 and c1 < c2 and d1 < d2
        and words_a[a2] + words_b[b2] > words_a[a1] + words_b[b1]
        and words_a[c2] + words_b[d2] > words_a[c1] + words_b[d1]
    )  # fmt: skip
