"""The live checks of one terms, per source document, as Open Terms Archive's validator runs them:

1. the page can be fetched (as `ota track` fetches it: the browser when the declaration says so);
2. its selectors give text (ota's real extraction, OTA's error messages);
3. every `remove` CSS selector matches something (a warning: a typo there removes nothing);
4. the text is at least `MIN_TEXT_LENGTH` characters long;
5. fetched and extracted a second time, the text is the same (else every run records a change).

Nothing is recorded: pages and text stay in memory.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ota.contrib.problems import Problem
from ota.declarations import SourceDocument, Terms
from ota.declarations.collection import FilterFiles
from ota.declarations.schema import item_label
from ota.errors import DeclarationError, ExtractError, FetchError
from ota.extract import PDF_MIME_TYPE, extract
from ota.extract.filters import Filter
from ota.fetch import HTML_ONLY, Fetcher, Page
from ota.fetch.pdftext import Prefilter

#: The shortest text taken for terms: shorter, the selector probably holds a heading or a wrapper.
MIN_TEXT_LENGTH = 100
#: The most characters of a changing line quoted in a message.
QUOTE_LENGTH = 120

Source = tuple[SourceDocument, bytes, str]


class _Place:
    """Where the values of one terms' declaration are, to name the field of a problem."""

    def __init__(self, path: Path, terms: Terms, entry: Mapping[str, Any]) -> None:
        self.path, self.terms, self.entry = path, terms, entry

    def field(self, index: int, key: str, position: int | None = None) -> tuple[str, ...]:
        """The field of `key` for the `index`-th source document (the item's own or the terms')."""
        base: tuple[str, ...] = ("terms", self.terms.type)
        value: Any = self.entry.get(key)
        if self.terms.combined:
            item = self.entry["combine"][index]
            if key == "fetch" or key in item:
                base, value = (*base, "combine", item_label(index)), item[key]
        located = (*base, key)
        if position is not None and isinstance(value, list):
            located = (*located, item_label(position))
        return located

    def problem(
        self,
        document: SourceDocument,
        severity: str,
        check: str,
        field: tuple[str, ...],
        message: str,
        hint: str | None,
    ) -> Problem:
        return Problem(
            "error" if severity == "error" else "warning",
            self.path,
            field,
            message,
            hint,
            check=check,
            service_id=self.terms.service_id,
            terms_type=self.terms.type,
            url=document.location,
        )


async def check_terms(
    terms: Terms,
    *,
    entry: Mapping[str, Any],
    path: Path,
    fetcher: Fetcher,
    filter_files: FilterFiles | None = None,
    prefilter: Prefilter | None = None,
    load_filters: Callable[[Path], Mapping[str, Filter]] | None = None,
) -> list[Problem]:
    """Every live problem of `terms`, declared by `entry` in the file `path`.

    `prefilter` runs the service's JavaScript filters on the pages (as tracking does); without
    one, a terms that uses JavaScript filters is not checked live, and a warning says so.
    `load_filters` imports a `SERVICE_ID.filters.py` (default: `ota.declarations.service_filters`).
    """
    place = _Place(path, terms, entry)
    files = filter_files or FilterFiles()
    javascript = sorted({f.name for d in terms.documents for f in d.filters} & files.javascript_names)
    if javascript and prefilter is None:
        names = ", ".join(javascript)
        message = (
            f"uses JavaScript filters ({names}) of {terms.service_id}.filters.js, which ota's checks "
            "cannot run yet: its pages were not checked live"
        )
        hint = (
            "check it with Open Terms Archive's validator, or write these filters in "
            f"{terms.service_id}.filters.py"
        )
        return [
            place.problem(
                terms.documents[0], "warning", "javascript", ("terms", terms.type, "filter"), message, hint
            )
        ]
    python: Mapping[str, Filter] = {}
    if files.python is not None:
        if load_filters is None:
            from ota.declarations.service_filters import load_service_filters

            load_filters = load_service_filters
        try:
            python = load_filters(files.python)
        except DeclarationError as error:
            return [place.problem(terms.documents[0], "error", "filters", (), str(error), None)]
    problems: list[Problem] = []
    first = await _fetch_all(terms, fetcher, place, problems, again=False)
    texts = await _extract_all(terms, first, python, files, prefilter, place, problems, first_time=True)
    for index, (document, page) in enumerate(zip(terms.documents, first, strict=True)):
        if page is not None and page.mime_type != PDF_MIME_TYPE:
            problems.extend(_unmatched_removes(place, index, document, page, python))
        text = texts[index]
        if text is not None and len(text) < MIN_TEXT_LENGTH:
            message = (
                f"the text extracted from '{document.location}' has {len(text)} characters, fewer than "
                f"the {MIN_TEXT_LENGTH} expected of terms: {_quote(text)}"
            )
            hint = (
                '"select" probably holds only part of the terms (a heading, a wrapper): select the whole text'
            )
            problems.append(
                place.problem(document, "error", "length", place.field(index, "select"), message, hint)
            )
    # The second fetch, for the documents that gave text the first time.
    wanted = [text is not None for text in texts]
    second = await _fetch_all(terms, fetcher, place, problems, again=True, only=wanted)
    again = await _extract_all(terms, second, python, files, prefilter, place, problems, first_time=False)
    for index, document in enumerate(terms.documents):
        before, after = texts[index], again[index]
        if before is not None and after is not None and before != after:
            problems.append(
                place.problem(
                    document,
                    "error",
                    "stable",
                    place.field(index, "select"),
                    f"the text of '{document.location}' changed between two fetches in a row: "
                    + _difference(before, after),
                    'leave the changing part out with "remove" (a date, a counter, a random token), '
                    "or the terms would be recorded as changed at every run",
                )
            )
    return problems


