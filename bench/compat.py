"""Run ota's extraction on every case of a compatibility corpus and print how close it is to OTA.

A corpus has one folder per case (`declaration.json`, `case.json`, `snapshots/`, `expected.md`):
see ../shared/compat-corpus/README.md. For each case this writes OUTPUTS/CASE_ID.md (or the
error) and prints:

- exact-match rate and mean line similarity (as the corpus' score.py computes them), overall, on
  HTML cases, by engine version, and separately for cases with service filters and uncertain
  declarations;
- failures (extraction errors);
- throughput: cases per second, MB of snapshots per second, wall time, peak memory (RSS).

PDFs are read by pdf.js in Chromium, as `ota track` reads them (`ota.fetch.pdftext`).

Service filters: a case's own `filters.js` (OTA's JavaScript filters, as the engine ran them) is
used when the case folder has one, else `SERVICE_ID.filters.js` from `--js-filters DIR`, run in
Chromium as `ota track` runs them; otherwise `--filters DIR` gives Python equivalents as
`SERVICE_ID.filters.py` (default: bench/compat-filters; the corpus ships no `filters.js`).

    python bench/compat.py --corpus ../shared/compat-corpus --outputs /tmp/compat-out [--json report.json]
                           [--js-filters DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import resource
import sys
import time
from pathlib import Path

from ota.declarations import STANDARD_TERMS_TYPES, parse_service
from ota.declarations.collection import FilterFiles, javascript_filter_names
from ota.declarations.service_filters import load_service_filters
from ota.errors import OtaError
from ota.extract import PDF_MIME_TYPE, extract_terms
from ota.fetch.browser import Browser
from ota.fetch.jsfilters import JsFilterTabs
from ota.fetch.jsprefilter import JavaScriptPrefilter
from ota.fetch.pdftext import PdfTextPrefilter, PdfTextReader

HERE = Path(__file__).resolve().parent


def line_similarity(expected: str, actual: str) -> float:
    """score.py's measure: difflib ratio over lines (1.0 when both are empty)."""
    a, b = expected.splitlines(), actual.splitlines()
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


async def run_case(
    folder: Path, filters_dir: Path | None, js_dir: Path | None, browser: JavaScript
) -> tuple[str, str | None, int, bool]:
    """(Markdown or "", error or None, snapshot bytes, whether JavaScript filters ran) for one case."""
    meta = json.loads((folder / "case.json").read_text("utf-8"))
    data = json.loads((folder / "declaration.json").read_text("utf-8"))
    service_id = meta["service"]
    types = frozenset(STANDARD_TERMS_TYPES) | frozenset(data["terms"])
    size = 0
    javascript = folder / "filters.js"
    if not javascript.is_file() and js_dir is not None:
        javascript = js_dir / f"{service_id}.filters.js"
    python = filters_dir / f"{service_id}.filters.py" if filters_dir is not None else None
    try:
        service = parse_service(service_id, data, path=folder / "declaration.json", terms_types=types)
        terms = service.terms[meta["terms_type"]]
        sources = []
        for document, name, mime in zip(
            terms.documents, meta["snapshot_files"], meta["snapshot_mimes"], strict=True
        ):
            content = (folder / "snapshots" / name).read_bytes()
            size += len(content)
            sources.append((document, content, PDF_MIME_TYPE if mime == PDF_MIME_TYPE else "text/html"))
        names = javascript_filter_names(javascript) if javascript.is_file() else frozenset()
        if any(ref.name in names for document in terms.documents for ref in document.filters):
            files = FilterFiles(javascript=javascript, javascript_names=names)
            sources = await browser.prefilter()(sources, files)
            return extract_terms(sources), None, size, True
        if any(mime == PDF_MIME_TYPE for _, _, mime in sources):  # read by pdf.js, as ota track does
            sources = await browser.pdf_prefilter()(sources, FilterFiles())
        filters = load_service_filters(python) if python is not None and python.is_file() else None
        return extract_terms(sources, filters), None, size, False
    except (OtaError, KeyError, ValueError) as error:
        return "", f"{type(error).__name__}: {error}", size, False


class JavaScript:
    """The browser for cases with JavaScript filters or PDFs, started on the first one."""

    def __init__(self) -> None:
        self._browser: Browser | None = None
        self._tabs: JsFilterTabs | None = None
        self._pdfs: PdfTextReader | None = None

    def _started(self) -> Browser:
        if self._browser is None:
            self._browser = Browser(user_agent="ota compat bench", accept_language="en")
        return self._browser

    def prefilter(self) -> PdfTextPrefilter:
        if self._tabs is None:
            self._tabs = JsFilterTabs(self._started(), size=1)
        return PdfTextPrefilter(self._reader(), then=JavaScriptPrefilter(self._tabs))

    def pdf_prefilter(self) -> PdfTextPrefilter:
        return PdfTextPrefilter(self._reader())

    def _reader(self) -> PdfTextReader:
        if self._pdfs is None:
            self._pdfs = PdfTextReader(self._started())
        return self._pdfs

    async def aclose(self) -> None:
        if self._tabs is not None:
            await self._tabs.aclose()
        if self._pdfs is not None:
            await self._pdfs.aclose()
        if self._browser is not None:
            await self._browser.aclose()


