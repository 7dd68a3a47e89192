"""The byte-for-byte claim: the shared corpus of real Open Terms Archive cases, run by bench/compat.py.

The cases ota reproduces exactly are listed in tests/compat-exact.txt; this test fails when one of
them stops being reproduced (a regression of the Markdown), and asks for the list to be extended
when more are.
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
