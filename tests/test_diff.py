"""ota.diff: the word-level diff model of two versions, its invariants, folding and counts."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ota.diff.runs
from ota.diff import (
    Block,
    block_kind,
    diff_texts,
    diff_words,
    split_blocks,
    tokenize,
    word_counts,
)
from ota.diff.runs import matching_runs

COMPAT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "compat-corpus"

# No example database (a failure prints the example to reproduce it) and no deadline (timing is
# the bench's business; a loaded machine must not fail a test).
PROPERTIES = settings(database=None, deadline=None, max_examples=300)

# Texts made of the pieces turndown's Markdown is made of, so that blocks, list items, table rows
# and headings all occur, with a few arbitrary characters mixed in.
PIECES = st.sampled_from(
    ["data", "terms", "we", "you", "share", "4.2", "don't", "opt-out", "https://a.example/x.", " ", "  ",
     "\n", "\n\n", "\n\n\n", "\n    \n", "*   ", "1.  ", "| a | b |", "| --- |", "# ", "=====", "- - -",
     ",", ".", "**", "\\[", "_", "\t", "中文", "é"]
)  # fmt: skip
MARKDOWNISH = st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=40).map("".join)


def paragraphs(count: int, words: int = 12) -> list[str]:
    return [" ".join(f"p{number}w{index}" for index in range(words)) + "." for number in range(count)]


def changed(diff: ota.diff.TextDiff) -> list[Block]:
    return [block for block in diff.blocks if block.op != "equal"]


# -- invariants -----------------------------------------------------------------------------------


@PROPERTIES
@given(MARKDOWNISH, MARKDOWNISH)
def test_both_sides_rebuild_exactly(old: str, new: str) -> None:
    """Joining the old side of the model gives the old text, the new side the new text, byte for byte."""
    diff = diff_texts(old, new)
    assert diff.old_text() == old
    assert diff.new_text() == new
    assert diff.changed == (old != new)


@PROPERTIES
@given(MARKDOWNISH, MARKDOWNISH)
def test_tokens_are_runs_that_tell_each_block_op(old: str, new: str) -> None:
    """No token is empty, two neighbours never share an op, and a block's op matches its tokens."""
    for block in diff_texts(old, new).blocks:
        assert all(token.text for token in block.tokens) or block.old_text + block.new_text == ""
        for left, right in itertools.pairwise(block.tokens):
            assert left.op != right.op
        ops = {token.op for token in block.tokens}
        if block.op in ("equal", "insert", "delete"):
            assert ops == {block.op}
        else:
            assert ops & {"insert", "delete"}


@PROPERTIES
@given(MARKDOWNISH, MARKDOWNISH)
def test_word_counts_are_the_diffs_counts(old: str, new: str) -> None:
    """word_counts gives the same (added, removed) as the full diff."""
    diff = diff_texts(old, new)
    assert word_counts(old, new) == (diff.words_added, diff.words_removed)


@PROPERTIES
@given(MARKDOWNISH)
def test_identical_texts_have_no_change(text: str) -> None:
    """A text against itself: every block equal, no hunk, zero counts."""
    diff = diff_texts(text, text)
    assert not diff.changed
    assert all(block.op == "equal" for block in diff.blocks)
    assert diff.hunks() == ()
    assert (diff.words_added, diff.words_removed, diff.blocks_changed) == (0, 0, 0)
    assert word_counts(text, text) == (0, 0)


@PROPERTIES
@given(st.text())
def test_tokens_and_blocks_join_to_the_text(text: str) -> None:
    """Any text is exactly the join of its tokens, and of its blocks with their separators."""
    assert "".join(tokenize(text)) == text
    assert "".join(content + sep for content, sep in split_blocks(text)) == text


@PROPERTIES
@given(st.lists(st.integers(0, 6), max_size=60), st.lists(st.integers(0, 6), max_size=60))
def test_matching_runs_are_a_common_subsequence_even_when_capped(a: list[int], b: list[int]) -> None:
    """With the LCS engine capped to tiny problems, the runs found still match and stay in order."""
    sa, sb = [str(x) for x in a], [str(x) for x in b]
    original = ota.diff.runs.MAX_CELLS
    try:
        ota.diff.runs.MAX_CELLS = 4
        runs = matching_runs(sa, sb)
    finally:
        ota.diff.runs.MAX_CELLS = original
    for i, j, size in runs:
        assert size > 0 and sa[i : i + size] == sb[j : j + size]
    for (i, j, size), (k, m, _) in itertools.pairwise(runs):
        assert i + size <= k and j + size <= m


