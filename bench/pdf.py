"""How close ota's PDF Markdown is to Open Terms Archive's, how fast it comes and what memory it takes.

A PDF corpus has one folder per PDF, `document.pdf` and `expected.md` (the Markdown the engine
wrote for it: ../shared/pdf-corpus/README.md). Both of ota's paths run on every folder:

- `pdfjs`: the engine's, as `ota track` runs it: pdf.js in Chromium (`ota.fetch.pdftext`, one
  browser for the whole corpus), then the engine's rules (`ota.extract.pdfjs`);
- `pdfminer`: the readable text of `ota extract --readable` (`ota.extract.pdf`).

For each it prints identical/total, pages a second (pages of the corpus ÷ wall time) and peak
memory of this process and its children, Chromium's included, sampled every 50 ms: the sum of
their RSS, and of their PSS (shared pages divided among the processes sharing them), and
lists the folders that differ (with `--diff`, the first differing line).

    python bench/pdf.py --corpus ../shared/pdf-corpus [--only pdfjs|pdfminer] [--pdfjs DIR] [--diff]
                     [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from track import TreeMemory  # bench/track.py, beside this file

from ota.declarations import SourceDocument
from ota.errors import ExtractError
from ota.extract import PDF_MIME_TYPE, PDF_TEXT_MIME_TYPE, extract
from ota.fetch.browser import Browser
from ota.fetch.pdftext import PdfTextReader

LOCATION = "https://example.com/terms.pdf"
NO_TEXT = (
    f"The PDF file at '{LOCATION}' contains no text, "
    "it might contain scanned images of text instead of actual text"
)


class TreePss(TreeMemory):
    """TreeMemory that also keeps the peak of the tree's proportional set size (shared pages
    divided among the processes that share them: Chromium's processes share much)."""

    def __init__(self, pid: int) -> None:
        self.peak_pss = 0
        super().__init__(pid)

    def _run(self) -> None:
        pids: list[int] = []
        scanned = 0.0
        while not self._stop.is_set():
            if time.monotonic() - scanned > 0.5:
                pids, scanned = self._tree(), time.monotonic()
            rss = pss = 0
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/smaps_rollup") as f:
                        for line in f:
                            if line.startswith("Rss:"):
                                rss += int(line.split()[1]) * 1024
                            elif line.startswith("Pss:"):
                                pss += int(line.split()[1]) * 1024
                except OSError:
                    pass
            self.peak = max(self.peak, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop.wait(0.05)


def folders_of(corpus: Path) -> list[Path]:
    return sorted(p.parent for p in corpus.glob("*/document.pdf") if (p.parent / "expected.md").is_file())


async def run_pdfjs(folders: list[Path], pdfjs: Path | None) -> tuple[dict[str, str], int]:
    """Each folder's Markdown (or 'ERROR: …') by the engine's path, and the pages read."""
    browser = Browser(user_agent="ota pdf bench", accept_language="en")
    scripts = None
    if pdfjs is not None:  # another build of pdf.js, e.g. Debian's libjs-pdf: /usr/share/javascript/pdf/build
        scripts = ((pdfjs / "pdf.worker.js").read_bytes(), (pdfjs / "pdf.js").read_bytes())
    reader = PdfTextReader(browser, scripts=scripts)
    document = SourceDocument(location=LOCATION)
    outputs, pages = {}, 0
    try:
        for folder in folders:
            try:
                text = await reader.read((folder / "document.pdf").read_bytes(), location=LOCATION)
                pages += len(json.loads(text)["pages"])
                outputs[folder.name] = extract(text, PDF_TEXT_MIME_TYPE, document)
            except ExtractError as error:
                outputs[folder.name] = f"ERROR: {error}"
    finally:
        await reader.aclose()
        await browser.aclose()
    return outputs, pages


def run_pdfminer(folders: list[Path]) -> dict[str, str]:
    document = SourceDocument(location=LOCATION)
    outputs = {}
    for folder in folders:
        try:
            outputs[folder.name] = extract((folder / "document.pdf").read_bytes(), PDF_MIME_TYPE, document)
        except ExtractError as error:
            outputs[folder.name] = f"ERROR: {error}"
    return outputs


def first_difference(expected: str, actual: str) -> str:
    for number, (a, b) in enumerate(zip(expected.splitlines(), actual.splitlines(), strict=False), 1):
        if a != b:
            return f"line {number}: expected {a[:80]!r}, got {b[:80]!r}"
    return f"lengths differ: {len(expected)} vs {len(actual)} characters"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="one folder per PDF")
    parser.add_argument("--only", choices=["pdfjs", "pdfminer"], help="run one path only")
    parser.add_argument(
        "--pdfjs", type=Path, help="a folder with another pdf.js's pdf.js and pdf.worker.js (default: ota's)"
    )
    parser.add_argument("--diff", action="store_true", help="show the first differing line of each")
    parser.add_argument("--json", type=Path, help="write the figures and the differing folders here")
    args = parser.parse_args(argv)
    folders = folders_of(args.corpus)
    if not folders:
        print(f"no document.pdf with an expected.md in {args.corpus}", file=sys.stderr)
        return 2
    # An empty Markdown is the engine's error (transformFromPDF returns "", extract throws).
    expected = {
        folder.name: (folder / "expected.md").read_text("utf-8") or f"ERROR: {NO_TEXT}" for folder in folders
    }
    pages = 0
    figures = {}
    for path in ("pdfjs", "pdfminer"):
        if args.only not in (None, path):
            continue
        memory = TreePss(os.getpid())
        started = time.perf_counter()
        if path == "pdfjs":
            outputs, pages = asyncio.run(run_pdfjs(folders, args.pdfjs))
        else:
            outputs = run_pdfminer(folders)
        wall = time.perf_counter() - started
        peak = memory.stop()
        differing = sorted(name for name in expected if outputs.get(name) != expected[name])
        if not pages:  # pdfminer alone: count the pages as pdf.js would, once
            from pdfminer.pdfpage import PDFPage

            pages = sum(len(list(PDFPage.get_pages((f / "document.pdf").open("rb")))) for f in folders)
        figures[path] = {
            "identical": len(folders) - len(differing),
            "total": len(folders),
            "pages": pages,
            "seconds": round(wall, 2),
            "pages_per_second": round(pages / wall, 1),
            "peak_memory_mb": round(peak / 2**20),
            "peak_pss_mb": round(memory.peak_pss / 2**20),
            "differing": differing,
        }
        print(
            f"{path}: {len(folders) - len(differing)}/{len(folders)} identical, {pages} pages in "
            f"{wall:.1f} s = {pages / wall:.1f} pages/s, peak memory {peak / 2**20:.0f} MB "
            f"(proportional: {memory.peak_pss / 2**20:.0f} MB)"
        )
        for name in differing:
            detail = first_difference(expected[name], outputs[name]) if args.diff else ""
            print(f"  differs: {name} {detail}".rstrip())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
