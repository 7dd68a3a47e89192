"""Time ota.diff on real successive versions, synthetic 50 KB versions and pathological inputs.

Prints the median and the 95th percentile of the run times of `diff_texts` and `word_counts`:

- corpus: every pair of successive versions of the same terms in the compatibility corpus
  (cases sharing a `COLLECTION__SERVICE__TERMS-TYPE__` prefix, ordered by `version_date`);
- synthetic: two ~50 KB versions that differ in a few paragraphs, and a first version (empty old);
- a 2,800-token table row with 25 cells changed (repetitive tokens: difflib's worst case);
- pathological: unrelated 1 MB texts (many paragraphs, then one paragraph each), a 1 MB paragraph
  with 20 words changed, and 50,000 one-word paragraphs against a few edits of themselves and
  against unrelated ones.

`--engines` also runs the corpus and the pathological cases with other LCS engines put in place
of rapidfuzz (stdlib difflib with and without autojunk, and fast-diff-match-patch when installed),
with the number of words they mark as changed (fewer is a tighter diff), and each engine alone on
whole documents as one token sequence (stopped after two minutes).

    python bench/diff.py [--corpus ../shared/compat-corpus] [--runs 20] [--engines]
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import ota.diff.runs
from ota.diff import diff_texts, word_counts

HERE = Path(__file__).resolve().parent
Runs = Callable[[Sequence[str], Sequence[str], int, int], list[tuple[int, int, int]]]


def corpus_pairs(corpus: Path) -> list[tuple[str, str, str]]:
    """(name, older, newer) for successive versions of the same terms."""
    groups: dict[str, list[tuple[str, Path]]] = {}
    for case in sorted(corpus.iterdir()):
        if (case / "case.json").is_file():
            meta = json.loads((case / "case.json").read_text("utf-8"))
            groups.setdefault(case.name.rsplit("__", 1)[0], []).append((meta["version_date"], case))
    pairs = []
    for key, cases in sorted(groups.items()):
        cases.sort()
        for (_, older), (_, newer) in itertools.pairwise(cases):
            text = (older / "expected.md").read_text("utf-8"), (newer / "expected.md").read_text("utf-8")
            pairs.append((key, *text))
    return pairs


def words(rng: random.Random, count: int, vocabulary: int = 3000) -> list[str]:
    return [f"w{rng.randrange(vocabulary)}" for _ in range(count)]


def synthetic_document(rng: random.Random, size: int) -> str:
    """Markdown shaped like a turndown version: headings, paragraphs, bullet lists."""
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        roll = rng.random()
        if roll < 0.1:
            title = " ".join(words(rng, 4))
            parts.append(f"{title}\n{'-' * len(title)}")
        elif roll < 0.3:
            parts.append("\n".join("*   " + " ".join(words(rng, rng.randint(3, 15))) for _ in range(5)))
        else:
            parts.append(" ".join(words(rng, rng.randint(20, 120))) + ".")
    return "\n\n".join(parts)


def few_changes(rng: random.Random, text: str) -> str:
    """Change a word in three paragraphs, insert one, delete one, move one."""
    paragraphs = text.split("\n\n")
    for index in rng.sample(range(len(paragraphs)), 3):
        tokens = paragraphs[index].split(" ")
        tokens[rng.randrange(len(tokens))] = "changed"
        paragraphs[index] = " ".join(tokens)
    paragraphs.insert(rng.randrange(len(paragraphs)), " ".join(words(rng, 60)) + ".")
    del paragraphs[rng.randrange(len(paragraphs))]
    paragraphs.insert(rng.randrange(len(paragraphs)), paragraphs.pop(rng.randrange(len(paragraphs))))
    return "\n\n".join(paragraphs)


def synthetic_cases() -> list[tuple[str, str, str]]:
    rng = random.Random(2024)
    doc = synthetic_document(rng, 50_000)
    big_a, big_b = synthetic_document(rng, 1_000_000), synthetic_document(random.Random(7), 1_000_000)
    one_word = [
        rng.choice(("data", "terms", "user", "service", "policy")) + str(rng.randrange(20000))
        for _ in range(50_000)
    ]
    edited = list(one_word)
    for _ in range(20):
        edited[rng.randrange(len(edited))] = "edited"
    other = [f"x{rng.randrange(20000)}" for _ in range(50_000)]
    # One table row of 2,800 tokens from a few cell values: real versions have such rows (Buffer's
    # terms are a table), and repetitive tokens are the worst case of difflib's matcher.
    cells = [rng.choice(("Yes", "No", "N/A", "-", "30 days")) for _ in range(700)]
    row = "| " + " | ".join(cells) + " |"
    for _ in range(25):
        cells[rng.randrange(len(cells))] = rng.choice(("Yes", "No"))
    edited_row = "| " + " | ".join(cells) + " |"
    one_paragraph = big_a.replace("\n", " ")
    paragraph_words = one_paragraph.split(" ")
    for _ in range(20):
        paragraph_words[rng.randrange(len(paragraph_words))] = "changed"
    edited_paragraph = " ".join(paragraph_words)
    return [
        ("synthetic 50 KB, few changes", doc, few_changes(rng, doc)),
        ("synthetic 50 KB, first version", "", doc),
        ("one 2,800-token table row, 25 cells changed", row, edited_row),
        ("1 MB vs unrelated 1 MB, paragraphs", big_a, big_b),
        ("1 MB vs unrelated 1 MB, one paragraph each", one_paragraph, big_b.replace("\n", " ")),
        ("1 MB in one paragraph, 20 words changed", one_paragraph, edited_paragraph),
        ("50,000 one-word paragraphs, 20 edited", "\n\n".join(one_word), "\n\n".join(edited)),
        ("50,000 one-word paragraphs vs unrelated", "\n\n".join(one_word), "\n\n".join(other)),
    ]


def timings(function: Callable[[], object], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run: on a shared machine, CPU time is the code's own cost."""
    result = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        result.append((time.perf_counter() - wall, time.process_time() - cpu))
    return result