# -- what a reader sees ---------------------------------------------------------------------------


def test_one_word_changed_in_a_long_paragraph_is_one_word_out_one_in() -> None:
    """One word replaced in a 200-word paragraph shows one deleted and one inserted word, no more."""
    words = [f"word{index}" for index in range(200)]
    old = " ".join(words)
    words[100] = "replacement"
    diff = diff_texts(old, " ".join(words))
    [block] = diff.blocks
    assert block.op == "change"
    assert [token.op for token in block.tokens] == ["equal", "delete", "insert", "equal"]
    assert (block.tokens[1].text, block.tokens[2].text) == ("word100", "replacement")
    assert (diff.words_added, diff.words_removed, diff.blocks_changed) == (1, 1, 1)


def test_inserted_paragraph_aligns_the_others_as_equal() -> None:
    """A paragraph inserted in the middle is one inserted block; the paragraphs around it are equal."""
    old = paragraphs(6)
    new = [*old[:3], "A brand new paragraph about cookies.", *old[3:]]
    diff = diff_texts("\n\n".join(old), "\n\n".join(new))
    assert [block.op for block in diff.blocks] == ["equal"] * 3 + ["insert"] + ["equal"] * 3
    assert diff.blocks[3].new_text == "A brand new paragraph about cookies."
    assert (diff.words_added, diff.words_removed) == (6, 0)


def test_moved_paragraph_is_deleted_there_and_inserted_here_and_marked_moved() -> None:
    """A paragraph moved to the end is deleted where it was, inserted where it is, both marked moved."""
    old = paragraphs(5)
    new = [old[0], *old[2:], old[1]]
    diff = diff_texts("\n\n".join(old), "\n\n".join(new))
    assert [block.op for block in diff.blocks] == ["equal", "delete", "equal", "equal", "equal", "insert"]
    assert diff.blocks[1].moved and diff.blocks[-1].moved
    assert diff.blocks[1].old_text == diff.blocks[-1].new_text == old[1]
    assert not any(block.moved for block in diff.blocks if block.op == "equal")


def test_edited_paragraph_pairs_with_its_new_version_next_to_an_insertion() -> None:
    """An edited paragraph followed by a new one: the edit is one changed block, the new one an insertion."""
    old = paragraphs(3)
    edited = old[1].replace("p1w5", "p1w5 and more")
    new = [old[0], edited, "Something else entirely, new.", old[2]]
    diff = diff_texts("\n\n".join(old), "\n\n".join(new))
    assert [block.op for block in diff.blocks] == ["equal", "change", "insert", "equal"]
    inserted = [token.text for token in diff.blocks[1].tokens if token.op == "insert"]
    assert len(inserted) == 1 and inserted[0].strip() == "and more"
    assert (diff.words_added, diff.words_removed) == (2 + 4, 0)


def test_deleted_and_unrelated_paragraphs_do_not_pair() -> None:
    """A paragraph replaced by an unrelated one is a deletion and an insertion, not a changed block."""
    old, new = "Intro.\n\nWe sell your data.\n\nEnd.", "Intro.\n\nCookies help us count visits.\n\nEnd."
    diff = diff_texts(old, new)
    assert [block.op for block in diff.blocks] == ["equal", "delete", "insert", "equal"]


def test_first_version_is_all_inserted() -> None:
    """An empty old text (a first record) gives every block of the new text as inserted."""
    new = "Terms\n=====\n\nWe keep your data.\n\n*   one\n*   two"
    diff = diff_texts("", new)
    assert [block.op for block in diff.blocks] == ["insert"] * 4
    assert [block.kind for block in diff.blocks] == ["heading", "paragraph", "list_item", "list_item"]
    assert (diff.words_added, diff.words_removed, diff.blocks_changed) == (7, 0, 4)
    assert diff.old_text() == "" and diff.new_text() == new


