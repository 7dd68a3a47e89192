"""Two versions of a terms document as the documents they are: their units, aligned, and what
changed section by section, as plain values (the viewer renders them: `ota.web.rendered_diff`;
notifications and feeds say the summary and quote the excerpt).

Both versions are cut into units by `ota.diff.units` (the leaves of the document's structure as
the version page renders it, with their containers and inline formatting, so no Markdown markup
is ever shown). Units are aligned as `ota.diff` aligns Markdown blocks (longest common subsequence
by content, then similar units paired), and each changed pair is diffed word by word with
`ota.diff.diff_words`; a table row is diffed cell by cell. `account` says what changed by section
("§4A added; §5 reworded; 2 links changed") with an excerpt of the words changed. Pure: strings
in, values out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from ota.diff import Token, diff_words, pair_similar, tokenize
from ota.diff.runs import matching_runs
from ota.diff.units import Unit, units

_SECTION_NUMBER = re.compile(
    r"^(?:(?:section|article|art\.|chapter|part|§)\s*)?(\d+[A-Za-z]?(?:\.\d+[A-Za-z]?)*)(?:[.):]|\s|$)",
    re.IGNORECASE,
)
#: Words of unchanged text kept on each side of a change in an excerpt.
EXCERPT_CONTEXT = 6
#: An excerpt stops after the change that takes it past this many characters.
EXCERPT_CHARS = 280
#: Words kept of a whole paragraph added or removed.
EXCERPT_WHOLE_WORDS = 30


@dataclass(frozen=True, slots=True)
class Item:
    """One step of the aligned documents."""

    op: str  # equal, insert, delete, change
    old: Unit | None
    new: Unit | None
    cells: tuple[tuple[Token, ...], ...]
    words_added: int = 0
    words_removed: int = 0

    @property
    def unit(self) -> Unit:
        unit = self.new or self.old
        assert unit is not None
        return unit


# -- alignment -------------------------------------------------------------------------------------------


def align(old: list[Unit], new: list[Unit]) -> list[Item]:
    """The units of both documents in order: equal, changed (diffed by words), inserted, deleted."""
    items: list[Item] = []
    i = j = 0
    runs = matching_runs([unit.key for unit in old], [unit.key for unit in new])
    for mi, mj, size in [*runs, (len(old), len(new), 0)]:
        if i < mi or j < mj:
            items.extend(_stretch(old[i:mi], new[j:mj]))
        for k in range(size):
            unit = new[mj + k]
            items.append(
                Item("equal", old[mi + k], unit, tuple((Token("equal", c.text),) for c in unit.cells))
            )
        i, j = mi + size, mj + size
    return items


def _stretch(olds: list[Unit], news: list[Unit]) -> list[Item]:
    pairs = pair_similar([tokenize(u.text) for u in olds], [tokenize(u.text) for u in news])
    pairs = [(a, b) for a, b in pairs if (olds[a].kind == "table_row") == (news[b].kind == "table_row")]
    items: list[Item] = []
    i = j = 0
    for pi, pj in [*pairs, (len(olds), len(news))]:
        for unit in olds[i:pi]:
            items.append(_whole("delete", unit))
        for unit in news[j:pj]:
            items.append(_whole("insert", unit))
        if pi < len(olds):
            items.append(_changed(olds[pi], news[pj]))
        i, j = pi + 1, pj + 1
    return items


def _whole(op: str, unit: Unit) -> Item:
    words = sum(_words(cell.text) for cell in unit.cells)
    cells = tuple((Token("insert" if op == "insert" else "delete", c.text),) for c in unit.cells)
    return Item(op, unit if op == "delete" else None, unit if op == "insert" else None, cells,
                words if op == "insert" else 0, words if op == "delete" else 0)  # fmt: skip


def _changed(old: Unit, new: Unit) -> Item:
    cells: list[tuple[Token, ...]] = []
    added = removed = 0
    for k in range(max(len(old.cells), len(new.cells))):
        before = old.cells[k].text if k < len(old.cells) else ""
        after = new.cells[k].text if k < len(new.cells) else ""
        tokens, plus, minus = diff_words(before, after)
        cells.append(tokens)
        added, removed = added + plus, removed + minus
    same_text = old.key == new.key
    return Item("equal" if same_text else "change", old, new, tuple(cells), added, removed)


def _words(text: str) -> int:
    return sum(token[0].isalnum() for token in tokenize(text))


# -- what changed ---------------------------------------------------------------------------------------


def _label(unit: Unit | None) -> str:
    if unit is None:
        return "The beginning"
    text = " ".join(unit.text.split())
    number = _SECTION_NUMBER.match(text)
    if number:
        return f"§{number.group(1)}"
    return f"“{text[:45]}…”" if len(text) > 48 else f"“{text}”"


def _spacing_only(item: Item) -> bool:
    """Whether a changed unit differs only in its spaces (a space become a no-break space, a space
    doubled), as real pages often do: its words, formatting and links are the same."""
    old, new = item.old, item.new
    if item.op != "change" or old is None or new is None or old.kind != new.kind:
        return False
    return [cell.text.split() for cell in old.cells] == [cell.text.split() for cell in new.cells] and [
        cell.links for cell in old.cells
    ] == [cell.links for cell in new.cells]


def section_summary(items: list[Item], anchors: dict[int, str]) -> list[dict[str, str]]:
    """What changed, section by section (a section runs from a heading to the next)."""
    sections: list[tuple[Item | None, list[tuple[int, Item]]]] = [(None, [])]
    for index, item in enumerate(items):
        if item.unit.kind == "heading":
            sections.append((item, [(index, item)]))
        else:
            sections[-1][1].append((index, item))
    summary = []
    for heading, members in sections:
        changed = [(index, item) for index, item in members if item.op != "equal"]
        if not changed:
            continue
        ops = {item.op for _, item in members}
        if heading is not None and ops == {"insert"}:
            what = "added"
        elif heading is not None and ops == {"delete"}:
            what = "removed"
        elif heading is not None and [item for _, item in changed] == [heading]:
            what = (
                "retitled"
                if heading.op == "change"
                else ("heading added" if heading.op == "insert" else "heading removed")
            )
        elif all(_spacing_only(item) for _, item in changed):
            what = "spacing only"
        else:
            kinds = {item.op for _, item in changed}
            what = (
                "text added" if kinds == {"insert"} else "text removed" if kinds == {"delete"} else "reworded"
            )
        unit = heading.new or heading.old if heading else None
        summary.append({"label": _label(unit), "what": what, "anchor": anchors[changed[0][0]]})
    return summary


def link_changes(items: list[Item]) -> str:
    """How many link targets changed, were added and removed ("2 links changed")."""
    old: Counter[str] = Counter()
    new: Counter[str] = Counter()
    for item in items:
        if item.op == "equal":
            continue
        for unit, counter in ((item.old, old), (item.new, new)):
            for cell in unit.cells if unit else ():
                counter.update(cell.links)
    added, removed = sum((new - old).values()), sum((old - new).values())
    changed = min(added, removed)
    parts = []
    for count, what in ((changed, "changed"), (added - changed, "added"), (removed - changed, "removed")):
        if count:
            parts.append(f"{count} link{'' if count == 1 else 's'} {what}")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Account:
    """What changed from one version to the next, for people: by section, links, and an excerpt.

    `sections` are (label, what) pairs ("§4A", "added"); `excerpt` is pieces of text, each
    (op, text) with op `equal`, `insert`, `delete`, or `gap` for text left out."""

    sections: tuple[tuple[str, str], ...] = ()
    links: str = ""
    excerpt: tuple[tuple[str, str], ...] = field(default=())

    @property
    def summary(self) -> str:
        """ "§4A added; §5 reworded; 2 links changed" ("" when nothing changed)."""
        return "; ".join(
            [*(f"{label} {what}" for label, what in self.sections), *([self.links] if self.links else [])]
        )

    @property
    def excerpt_text(self) -> str:
        """The excerpt in plain text, as `git diff --word-diff` marks it: `[-removed-]{+added+}`."""
        marks = {"equal": "{}", "insert": "{{+{}+}}", "delete": "[-{}-]", "gap": " … "}
        text = "".join(marks[op].format(piece) if op != "gap" else marks[op] for op, piece in self.excerpt)
        return " ".join(text.split())

    def to_json(self) -> str:
        return json.dumps({"sections": self.sections, "links": self.links, "excerpt": self.excerpt})

    @classmethod
    def from_json(cls, text: str | None) -> Account | None:
        """The account `to_json` wrote, or None for None or a text that is not one."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                tuple((str(a), str(b)) for a, b in data["sections"]),
                str(data["links"]),
                tuple((str(a), str(b)) for a, b in data["excerpt"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def account(old_markdown: str, new_markdown: str) -> Account:
    """What changed from `old_markdown` to `new_markdown`, by section, with an excerpt.

    Only the sections that differ are parsed: the texts are cut at the last heading before their
    first different paragraph and at the first heading after their last one, the same places in
    both, so every section summed up is whole (parsing 50 KB takes 10 ms or more; a run or the
    viewer's index sums up thousands of changes)."""
    old, new = _changed_sections(old_markdown, new_markdown)
    return account_of(align(units(old), units(new)))


def _changed_sections(old: str, new: str) -> tuple[str, str]:
    """The two texts without the whole sections they share at their start and at their end."""
    olds, news = old.split("\n\n"), new.split("\n\n")
    size = min(len(olds), len(news))
    same_start = next((k for k in range(size) if olds[k] != news[k]), size)
    same_end = next((k for k in range(size - same_start) if olds[-1 - k] != news[-1 - k]), size - same_start)
    start = next((k for k in range(same_start - 1, -1, -1) if _is_heading(olds[k])), 0)
    # The first heading of the shared end: the paragraphs from it on are left out.
    end = next((k for k in range(same_end - 1, -1, -1) if _is_heading(olds[-1 - k])), -1) + 1
    return "\n\n".join(olds[start : len(olds) - end]), "\n\n".join(news[start : len(news) - end])


_HEADING = re.compile(r"\s{0,3}#{1,6}(?:[ \t]|$)|[^\n]+\n[ \t]{0,3}(?:=+|-+)[ \t]*$")


def _is_heading(paragraph: str) -> bool:
    """Whether a paragraph (a text between blank lines) is a heading, ATX or setext."""
    return bool(_HEADING.match(paragraph.lstrip("\n")))


def account_of(items: list[Item]) -> Account:
    """`account` of two documents already aligned (`align`)."""
    anchors = {index: "" for index, item in enumerate(items) if item.op != "equal"}
    sections = tuple((part["label"], part["what"]) for part in section_summary(items, anchors))
    excerpt = tuple(_excerpt(items))
    if all(op in ("equal", "gap") for op, _ in excerpt):  # spaces changed alone: no word to quote
        excerpt = ()
    return Account(sections, link_changes(items), excerpt)


def _excerpt(items: list[Item]) -> list[tuple[str, str]]:
    pieces: list[tuple[str, str]] = []
    size = 0

    def gap() -> None:
        if not pieces or pieces[-1][0] != "gap":
            pieces.append(("gap", ""))

    for item in items:
        if item.op == "equal":
            continue
        if pieces:
            gap()
        if item.op in ("insert", "delete"):
            words = item.unit.text.split()
            kept = " ".join(words[:EXCERPT_WHOLE_WORDS])
            pieces.append((item.op, kept))
            if len(words) > EXCERPT_WHOLE_WORDS:
                gap()
            size += len(kept)
        else:
            for cell in item.cells:
                # A change of spaces alone (a no-break space become a space) is no word changed.
                changed = [k for k, token in enumerate(cell) if token.op != "equal" and token.text.strip()]
                if not changed:
                    continue
                first, last = max(0, changed[0] - 1), min(len(cell) - 1, changed[-1] + 1)
                while first > 0 and not cell[first].text.strip():  # context: words, not spaces
                    first -= 1
                while last < len(cell) - 1 and not cell[last].text.strip():
                    last += 1
                for k in range(first, last + 1):
                    op, text = cell[k].op, cell[k].text
                    if op == "equal":
                        text, cut = _context(text, first=k < changed[0], last=k > changed[-1])
                        if cut and k < changed[0]:
                            gap()
                        pieces.append((op, text))
                        if cut and k > changed[-1]:
                            gap()
                    elif text.strip():
                        pieces.append((op, text))
                    elif op == "insert":
                        pieces.append(("equal", text))
                    size += len(text)
        if size > EXCERPT_CHARS:
            break
    return pieces


def _context(text: str, *, first: bool, last: bool) -> tuple[str, bool]:
    """Unchanged text around a change, shortened to `EXCERPT_CONTEXT` words where it is the
    text before the first change (its end kept), after the last (its start kept), or between two
    (both ends kept); and whether some was left out."""
    words = text.split(" ")
    if len(words) <= EXCERPT_CONTEXT + 1 or (
        not first and not last and len(words) <= 2 * EXCERPT_CONTEXT + 1
    ):
        return text, False
    if first:
        return " " + " ".join(words[-EXCERPT_CONTEXT - 1 :]), True
    if last:
        return " ".join(words[: EXCERPT_CONTEXT + 1]) + " ", True
    return " ".join(words[: EXCERPT_CONTEXT + 1]) + " … " + " ".join(words[-EXCERPT_CONTEXT - 1 :]), False