async def _fetch_all(
    terms: Terms,
    fetcher: Fetcher,
    place: _Place,
    problems: list[Problem],
    *,
    again: bool,
    only: Sequence[bool] | None = None,
) -> list[Page | None]:
    """Each source document's page, one after the other as tracking does; None where it failed."""
    pages: list[Page | None] = []
    for index, document in enumerate(terms.documents):
        if only is not None and not only[index]:
            pages.append(None)
            continue
        try:
            pages.append(await fetcher.fetch_document(document))
        except FetchError as error:
            pages.append(None)
            message = f"fetched a second time: {error}" if again else str(error)
            check = "stable" if again else "fetch"
            hint = _fetch_hint(error, document)
            problems.append(
                place.problem(document, "error", check, place.field(index, "fetch"), message, hint)
            )
    return pages


async def _extract_all(
    terms: Terms,
    pages: Sequence[Page | None],
    python: Mapping[str, Filter],
    files: FilterFiles,
    prefilter: Prefilter | None,
    place: _Place,
    problems: list[Problem],
    *,
    first_time: bool,
) -> list[str | None]:
    """Each fetched page's text as ota would record it; None where there is none."""
    sources: list[Source] = [
        (document, page.content, page.mime_type)
        for document, page in zip(terms.documents, pages, strict=True)
        if page is not None
    ]
    if prefilter is not None and sources:  # PDFs read by pdf.js, JavaScript filters
        sources = list(await prefilter(sources, files))
    by_location = iter(sources)
    texts: list[str | None] = []
    for index, page in enumerate(pages):
        if page is None:
            texts.append(None)
            continue
        document, content, mime_type = next(by_location)
        try:
            texts.append(extract(content, mime_type, document, python))
        except ExtractError as error:
            texts.append(None)
            if first_time:  # the same failure twice says nothing more
                hint = _select_hint(document, page)
                field = place.field(index, "select")
                problems.append(place.problem(document, "error", "select", field, str(error), hint))
    return texts


def _unmatched_removes(
    place: _Place, index: int, document: SourceDocument, page: Page, filters: Mapping[str, Filter]
) -> list[Problem]:
    """A warning for each `remove` CSS selector that matches nothing when removal runs."""
    selectors = [(position, s) for position, s in enumerate(document.remove) if isinstance(s, str)]
    if not selectors:
        return []
    from ota.extract.html import prepare

    try:
        prepared = prepare(page.content.decode("utf-8", errors="replace"), document, dict(filters))
    except ExtractError:
        return []  # a failing filter is reported by extraction
    problems = []
    for position, selector in selectors:
        try:
            matches = prepared.css(selector)
        except Exception:  # an invalid selector is reported by extraction
            continue
        if not matches:
            problems.append(
                place.problem(
                    document,
                    "warning",
                    "remove",
                    place.field(index, "remove", position),
                    f"'{selector}' matches nothing in the page at '{document.location}', "
                    "so it removes nothing",
                    "correct its spelling, or delete it if that part of the page is gone",
                )
            )
    return problems


def _fetch_hint(error: FetchError, document: SourceDocument) -> str | None:
    text = str(error)
    if error.status in (404, 410):
        return (
            'the page is gone or has moved: open the site, find where the terms are now and correct "fetch"'
        )
    if error.status in (403, 406, 429) and not document.execute_client_scripts:
        return 'the site turns ota away: try "executeClientScripts": true (fetching with a browser)'
    if error.status is not None and error.status >= 500:
        return "the site failed to answer: try again later"
    if "Timed out" in text:
        return "the site is slow or unreachable from here: try again later"
    if "ENOTFOUND" in text or "ECONNREFUSED" in text or "EAI_AGAIN" in text:
        return 'check the address in "fetch" (its host name and port)'
    return None


def _select_hint(document: SourceDocument, page: Page) -> str:
    hint = (
        'open the page, find the element holding the terms and correct "select" '
        f"(`ota new {document.location}` proposes one)"
    )
    if page.fetcher == HTML_ONLY and document.execute_client_scripts is None:
        hint += '; if the page writes its text with scripts, add "executeClientScripts": true'
    return hint


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= QUOTE_LENGTH else flat[: QUOTE_LENGTH - 1] + "…")


def _difference(before: str, after: str) -> str:
    """The first line that differs, as it read each time."""
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        was = old[i1] if i1 < i2 else ""
        now = new[j1] if j1 < j2 else ""
        return f"{_quote(was)} became {_quote(now)}"
    return "only their line breaks differ"