def test_emptied_text_is_all_deleted_and_two_empty_texts_have_no_block() -> None:
    """A text against an empty one is all deleted; two empty texts give no block and no change."""
    diff = diff_texts("One two.\n\nThree.", "")
    assert [block.op for block in diff.blocks] == ["delete", "delete"]
    assert (diff.words_added, diff.words_removed) == (0, 3)
    empty = diff_texts("", "")
    assert empty.blocks == () and not empty.changed


def test_paragraph_appended_after_the_last_leaves_it_equal() -> None:
    """Appending a paragraph keeps the old last paragraph equal, though a separator now follows it."""
    diff = diff_texts("First.\n\nLast.", "First.\n\nLast.\n\nAppended.")
    assert [block.op for block in diff.blocks] == ["equal", "equal", "insert"]
    assert (diff.blocks[1].old_sep, diff.blocks[1].new_sep) == ("", "\n\n")


def test_blank_lines_only_difference_changes_no_block() -> None:
    """Texts that differ only in blank lines between blocks are changed, with no changed block or word."""
    diff = diff_texts("A.\n\nB.", "A.\n\n\nB.")
    assert diff.changed
    assert (diff.blocks_changed, diff.words_added, diff.words_removed) == (0, 0, 0)
    assert diff.hunks() == ()


def test_punctuation_change_is_a_changed_block_without_words() -> None:
    """Changing a comma to a semicolon changes the block but adds and removes no word."""
    diff = diff_texts("We collect data, and cookies.", "We collect data; and cookies.")
    assert diff.blocks_changed == 1
    assert (diff.words_added, diff.words_removed) == (0, 0)
    assert [(token.op, token.text) for token in diff.blocks[0].tokens if token.op != "equal"] == [
        ("delete", ","),
        ("insert", ";"),
    ]


def test_short_equal_words_between_rewrites_fold_into_them() -> None:
    """An equal word squeezed between two rewrites joins them, so a rewritten sentence reads as one change."""
    tokens, added, removed = diff_words(
        "We may share your data with partners.", "We will never sell your personal information to anyone."
    )
    assert [token.op for token in tokens] == ["equal", "delete", "insert", "equal"]
    assert tokens[1].text == "may share your data with partners"
    assert (added, removed) == (8, 6)


def test_longer_equal_words_between_replacements_stay_equal() -> None:
    """An equal stretch longer than the replacements around it stays shown as equal."""
    tokens, _, _ = diff_words("The Company shall notify users.", "The Provider shall inform users.")
    assert [(token.op, token.text) for token in tokens] == [
        ("equal", "The "),
        ("delete", "Company"),
        ("insert", "Provider"),
        ("equal", " shall "),
        ("delete", "notify"),
        ("insert", "inform"),
        ("equal", " users."),
    ]


def test_equal_words_next_to_a_pure_insertion_stay_equal() -> None:
    """An equal word between a replacement and a pure insertion is not folded into them."""
    tokens, _, _ = diff_words("a OLD b", "a NEW b c")
    assert [(token.op, token.text) for token in tokens] == [
        ("equal", "a "),
        ("delete", "OLD"),
        ("insert", "NEW"),
        ("equal", " b"),
        ("insert", " c"),
    ]


def test_changes_of_spaces_keep_the_words_between_them_equal() -> None:
    """Changed spacing around a word changes no word: the word stays equal between the two changes."""
    tokens, added, removed = diff_words("a  b c", "a b  c")
    assert [token.text for token in tokens if token.op == "equal"] == ["a", "b", "c"]
    assert (added, removed) == (0, 0)


def test_side_by_side_columns_come_from_each_blocks_sides() -> None:
    """Each block gives the old column (equal and deleted tokens) and the new column (equal and inserted)."""
    diff = diff_texts("Keep.\n\nWe sell data.\n\nGone paragraph here.", "Keep.\n\nWe never sell data.")
    rows = [(block.old_text, block.new_text) for block in diff.blocks]
    assert rows == [
        ("Keep.", "Keep."),
        ("We sell data.", "We never sell data."),
        ("Gone paragraph here.", ""),
    ]


# -- blocks and tokens ----------------------------------------------------------------------------


