"""The byte-for-byte claim: the shared corpus of real Open Terms Archive cases, run by bench/compat.py,
and the PDF corpus (../shared/pdf-corpus: the Markdown the engine writes for 50 PDFs), run by
bench/pdf.py.

The cases ota reproduces exactly are listed in tests/compat-exact.txt (the PDFs in
tests/pdf-exact.txt); each test fails when one of them stops being reproduced (a regression of the
Markdown), and asks for the list to be extended when more are.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "compat-corpus"
EXACT = ROOT / "tests" / "compat-exact.txt"


@pytest.mark.compat
@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/compat-corpus")
def test_the_cases_reproduced_exactly_never_shrink(tmp_path: Path) -> None:
    """Every case listed as exact is still byte-identical to the version OTA recorded."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "compat.py"),
            "--corpus",
            str(CORPUS),
            "--outputs",
            str(tmp_path / "out"),
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    cases = json.loads(report.read_text("utf-8"))["cases"]
    exact = {case["case_id"] for case in cases if case["exact"]}
    expected = {line for line in EXACT.read_text("utf-8").splitlines() if line and not line.startswith("#")}
    lost = sorted(expected - exact)
    assert not lost, f"no longer reproduced byte for byte: {lost}"
    gained = sorted(exact - expected)
    assert not gained, f"now reproduced: add them to {EXACT.name}: {gained}"


PDF_CORPUS = ROOT.parent / "shared" / "pdf-corpus"
PDF_EXACT = ROOT / "tests" / "pdf-exact.txt"


@pytest.mark.compat
@pytest.mark.browser
@pytest.mark.skipif(not PDF_CORPUS.is_dir(), reason="needs ../shared/pdf-corpus")
def test_the_pdfs_reproduced_exactly_never_shrink(tmp_path: Path) -> None:
    """Every PDF listed as exact still gives the engine's Markdown byte for byte (one Chromium for all,
    run by bench/pdf.py); a PDF whose expected Markdown is empty gives the engine's "no text" error."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "pdf.py"), "--corpus", str(PDF_CORPUS)),
            *("--only", "pdfjs", "--json", str(report)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(report.read_text("utf-8"))["pdfjs"]
    folders = {path.parent.name for path in PDF_CORPUS.glob("*/document.pdf")}
    exact = folders - set(figures["differing"])
    listed = PDF_EXACT.read_text("utf-8").splitlines()
    expected = {line for line in listed if line and not line.startswith("#")}
    lost = sorted(expected - exact)
    assert not lost, f"no longer reproduced byte for byte: {lost}"
    gained = sorted(exact - expected)
    assert not gained, f"now reproduced: add them to {PDF_EXACT.name}: {gained}"
