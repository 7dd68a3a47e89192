"""Measure ota.significance against the labelled set, its speed on real terms, and a history's shares.

Prints, for `tests/significance/CASE/{old.md,new.md,label}` (changes of Open Terms Archive's public
genai-eu collection, labelled by reading their diffs with the README's rules):

- precision and recall per class, the confusion matrix (labels in rows, ota's classes in
  columns) and the agreement; the cases ota classes otherwise, with the rules that fired;
- the median and the 95th percentile of the time (CPU time of this process, so that other
  processes on a loaded machine do not count) to classify one version, over the set's versions
  of 50–200 KB, and over all of them;

and with `--history REPOSITORY` (a versions repository, read with git, never written), the share of
each class over every "Record new changes of …" commit of its whole history, how many of those
changes restore an earlier version of their terms (recurrent), and the median time per version.

    python bench/significance.py [--cases tests/significance] [--history ../real/genai-eu-versions]

Exits 1 when a change labelled substantive is classed cosmetic (the costly mistake).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ota.significance import LEVELS, classify

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=Path, default=HERE.parent / "tests" / "significance")
    parser.add_argument("--history", type=Path, help="a versions repository: shares of its whole history")
    args = parser.parse_args()
    failed = labelled(args.cases)
    if args.history is not None:
        history(args.history)
    return 1 if failed else 0


def labelled(cases: Path) -> bool:
    confusion: Counter[tuple[str, str]] = Counter()
    times_mid: list[float] = []
    times_all: list[float] = []
    wrong: list[str] = []
    for case in sorted(p for p in cases.iterdir() if (p / "label").is_file()):
        old = (case / "old.md").read_text(encoding="utf-8")
        new = (case / "new.md").read_text(encoding="utf-8")
        label = (case / "label").read_text(encoding="utf-8").strip()
        start = time.process_time()
        result = classify(old, new)
        elapsed = (time.process_time() - start) * 1000
        times_all.append(elapsed)
        if 50_000 <= len(new.encode()) <= 200_000:
            times_mid.append(elapsed)
        confusion[(label, result.significance)] += 1
        if label != result.significance:
            rules = ", ".join(f"{r.rule}×{r.count}" for r in result.reasons)
            wrong.append(f"  {case.name}: labelled {label}, classed {result.significance} ({rules})")
    total = sum(confusion.values())
    print(f"labelled set: {total} cases in {cases}")
    print(f"{'':>12} " + " ".join(f"{level:>11}" for level in LEVELS) + "   (rows: label, columns: ota)")
    for label in LEVELS:
        print(f"{label:>12} " + " ".join(f"{confusion[(label, got)]:>11}" for got in LEVELS))
    for level in LEVELS:
        classed = sum(confusion[(label, level)] for label in LEVELS)
        labelled_as = sum(confusion[(level, got)] for got in LEVELS)
        precision = confusion[(level, level)] / classed if classed else float("nan")
        recall = confusion[(level, level)] / labelled_as if labelled_as else float("nan")
        print(
            f"{level:>12}: precision {precision:.0%} ({classed} classed), "
            f"recall {recall:.0%} ({labelled_as} labelled)"
        )
    agreement = sum(confusion[(level, level)] for level in LEVELS) / total if total else 0.0
    costly = confusion[("substantive", "cosmetic")]
    print(f"agreement {agreement:.0%}; substantive classed cosmetic: {costly}")
    if wrong:
        print("disagreements:\n" + "\n".join(wrong))
    print(_times("time per version, 50-200 KB", times_mid))
    print(_times("time per version, all", times_all))
    return costly > 0


def history(repository: Path) -> None:
    """Classify every change of a versions repository's history, in order, and print the shares."""
    log = _git(repository, "log", "--reverse", "--format=%x01%H%x00%s", "--name-only")
    counts: Counter[str] = Counter()
    recurrent = minor = 0
    times: list[float] = []
    times_mid: list[float] = []
    seen: dict[str, list[str]] = {}  # path → blob ids of its versions so far
    for chunk in log.split("\x01")[1:]:
        head, *files = chunk.strip("\n").split("\n")
        commit, subject = head.split("\x00")
        paths = [f for f in files if f.endswith(".md") and "/" in f]
        if len(paths) != 1:
            continue
        path = paths[0]
        blob = _git(repository, "rev-parse", f"{commit}:{path}").strip()
        earlier = seen.setdefault(path, [])
        if subject.startswith("Record new changes") and earlier:
            old = _git(repository, "cat-file", "blob", earlier[-1])
            new = _git(repository, "cat-file", "blob", blob)
            start = time.process_time()
            result = classify(old, new)
            times.append((time.process_time() - start) * 1000)
            if 50_000 <= len(new.encode()) <= 200_000:
                times_mid.append(times[-1])
            counts[result.significance] += 1
            minor += result.minor
            recurrent += blob in earlier[:-1]
        earlier.append(blob)
    total = sum(counts.values())
    print(f"history of {repository}: {total} changes")
    for level in LEVELS:
        print(f"{level:>12}: {counts[level]:>5} ({counts[level] / max(1, total):.1%})")
    print(f"{'minor':>12}: {minor:>5} ({minor / max(1, total):.1%}, substantive changes of a few words)")
    print(f"{'recurrent':>12}: {recurrent:>5} ({recurrent / max(1, total):.1%}, restore an earlier version)")
    print(_times("time per version, 50-200 KB", times_mid))
    print(_times("time per version, whole history", times))


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repository), *args], capture_output=True, check=True, text=True, encoding="utf-8"
    ).stdout


def _times(what: str, times: list[float]) -> str:
    if not times:
        return f"{what}: no version"
    p95 = sorted(times)[max(0, math.ceil(0.95 * len(times)) - 1)]
    return f"{what}: median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms ({len(times)} versions)"


if __name__ == "__main__":
    sys.exit(main())
