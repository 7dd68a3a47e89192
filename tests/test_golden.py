"""Golden files: ota writes, byte for byte, the Markdown Open Terms Archive writes for each page.

Each folder of `tests/golden` is one case, about one conversion rule or subtle behaviour:

- `page.html`, a snapshot;
- `declaration.json`, a service declaring one terms from it;
- `expected.md`, the Markdown OTA 14.1 extracts (jsdom + turndown 7.2.1 + the GFM plugin), or
  `expected-error.txt`, the message of the error it raises instead.

A change that alters one of these files changes what users see in their versions: regenerate a case
only after checking the new output against OTA itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ota.declarations import SourceDocument, parse_service
from ota.errors import ExtractError
from ota.extract.html import html_to_markdown

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "declaration.json").is_file())


def source_document(case: Path) -> SourceDocument:
    """The only source document the case's declaration declares, read by the project's parser."""
    data = json.loads((case / "declaration.json").read_text(encoding="utf-8"))
    service = parse_service(case.name, data, path=case / "declaration.json")
    (terms,) = service.terms.values()
    (document,) = terms.documents
    return document


def read_exact(path: Path) -> str:
    """A file's text with its line endings untouched (Markdown files have no final newline)."""
    return path.read_bytes().decode("utf-8")


def test_there_are_golden_cases_and_each_is_complete() -> None:
    """The cases are found (a typo in the folder layout would otherwise skip them all), and each
    has a page and exactly one expectation."""
    assert len(CASES) >= 40
    incomplete = [
        name
        for name in CASES
        if not (GOLDEN / name / "page.html").is_file()
        or (GOLDEN / name / "expected.md").is_file() == (GOLDEN / name / "expected-error.txt").is_file()
    ]
    assert incomplete == []


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    """The case's page and declaration give exactly the expected Markdown or error message."""
    case = GOLDEN / name
    html = read_exact(case / "page.html")
    document = source_document(case)
    expected_error = case / "expected-error.txt"
    if expected_error.exists():
        with pytest.raises(ExtractError) as raised:
            html_to_markdown(html, document)
        assert str(raised.value) == read_exact(expected_error)
    else:
        assert html_to_markdown(html, document) == read_exact(case / "expected.md")
