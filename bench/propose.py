"""How close `ota new`'s proposals come to the declarations people wrote, on real pages.

For each single-page HTML case of a compatibility corpus (../shared/compat-corpus: real snapshots,
the declaration in force, and the version Open Terms Archive recorded), this proposes a
declaration for the snapshot as `ota new` does (readability, then a durable selector and
`remove` candidates), extracts the terms with it, and compares the words of that Markdown with the
recorded version's:

- recall: the share of the recorded version's words that the proposal's text holds (did it get
  all the terms?);
- precision: the share of the proposal's words that are in the recorded version (did it bring
  menus, banners, footers along?).

It prints, over the latest version of each terms: the median recall and precision, how many
proposals reach both 0.95 recall and 0.90 precision, how many select the same as the human
declaration, and the time per page.

    python bench/propose.py --corpus ../shared/compat-corpus [--json report.json] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from ota.contrib.propose import find_terms
from ota.declarations import SourceDocument
from ota.errors import OtaError
from ota.extract import extract

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> Counter[str]:
    return Counter(word.casefold() for word in _WORD.findall(text))


def overlap(reference: Counter[str], other: Counter[str]) -> float:
    """The share of `reference`'s words (with repetitions) found in `other`."""
    total = sum(reference.values())
    return sum((reference & other).values()) / total if total else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--json", type=Path, help="write the figures and each case's result here")
    parser.add_argument("--verbose", action="store_true", help="print each case")
    args = parser.parse_args()
    results = []
    seconds = 0.0
    for folder in sorted(path for path in args.corpus.iterdir() if (path / "case.json").is_file()):
        meta = json.loads((folder / "case.json").read_text("utf-8"))
        if meta["multiple_source_documents"] or meta["mime"] != "text/html" or meta["selection_rank"] != 0:
            continue
        html = (folder / "snapshots" / meta["snapshot_files"][0]).read_text("utf-8", errors="replace")
        location = meta["source_document_locations"][0]
        declared = json.loads((folder / "declaration.json").read_text("utf-8"))["terms"][meta["terms_type"]]
        started = time.perf_counter()
        select, remove = find_terms(html, location)
        try:
            document = SourceDocument(location, select=(select,), remove=tuple(remove))
            markdown = extract(html.encode("utf-8"), "text/html", document)
        except OtaError as error:
            markdown = ""
            print(f"{folder.name}: {error}", file=sys.stderr)
        seconds += time.perf_counter() - started
        expected = words((folder / "expected.md").read_text("utf-8"))
        got = words(markdown)
        result = {
            "case": folder.name,
            "declared": declared.get("select"),
            "proposed": select,
            "remove": remove,
            "recall": round(overlap(expected, got), 4),
            "precision": round(overlap(got, expected), 4),
        }
        results.append(result)
        if args.verbose:
            print(
                f"{result['recall']:.2f} {result['precision']:.2f}  {folder.name}: "
                f"proposed {select!r} {remove or ''}, declared {result['declared']!r}"
            )
    if not results:
        print("no single-page HTML case in the corpus", file=sys.stderr)
        return 1
    recalls = [r["recall"] for r in results]
    precisions = [r["precision"] for r in results]
    good = sum(1 for r in results if r["recall"] >= 0.95 and r["precision"] >= 0.90)
    same = sum(1 for r in results if r["declared"] == r["proposed"])
    figures = {
        "cases": len(results),
        "median_recall": statistics.median(recalls),
        "median_precision": statistics.median(precisions),
        "recall_0.95_and_precision_0.90": good,
        "same_select_as_declared": same,
        "ms_per_page": round(1000 * seconds / len(results), 1),
    }
    print(
        f"{len(results)} pages: median recall {figures['median_recall']:.3f}, median precision "
        f"{figures['median_precision']:.3f}; {good} with recall ≥ 0.95 and precision ≥ 0.90; "
        f"{same} select as the declaration does; {figures['ms_per_page']} ms per page"
    )
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "cases": results}, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