def summary(samples: list[tuple[float, float]]) -> str:
    def ms(values: list[float], share: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1e3

    walls, cpus = [wall for wall, _ in samples], [cpu for _, cpu in samples]
    return (
        f"wall median {ms(walls, 0.5):8.2f} ms  p95 {ms(walls, 0.95):8.2f} ms   "
        f"CPU median {ms(cpus, 0.5):8.2f} ms  p95 {ms(cpus, 0.95):8.2f} ms"
    )


def bench(pairs: list[tuple[str, str, str]], cases: list[tuple[str, str, str]], runs: int) -> None:
    if pairs:
        sizes = sorted(len(old) + len(new) for _, old, new in pairs)
        print(
            f"corpus: {len(pairs)} pairs of successive versions, {sizes[len(sizes) // 2] // 2:,} chars median"
        )
        diffs = [t for _, old, new in pairs for t in timings(lambda o=old, n=new: diff_texts(o, n), runs)]
        counts = [t for _, old, new in pairs for t in timings(lambda o=old, n=new: word_counts(o, n), runs)]
        print(f"  diff_texts   {summary(diffs)}   ({len(diffs)} runs)")
        print(f"  word_counts  {summary(counts)}")
        by_cost = sorted(
            pairs, key=lambda pair: -min(cpu for _, cpu in timings(lambda: diff_texts(*pair[1:]), 3))
        )
        for name, old, new in by_cost[:3]:
            d = diff_texts(old, new)
            print(
                f"  slow pair: {name}, {len(old):,} → {len(new):,} chars,"
                f" +{d.words_added} −{d.words_removed} words"
            )
            print(f"    diff_texts {summary(timings(lambda o=old, n=new: diff_texts(o, n), runs))}")
    for name, old, new in cases:
        n = runs if len(old) + len(new) < 200_000 else max(3, runs // 10)
        d = diff_texts(old, new)
        print(f"{name}: +{d.words_added} −{d.words_removed} words, {d.blocks_changed} blocks changed")
        print(f"  diff_texts   {summary(timings(lambda o=old, w=new: diff_texts(o, w), n))}")
        print(f"  word_counts  {summary(timings(lambda o=old, w=new: word_counts(o, w), n))}")


# -- other LCS engines, for --engines ------------------------------------------------------------


def difflib_runs(autojunk: bool) -> Runs:
    def runs(a: Sequence[str], b: Sequence[str], i0: int, j0: int) -> list[tuple[int, int, int]]:
        blocks = difflib.SequenceMatcher(None, a, b, autojunk=autojunk).get_matching_blocks()
        return [(i0 + i, j0 + j, size) for i, j, size in blocks if size]

    return runs


def fast_dmp_runs() -> Runs | None:
    try:
        import fast_diff_match_patch  # optional, for comparison only
    except ImportError:
        return None

    def char(x: int) -> str:  # one character per element, skipping the surrogates
        return chr(x + 1 if x + 1 < 0xD800 else x + 0x801)

    def runs(a: Sequence[str], b: Sequence[str], i0: int, j0: int) -> list[tuple[int, int, int]]:
        ids: dict[str, int] = {}
        left = "".join(char(ids.setdefault(x, len(ids))) for x in a)
        right = "".join(char(ids.setdefault(x, len(ids))) for x in b)
        result, i, j = [], i0, j0
        for op, length in fast_diff_match_patch.diff(
            left, right, timelimit=1, cleanup="No", counts_only=True
        ):
            if op == "=":
                result.append((i, j, length))
            i += length if op != "+" else 0
            j += length if op != "-" else 0
        return result

    return runs


def compare_engines(pairs: list[tuple[str, str, str]], cases: list[tuple[str, str, str]]) -> None:
    engines: dict[str, Runs | None] = {
        "rapidfuzz Indel (chosen)": ota.diff.runs._lcs_runs,
        "difflib, autojunk": difflib_runs(True),
        "difflib, no autojunk": difflib_runs(False),
        "fast-diff-match-patch": fast_dmp_runs(),
    }
    original = ota.diff.runs._lcs_runs
    try:
        for name, engine in engines.items():
            if engine is None:
                print(f"{name}: not installed")
                continue
            ota.diff.runs._lcs_runs = engine
            seconds = [t for _, old, new in pairs for t in timings(lambda o=old, n=new: diff_texts(o, n), 3)]
            changed = sum(sum(word_counts(old, new)) for _, old, new in pairs)
            print(f"{name}\n  corpus: {summary(seconds)}   words marked changed: {changed}")
            for case, old, new in cases[2:]:
                print(f"  {case}: {summary(timings(lambda o=old, n=new: diff_texts(o, n), 1))}")
            whole_documents(engine, pairs)
    finally:
        ota.diff.runs._lcs_runs = original


def whole_documents(engine: Runs, pairs: list[tuple[str, str, str]], budget: float = 120.0) -> None:
    """The engine alone on each pair's whole token sequences (no blocks): what ota.diff avoids."""
    cpus, edits, started = [], 0, time.process_time()
    for _, old, new in pairs:
        a, b = ota.diff.tokenize(old), ota.diff.tokenize(new)
        cpu = time.process_time()
        same = sum(size for _, _, size in engine(a, b, 0, 0))
        cpus.append(time.process_time() - cpu)
        edits += len(a) + len(b) - 2 * same
        if time.process_time() - started > budget:
            break
    ordered = [cpu * 1e3 for cpu in sorted(cpus)]
    median, p95 = ordered[len(ordered) // 2], ordered[round(0.95 * (len(ordered) - 1))]
    print(
        f"  whole documents as one sequence ({len(cpus)} of {len(pairs)} pairs, {budget:.0f} s at most):"
        f" CPU median {median:.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.0f} ms; tokens changed {edits}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=HERE.parents[1] / "shared" / "compat-corpus")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--engines", action="store_true", help="compare LCS engines too")
    args = parser.parse_args()
    pairs = corpus_pairs(args.corpus) if args.corpus.is_dir() else []
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times grow with it)")
    if not pairs:
        print(f"no corpus at {args.corpus}: synthetic cases only")
    cases = synthetic_cases()
    bench(pairs, cases, args.runs)
    if args.engines:
        compare_engines(pairs, cases)


if __name__ == "__main__":
    main()