def test_list_items_table_rows_and_headings_are_blocks_of_their_own() -> None:
    """Tight list items and table rows are separate blocks, each with its kind; a heading stays whole."""
    text = (
        "Title\n=====\n\n### Section\n\nIntro:\n*   one\n    *   nested\n1.  first\n\n"
        "| a | b |\n| --- | --- |\n\n* * *\n\n> quoted\n\n```\ncode\n```"
    )
    blocks = split_blocks(text)
    assert [content for content, _ in blocks] == [
        "Title\n=====", "### Section", "Intro:", "*   one", "    *   nested", "1.  first",
        "| a | b |", "| --- | --- |", "* * *", "> quoted", "```\ncode\n```",
    ]  # fmt: skip
    assert [block_kind(content) for content, _ in blocks] == [
        "heading", "heading", "paragraph", "list_item", "list_item", "list_item",
        "table_row", "table_row", "rule", "quote", "code",
    ]  # fmt: skip


def test_crlf_text_splits_at_blank_lines_too() -> None:
    """A text with CRLF line ends is cut into paragraphs and list items like an LF one."""
    blocks = split_blocks("One.\r\n\r\nTwo:\r\n*   a")
    assert [content for content, _ in blocks] == ["One.\r", "Two:\r", "*   a"]


def test_one_changed_list_item_is_one_changed_block() -> None:
    """In a 30-item list, changing one item shows that item changed and the 29 others equal."""
    items = [f"*   item number {index} of the list" for index in range(30)]
    old = "Intro.\n\n" + "\n".join(items)
    items[17] = "*   item number 17 of the new list"
    diff = diff_texts(old, "Intro.\n\n" + "\n".join(items))
    assert diff.blocks_changed == 1
    assert [index for index, block in enumerate(diff.blocks) if block.op != "equal"] == [18]
    assert diff.blocks[18].kind == "list_item"


def test_tokens_keep_words_urls_and_escapes_whole() -> None:
    """Words keep inner apostrophes, hyphens and dots; a URL is one token; CJK characters stand alone."""
    assert tokenize("We don't opt-out of 4.2, see https://a.example/p?q=1. \\[x\\] 中文") == [
        "We", " ", "don't", " ", "opt-out", " ", "of", " ", "4.2", ",", " ", "see", " ",
        "https://a.example/p?q=1", ".", " ", "\\[", "x", "\\]", " ", "中", "文",
    ]  # fmt: skip


def test_words_are_tokens_that_start_with_a_letter_or_digit() -> None:
    """Counts include words, numbers, URLs and CJK characters, and no punctuation or Markdown syntax."""
    diff = diff_texts("", "**Hello**, 2 worlds: https://a.example — 中文 | ---")
    assert diff.words_added == 6


# -- folding --------------------------------------------------------------------------------------


def test_hunks_fold_unchanged_blocks_around_each_change() -> None:
    """Two distant changes make two hunks with `context` blocks around each; the rest is folded, counted."""
    old = paragraphs(20)
    new = list(old)
    new[5] = new[5].replace("w3", "w3x")
    new[14] = new[14].replace("w3", "w3x")
    diff = diff_texts("\n\n".join(old), "\n\n".join(new), context=2)
    first, second = diff.hunks()
    assert (first.start, len(first.blocks), first.folded_before, first.folded_after) == (3, 5, 3, 4)
    assert (second.start, len(second.blocks), second.folded_before, second.folded_after) == (12, 5, 4, 3)
    assert first.blocks[2].op == "change" and second.blocks[2].op == "change"
    shown = sum(len(hunk.blocks) for hunk in diff.hunks())
    assert shown + first.folded_before + second.folded_before + second.folded_after == 20


def test_close_changes_share_a_hunk_and_context_zero_shows_changes_only() -> None:
    """Changes whose context would meet are one hunk; context 0 keeps only the changed blocks."""
    old = paragraphs(10)
    new = list(old)
    new[4] = new[4].replace("w1", "w1x")
    new[6] = new[6].replace("w1", "w1x")
    diff = diff_texts("\n\n".join(old), "\n\n".join(new))
    [hunk] = diff.hunks()
    assert (hunk.start, len(hunk.blocks), hunk.folded_before, hunk.folded_after) == (3, 5, 3, 2)
    assert [len(hunk.blocks) for hunk in diff.hunks(context=0)] == [1, 1]
    assert len(diff.hunks(context=5)) == 1 and diff.hunks(context=5)[0].folded_before == 0


