"""What running OTA's JavaScript filters in Chromium costs, and whether it changes any Markdown.

For every HTML snapshot of a compatibility corpus (../shared/compat-corpus), a no-op JavaScript
filter is applied through `ota.fetch.jsfilters`, so the figures are the fixed cost of the round trip
(load the page in a tab, import the module, call the filter, serialise the DOM):

- per-page cost (median, 90th percentile) and pages per second, for each mode: a new browser
  context per page (`apply_js_filters`) or reused tabs (`JsFilterTabs`), at concurrency 1 and 4;
- with `--check`, fidelity: the Markdown extracted from the filtered page must be the one extracted
  from the snapshot itself, byte for byte (errors included); differing documents are listed.

    python bench/jsfilters.py --corpus ../shared/compat-corpus [--check] [--limit N] [--rounds 1]
        [--concurrency 1,4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ota.declarations import STANDARD_TERMS_TYPES, FilterRef, SourceDocument, parse_service
from ota.declarations.service_filters import load_service_filters
from ota.errors import OtaError
from ota.extract import extract
from ota.extract.filters import Filter
from ota.fetch.browser import Browser
from ota.fetch.jsfilters import JsFilterTabs, apply_js_filters

HERE = Path(__file__).resolve().parent
NOOP_MODULE = "export function noop(document, context) {}"
NOOP = (FilterRef("noop"),)


@dataclass(frozen=True)
class Snapshot:
    """One HTML source document of a corpus case."""

    key: str
    html: bytes
    document: SourceDocument
    filters: dict[str, Filter] | None


def corpus_snapshots(corpus: Path, filters_dir: Path) -> list[Snapshot]:
    """Every HTML source document of the corpus, with its declaration and Python service filters."""
    snapshots = []
    for folder in sorted(p.parent for p in corpus.glob("*/case.json")):
        meta = json.loads((folder / "case.json").read_text("utf-8"))
        if meta["mime"] != "text/html":
            continue
        data = json.loads((folder / "declaration.json").read_text("utf-8"))
        types = frozenset(STANDARD_TERMS_TYPES) | frozenset(data["terms"])
        service = parse_service(meta["service"], data, path=folder / "declaration.json", terms_types=types)
        terms = service.terms[meta["terms_type"]]
        path = filters_dir / f"{meta['service']}.filters.py"
        filters = load_service_filters(path) if path.is_file() else None
        for index, (document, name) in enumerate(zip(terms.documents, meta["snapshot_files"], strict=True)):
            html = (folder / "snapshots" / name).read_bytes()
            snapshots.append(Snapshot(f"{folder.name}#{index}", html, document, filters))
    return snapshots


def markdown(content: bytes, snapshot: Snapshot) -> str:
    """The Markdown ota extracts, or the error it raises, as text to compare."""
    try:
        return extract(content, "text/html", snapshot.document, snapshot.filters)
    except OtaError as error:
        return f"{type(error).__name__}: {error}"


Apply = Callable[[Snapshot], Awaitable[str]]


async def timed_run(snapshots: list[Snapshot], apply: Apply, concurrency: int) -> tuple[float, list[float]]:
    """(wall seconds, seconds of each page) to filter every snapshot, `concurrency` at a time."""
    slots = asyncio.Semaphore(concurrency)
    costs: list[float] = []

    async def one(snapshot: Snapshot) -> None:
        async with slots:
            started = time.perf_counter()
            await apply(snapshot)
            costs.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(snapshot) for snapshot in snapshots))
    return time.perf_counter() - started, costs


def apply_with(browser: Browser, tabs: JsFilterTabs | None) -> Apply:
    async def apply(snapshot: Snapshot) -> str:
        html = snapshot.html.decode("utf-8", errors="replace")
        document = snapshot.document
        if tabs is None:
            return await apply_js_filters(
                browser,
                html,
                url=document.location,
                module_source=NOOP_MODULE,
                module_name="noop.filters.js",
                filters=NOOP,
                document=document,
            )
        return await tabs.apply(
            html,
            url=document.location,
            module_source=NOOP_MODULE,
            module_name="noop.filters.js",
            filters=NOOP,
            document=document,
        )

    return apply


async def check(snapshots: list[Snapshot], browser: Browser) -> list[str]:
    """Keys of the snapshots whose Markdown changes once through the browser."""
    tabs = JsFilterTabs(browser, size=4)
    apply = apply_with(browser, tabs)
    differing = []
    try:
        for snapshot in snapshots:
            filtered = await apply(snapshot)
            if markdown(filtered.encode("utf-8"), snapshot) != markdown(snapshot.html, snapshot):
                differing.append(snapshot.key)
    finally:
        await tabs.aclose()
    return differing


async def bench(snapshots: list[Snapshot], rounds: int, levels: list[int], fidelity: bool) -> None:
    browser = Browser(user_agent="ota-bench", accept_language="en")
    try:
        await browser.started()
        megabytes = sum(len(s.html) for s in snapshots) / 1e6
        print(f"{len(snapshots)} HTML snapshots, {megabytes:.1f} MB; no-op filter; best of {rounds} rounds")
        print(f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.1f}")
        for mode in ("new context per page", "reused tabs"):
            for concurrency in levels:
                best: tuple[float, list[float]] | None = None
                for _ in range(rounds):
                    tabs = JsFilterTabs(browser, size=concurrency) if mode == "reused tabs" else None
                    try:
                        result = await timed_run(snapshots, apply_with(browser, tabs), concurrency)
                    finally:
                        if tabs is not None:
                            await tabs.aclose()
                    if best is None or result[0] < best[0]:
                        best = result
                assert best is not None
                wall, costs = best
                deciles = statistics.quantiles(costs, n=10)
                print(
                    f"  {mode:22} concurrency {concurrency}: {len(costs) / wall:5.1f} pages/s, "
                    f"per page median {statistics.median(costs) * 1000:4.0f} ms, "
                    f"p90 {deciles[-1] * 1000:4.0f} ms, mean {statistics.mean(costs) * 1000:4.0f} ms"
                )
        print(f"load average after: {os.getloadavg()[0]:.1f} (other processes slow every figure down)")
        if fidelity:
            differing = await check(snapshots, browser)
            same = len(snapshots) - len(differing)
            print(f"fidelity: {same}/{len(snapshots)} documents give the same Markdown (or error)")
            for key in differing:
                print(f"  differs: {key}")
    finally:
        await browser.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="corpus folder (one folder per case)")
    parser.add_argument(
        "--filters", type=Path, default=HERE / "compat-filters", help="Python service filters"
    )
    parser.add_argument("--limit", type=int, help="only the first N snapshots")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each mode; the best is printed")
    parser.add_argument("--concurrency", default="1,4", help="pages filtered at once, comma-separated")
    parser.add_argument("--check", action="store_true", help="also compare the Markdown, with and without")
    args = parser.parse_args(argv)
    snapshots = corpus_snapshots(args.corpus, args.filters)[: args.limit]
    if not snapshots:
        print(f"no HTML snapshots in {args.corpus}", file=sys.stderr)
        return 2
    levels = [int(level) for level in args.concurrency.split(",")]
    asyncio.run(bench(snapshots, args.rounds, levels, args.check))
    return 0


if __name__ == "__main__":
    sys.exit(main())