def summarise(rows: list[dict]) -> dict:
    count = len(rows)
    exact = sum(row["exact"] for row in rows)
    return {
        "cases": count,
        "exact": exact,
        "exact_rate": round(exact / count, 4) if count else None,
        "mean_similarity": round(sum(row["similarity"] for row in rows) / count, 4) if count else None,
        "failures": sum(1 for row in rows if row["error"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="corpus folder (one folder per case)")
    parser.add_argument("--outputs", type=Path, required=True, help="where to write CASE_ID.md")
    parser.add_argument(
        "--filters", type=Path, default=HERE / "compat-filters", help="SERVICE_ID.filters.py folder"
    )
    parser.add_argument("--js-filters", type=Path, help="SERVICE_ID.filters.js folder (OTA's filters)")
    parser.add_argument("--no-filters", action="store_true", help="run without any service filters")
    parser.add_argument("--json", type=Path, help="write the figures and per-case results here")
    args = parser.parse_args(argv)

    cases = sorted(p.parent for p in args.corpus.glob("*/case.json"))
    if not cases:
        print(f"no cases in {args.corpus}", file=sys.stderr)
        return 2
    args.outputs.mkdir(parents=True, exist_ok=True)
    filters_dir = None if args.no_filters else args.filters

    rows = []
    total_bytes = 0
    javascript = JavaScript()
    loop = asyncio.new_event_loop()
    started = time.perf_counter()
    for folder in cases:
        case_started = time.perf_counter()
        markdown, error, size, ran_js = loop.run_until_complete(
            run_case(folder, filters_dir, None if args.no_filters else args.js_filters, javascript)
        )
        seconds = time.perf_counter() - case_started
        total_bytes += size
        (args.outputs / f"{folder.name}.md").write_text(
            markdown if error is None else f"ERROR: {error}", "utf-8"
        )
        meta = json.loads((folder / "case.json").read_text("utf-8"))
        expected = (folder / "expected.md").read_bytes().decode("utf-8", "replace")
        exact = error is None and markdown == expected
        rows.append(
            {
                "case_id": folder.name,
                "mime": meta["mime"],
                "engine_version": meta.get("engine_version"),
                "uses_js_filters": meta.get("uses_js_filters", False),
                "declaration_uncertain": meta.get("declaration_uncertain", False),
                "exact": exact,
                "similarity": 1.0 if exact else (0.0 if error else line_similarity(expected, markdown)),
                "error": error,
                "seconds": round(seconds, 4),
                "javascript_filters": ran_js,
            }
        )
    wall = time.perf_counter() - started
    loop.run_until_complete(javascript.aclose())
    loop.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    html = [r for r in rows if r["mime"] == "text/html"]
    figures = {
        "overall": summarise(rows),
        "html": summarise(html),
        "html_without_service_filters_or_uncertainty": summarise(
            [r for r in html if not r["uses_js_filters"] and not r["declaration_uncertain"]]
        ),
        "service_filter_cases": summarise([r for r in rows if r["uses_js_filters"]]),
        "javascript_filter_cases": summarise([r for r in rows if r["javascript_filters"]]),
        "uncertain_declaration_cases": summarise([r for r in rows if r["declaration_uncertain"]]),
        "pdf": summarise([r for r in rows if r["mime"] == "application/pdf"]),
        "by_engine_major": {
            major: summarise([r for r in rows if (r["engine_version"] or "unknown").split(".")[0] == major])
            for major in sorted({(r["engine_version"] or "unknown").split(".")[0] for r in rows})
        },
        "throughput": {
            "cases": len(rows),
            "wall_seconds": round(wall, 3),
            "cases_per_second": round(len(rows) / wall, 2),
            "snapshot_megabytes": round(total_bytes / 1e6, 2),
            "megabytes_per_second": round(total_bytes / 1e6 / wall, 2),
            "peak_memory_mb": round(peak_mb, 1),
        },
        "filters": str(filters_dir) if filters_dir else None,
    }

    def line(name: str, s: dict) -> str:
        if not s["cases"]:
            return f"{name}: no cases"
        return (
            f"{name}: {s['exact']}/{s['cases']} exact ({s['exact_rate']:.1%}), "
            f"mean line similarity {s['mean_similarity']:.4f}, {s['failures']} failures"
        )

    print(line("all cases", figures["overall"]))
    print(line("HTML cases", figures["html"]))
    print(
        line(
            "HTML, no service filters, certain declarations",
            figures["html_without_service_filters_or_uncertainty"],
        )
    )
    print(
        line("cases with service filters", figures["service_filter_cases"])
        + f" (filters from {figures['filters']})"
    )
    print(line("  of which run with OTA's JavaScript filters", figures["javascript_filter_cases"]))
    print(line("cases with uncertain declarations", figures["uncertain_declaration_cases"]))
    print(line("PDF cases", figures["pdf"]))
    for major, s in figures["by_engine_major"].items():
        print("  " + line(f"recorded by engine {major}", s))
    t = figures["throughput"]
    print(
        f"throughput: {t['cases']} cases in {t['wall_seconds']:.2f} s = {t['cases_per_second']} cases/s, "
        f"{t['snapshot_megabytes']} MB of snapshots at {t['megabytes_per_second']} MB/s, "
        f"peak memory {t['peak_memory_mb']} MB"
    )
    differing = [r for r in rows if not r["exact"]]
    if differing:
        print("differing cases:")
        for r in differing:
            why = r["error"] or f"similarity {r['similarity']:.4f}"
            print(f"  {r['case_id']}: {why}")
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "cases": rows}, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