def test_negative_context_is_refused() -> None:
    """A negative context is a ValueError, from diff_texts and from hunks()."""
    with pytest.raises(ValueError, match="context"):
        diff_texts("a", "b", context=-1)
    with pytest.raises(ValueError, match="context"):
        diff_texts("a", "b").hunks(context=-1)


# -- bounds ---------------------------------------------------------------------------------------


def test_problems_over_the_cap_still_align_at_unique_anchors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over MAX_CELLS, paragraphs found once on each side anchor the alignment, so edits stay local."""
    monkeypatch.setattr(ota.diff.runs, "MAX_CELLS", 16)
    old = paragraphs(40)
    new = list(old)
    new[10] = new[10].replace("w2", "w2x")
    del new[30]
    diff = diff_texts("\n\n".join(old), "\n\n".join(new))
    assert [block.op for block in changed(diff)] == ["change", "delete"]
    assert (diff.words_added, diff.words_removed) == (1, 13)


def test_over_the_cap_without_unique_elements_equal_counts_anchor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over MAX_CELLS with no unique word, words as frequent on both sides anchor: edits stay local."""
    monkeypatch.setattr(ota.diff.runs, "MAX_CELLS", 16)
    words = [f"w{index % 7}" for index in range(300)]
    old = " ".join(words)
    words[100], words[200] = "changed", "edited"
    tokens, added, removed = diff_words(old, " ".join(words))
    assert (added, removed) == (2, 2)
    assert [token.text for token in tokens if token.op == "insert"] == ["changed", "edited"]


def test_problems_over_the_cap_without_anchors_match_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over MAX_CELLS with no element as frequent on both sides, nothing matches: all deleted, inserted."""
    monkeypatch.setattr(ota.diff.runs, "MAX_CELLS", 16)
    assert matching_runs(["s"] * 10 + ["x"] * 5, ["x"] * 10 + ["s"] * 5) == []
    tokens, added, removed = diff_words("s " * 10 + "x " * 5, "x " * 10 + "s " * 5)
    assert [token.op for token in tokens] == ["delete", "insert", "equal"]
    assert (added, removed) == (15, 15)


def test_hash_collisions_in_the_lcs_engine_never_match_different_tokens() -> None:
    """rapidfuzz compares by hash; elements that collide but differ are still told apart."""

    class Colliding(str):
        __slots__ = ()

        def __hash__(self) -> int:
            return 42

    # Multi-character strings: rapidfuzz compares one-character strings by their code point.
    a = [Colliding("xx"), Colliding("yy"), Colliding("zz")]
    b = [Colliding("uu"), Colliding("yy"), Colliding("vv")]
    assert ota.diff.runs._lcs_runs(a, b, 0, 0) == [(1, 1, 1)]


# -- real versions --------------------------------------------------------------------------------


def _successive_versions() -> list[tuple[str, str]]:
    if not COMPAT_CORPUS.is_dir():
        return []
    groups: dict[str, list[tuple[str, Path]]] = {}
    for case in sorted(COMPAT_CORPUS.iterdir()):
        if (case / "case.json").is_file():
            date = json.loads((case / "case.json").read_text("utf-8"))["version_date"]
            groups.setdefault(case.name.rsplit("__", 1)[0], []).append((date, case / "expected.md"))
    return [
        (older.read_text("utf-8"), newer.read_text("utf-8"))
        for versions in groups.values()
        for (_, older), (_, newer) in itertools.pairwise(sorted(versions))
    ]


@pytest.mark.compat
@pytest.mark.skipif(not COMPAT_CORPUS.is_dir(), reason="needs ../shared/compat-corpus")
def test_real_successive_versions_rebuild_and_count_consistently() -> None:
    """On every pair of successive real versions, both sides rebuild exactly and word_counts agrees."""
    pairs = _successive_versions()
    assert len(pairs) > 50
    for old, new in pairs:
        diff = diff_texts(old, new)
        assert diff.old_text() == old and diff.new_text() == new
        assert word_counts(old, new) == (diff.words_added, diff.words_removed)
        assert diff.changed == (old != new)
