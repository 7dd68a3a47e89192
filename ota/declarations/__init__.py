"""Service declarations in Open Terms Archive's format, as frozen values.

This module is pure: it turns already-read JSON into `Service`, `Terms` and `SourceDocument` values
and validates them. The package's other modules: `collection` reads a declarations folder (files
only, bounded by `files`), `history` keeps a folder's superseded entries in history files,
`service_filters` loads a service's filters (Python and JavaScript), `checks` and `schema` validate.

Validation happens in two passes, and every problem becomes a `DeclarationError` naming the file and
the field: the JSON Schema shipped in `ota/declarations/schema` (structure, types, terms types, URLs,
dates), then what a schema cannot say (`ota.declarations.checks`: CSS selectors that do not parse,
filters that do not exist; here: the same page combined twice).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import ada_url

from ota.declarations.checks import RANGE_KEYS, entry_problems, named
from ota.declarations.schema import (
    MIME_EXTENSIONS,
    item_label,
    parse_date_time,
    schema_problems,
    standard_terms_types,
)
from ota.errors import DeclarationError

_PDF_URL = re.compile(r"^https?://.+.[pP][dD][fF](\?.+)?$")

#: OTA's 44 standard terms types (OTA-FORMATS §2); a collection may allow more by configuration.
STANDARD_TERMS_TYPES: frozenset[str] = frozenset(standard_terms_types())

# Characters OTA replaces in source document IDs, which name files on every platform.
_ILLEGAL_ID_CHARACTERS = re.compile(r'[\\:"<>|*?]')


@dataclass(frozen=True)
class RangeSelector:
    """A DOM range between two CSS selectors: exactly one start and one end are set."""

    start_before: str | None = None
    start_after: str | None = None
    end_before: str | None = None
    end_after: str | None = None

    def as_json(self) -> str:
        """The range as OTA prints it in error messages (`JSON.stringify` of the declared object)."""
        keys = (
            ("startBefore", self.start_before),
            ("startAfter", self.start_after),
            ("endBefore", self.end_before),
            ("endAfter", self.end_after),
        )
        return json.dumps({k: v for k, v in keys if v is not None}, separators=(",", ":"), ensure_ascii=False)


Selector = str | RangeSelector


def selectors_text(selectors: tuple[Selector, ...]) -> str:
    """The selectors as OTA writes them in messages: JavaScript's `String(array)`."""
    return ",".join(s if isinstance(s, str) else "[object Object]" for s in selectors)


@dataclass(frozen=True)
class FilterRef:
    """A filter named in a declaration, with its parameters when it was declared with some.

    JSON arrays in the parameters become tuples, so that a `Terms` stays hashable.
    """

    name: str
    parameters: Any = None
    has_parameters: bool = False


@dataclass(frozen=True)
class SourceDocument:
    """One page to fetch and the rules to extract the terms from it."""

    location: str
    select: tuple[Selector, ...] = ()
    remove: tuple[Selector, ...] = ()
    filters: tuple[FilterRef, ...] = ()
    execute_client_scripts: bool | None = None
    #: The source document ID of OTA-FORMATS §2 for combined terms; None for single documents.
    id: str | None = None

    @property
    def is_pdf_url(self) -> bool:
        """Whether the URL names a PDF, the only case where `select` may be absent."""
        return _PDF_URL.match(self.location) is not None


@dataclass(frozen=True)
class Terms:
    """One terms document of a service: one or several (combined) source documents."""

    service_id: str
    type: str
    documents: tuple[SourceDocument, ...]
    combined: bool = False
    #: For an entry of `SERVICE.history.json`: the last moment it was in force (inclusive).
    valid_until: datetime | None = None


@dataclass(frozen=True)
class Service:
    """A declared service: its current terms and, per terms type, its earlier declarations."""

    id: str
    name: str
    terms: dict[str, Terms]
    #: Earlier declarations by terms type, sorted by `valid_until`.
    history: dict[str, tuple[Terms, ...]] = field(default_factory=dict)
    imported_from: str | None = None
    #: Things the author should fix that do not stop tracking, each naming the file.
    warnings: tuple[str, ...] = ()
    #: Terms types whose entry is invalid, with its problems: they are not tracked, the others are.
    invalid: dict[str, tuple[DeclarationError, ...]] = field(default_factory=dict)
    #: Its `SERVICE_ID.history.json`, read only when an earlier declaration is needed.
    history_path: Path | None = None


def source_document_id(url: str) -> str:
    """The ID OTA gives a source document of combined terms, from its URL (OTA-FORMATS §2).

    These IDs name snapshot files (`TERMS TYPE #ID.html`), so this follows OTA's `generateId` to the
    character, including its quirks: the URL path as browsers parse it, percent-decoded, minus an
    extension that OTA's `mime` package knows (Node's `path.extname`), split on `/`, joined with `-`.
    """
    pathname = ada_url.URL(url).pathname
    # On invalid UTF-8 OTA's decodeURIComponent throws; keeping the encoded form is stable and harmless.
    with contextlib.suppress(UnicodeDecodeError):
        pathname = unquote(pathname, errors="strict")
    extension = _node_extname(pathname)
    if _mime_knows(extension):
        pathname = pathname[: -len(extension)]
    return _ILLEGAL_ID_CHARACTERS.sub("_", "-".join(part for part in pathname.split("/") if part))


def _node_extname(path: str) -> str:
    """Node's `path.posix.extname`, ported line by line: IDs depend on its corner cases."""
    start_dot, start_part, end, matched_slash, pre_dot_state = -1, 0, -1, True, 0
    for i in range(len(path) - 1, -1, -1):
        char = path[i]
        if char == "/":
            if not matched_slash:
                start_part = i + 1
                break
            continue
        if end == -1:
            matched_slash, end = False, i + 1
        if char == ".":
            if start_dot == -1:
                start_dot = i
            elif pre_dot_state != 1:
                pre_dot_state = 1
        elif start_dot != -1:
            pre_dot_state = -1
    if (
        start_dot == -1
        or end == -1
        or pre_dot_state == 0  # a leading dot: ".htaccess" has no extension
        or (pre_dot_state == 1 and start_dot == end - 1 and start_dot == start_part + 1)  # ".."
    ):
        return ""
    return path[start_dot:end]


def _mime_knows(extension: str) -> bool:
    """Whether OTA's `mime.getType(extension)` returns a type."""
    last = re.sub(r"^.*[/\\]", "", extension, flags=re.DOTALL).lower()
    ext = re.sub(r"^.*\.", "", last, flags=re.DOTALL)
    if len(ext) >= len(last) - 1 and len(last) < len(extension):
        return False
    return ext in MIME_EXTENSIONS


def parse_service(
    service_id: str,
    data: Any,
    *,
    path: Path | str,
    history: Any = None,
    history_path: Path | str | None = None,
    terms_types: Collection[str] = STANDARD_TERMS_TYPES,
    known_filters: Collection[str] | None = None,
    filter_conflicts: Mapping[str, str] | None = None,
    strict: bool = True,
) -> Service:
    """A `Service` from the parsed JSON of its declaration and, if any, of its history file.

    `path` (and `history_path`, by default `SERVICE_ID.history.json` beside it) name the files in
    errors. `known_filters`, when given, are the filter names declarations may use;
    `filter_conflicts` names that may not be used, with the reason. With `strict`, the first
    `DeclarationError` of `declaration_errors` is raised; otherwise only a problem of the file as a
    whole is (no name, no terms), and each terms whose entry is invalid is left out of `terms` and
    listed with its problems in `invalid`: one bad entry does not stop the service's other terms.
    """
    path = Path(path)
    errors = declaration_errors(
        service_id,
        data,
        path=path,
        terms_types=terms_types,
        known_filters=known_filters,
        filter_conflicts=filter_conflicts,
    )
    invalid: dict[str, list[DeclarationError]] = {}
    for error in errors:
        terms_type = _terms_type_of(error)
        if strict or terms_type is None:
            raise error
        invalid.setdefault(terms_type, []).append(error)
    data, warnings = _upgrade_legacy(data, path)
    terms = {
        terms_type: _terms(service_id, terms_type, entry)
        for terms_type, entry in data["terms"].items()
        if terms_type not in invalid
    }
    warnings += [f"{path}: {message}" for terms in terms.values() for message in _document_id_clashes(terms)]
    service = Service(
        id=service_id,
        name=data["name"],
        terms=terms,
        imported_from=data.get("importedFrom"),
        warnings=tuple(warnings),
        invalid={terms_type: tuple(found) for terms_type, found in invalid.items()},
    )
    if history is None:
        return service
    history_path = Path(history_path) if history_path else path.with_name(f"{service_id}.history.json")
    earlier = parse_history(
        service_id, history, path=history_path, terms_types=terms_types, known_filters=known_filters
    )
    return replace(service, history=earlier)


def _terms_type_of(error: DeclarationError) -> str | None:
    """The terms type a problem belongs to, or None for a problem of the file as a whole."""
    if len(error.field) >= 2 and error.field[0] in ("terms", "documents"):
        return error.field[1]
    return None


def parse_history(
    service_id: str,
    data: Any,
    *,
    path: Path | str,
    terms_types: Collection[str] = STANDARD_TERMS_TYPES,
    known_filters: Collection[str] | None = None,
) -> dict[str, tuple[Terms, ...]]:
    """The earlier declarations of a `SERVICE_ID.history.json`, each list sorted by `validUntil`.

    Raises the first `DeclarationError` of `history_errors`.
    """
    errors = history_errors(service_id, data, path=path, terms_types=terms_types, known_filters=known_filters)
    if errors:
        raise errors[0]
    earlier: dict[str, tuple[Terms, ...]] = {}
    for terms_type, entries in data.items():
        dated = [
            _terms(service_id, terms_type, entry, parse_date_time(entry["validUntil"])) for entry in entries
        ]
        # Sorted, so that the entry in force at a date is the first one not yet expired then.
        earlier[terms_type] = tuple(sorted(dated, key=attrgetter("valid_until")))
    return earlier


def tolerate_history(data: Any, path: Path | str) -> tuple[Any, list[str]]:
    """A history file with the mistakes Open Terms Archive's engine runs with corrected, and a
    warning naming each one: a `validUntil` key written with other capitals (`ValidUntil`)."""
    if not isinstance(data, dict):
        return data, []
    warnings: list[str] = []
    fixed: dict[str, Any] = {}
    for terms_type, entries in data.items():
        if not isinstance(entries, list):
            fixed[terms_type] = entries
            continue
        fixed_entries = []
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and "validUntil" not in entry:
                for key in [key for key in entry if key.casefold() == "validuntil"]:
                    entry = {("validUntil" if k == key else k): v for k, v in entry.items()}
                    warnings.append(
                        f"{path}: {terms_type} › {item_label(index)} › {key}: read as 'validUntil'; "
                        "correct its spelling"
                    )
                    break
            fixed_entries.append(entry)
        fixed[terms_type] = fixed_entries
    return fixed, warnings


def declaration_errors(
    service_id: str,
    data: Any,
    *,
    path: Path | str,
    terms_types: Collection[str] = STANDARD_TERMS_TYPES,
    known_filters: Collection[str] | None = None,
    filter_conflicts: Mapping[str, str] | None = None,
) -> list[DeclarationError]:
    """Every problem of a declaration, in the order they appear in the file (empty when valid).

    Each terms entry is checked on its own: one with a schema problem still has its neighbours'
    selectors and filters checked.
    """
    path = Path(path)
    if isinstance(data, dict) and "documents" in data and "terms" in data:
        message = "'documents' is the old name of 'terms': keep only 'terms'"
        return [DeclarationError(path, message, ("documents",))]
    data, _ = _upgrade_legacy(data, path)
    problems = schema_problems(data, definition="service", terms_types=terms_types)
    if isinstance(data, dict) and isinstance(data.get("terms"), dict):
        # In file order: problems of missing keys first, then key by key, each terms entry's
        # schema problems followed by the checks a schema cannot make.
        ordered = [p for p in problems if not p[0] or p[0][0] not in data]
        for key in data:
            ordered.extend(p for p in problems if p[0][:1] == (key,) and (key != "terms" or len(p[0]) == 1))
            if key != "terms":
                continue
            for terms_type, entry in data["terms"].items():
                found = [p for p in problems if p[0][:2] == ("terms", terms_type)]
                ordered.extend(found)
                where = ("terms", terms_type)
                more = entry_problems(entry, where, known_filters, filter_conflicts, service_id)
                # An entry with a schema problem still has its other parts checked: every
                # problem is named at once, not one per correction.
                ordered.extend(p for p in more if not named(p[0], found, where))
        problems = ordered
    return [DeclarationError(path, message, _field(where)) for where, message in problems]


def history_errors(
    service_id: str,
    data: Any,
    *,
    path: Path | str,
    terms_types: Collection[str] = STANDARD_TERMS_TYPES,
    known_filters: Collection[str] | None = None,
) -> list[DeclarationError]:
    """Every problem of a history file, in the order they appear in the file (empty when valid)."""
    problems = schema_problems(data, definition="history", terms_types=terms_types)
    if isinstance(data, dict):
        found = list(problems)
        for terms_type, entries in data.items():
            for index, entry in enumerate(entries if isinstance(entries, list) else ()):
                more = entry_problems(entry, (terms_type, index), known_filters, None, service_id)
                problems.extend(p for p in more if not named(p[0], found, (terms_type, index)))
    return [DeclarationError(path, message, _field(where)) for where, message in problems]


def terms_in_force(service: Service, terms_type: str, date: datetime) -> Terms:
    """The declaration of `terms_type` that applied at `date` (a naive date is taken as UTC).

    That is the first history entry, by `validUntil`, with `date <= validUntil` (inclusive), else
    the current declaration. Raises KeyError when the service declares no such terms at that date.
    """
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    for entry in service.history.get(terms_type, ()):
        if entry.valid_until is not None and date <= entry.valid_until:
            return entry
    if terms_type in service.terms:
        return service.terms[terms_type]
    raise KeyError(f"{service.id} declares no {terms_type!r} in force at {date.isoformat()}")


def _upgrade_legacy(data: Any, path: Path) -> tuple[Any, list[str]]:
    """Reads `documents`, the name of `terms` before OTA 5.0, with a warning."""
    if not isinstance(data, dict) or "documents" not in data or "terms" in data:
        return data, []
    upgraded = {("terms" if key == "documents" else key): value for key, value in data.items()}
    return upgraded, [f"{path}: 'documents' is deprecated since OTA 5.0; rename it to 'terms'"]


def _field(where: Iterable[str | int]) -> tuple[str, ...]:
    return tuple(item_label(part) if isinstance(part, int) else part for part in where)


def _document_id_clashes(terms: Terms) -> Iterator[str]:
    """Combined documents whose IDs collide would overwrite each other's snapshot file."""
    first: dict[str | None, str] = {}
    for document in terms.documents:
        if document.id in first and terms.combined:
            yield (
                f"terms › {terms.type} › combine: {first[document.id]} and {document.location} have the same "
                f"document ID '{document.id}', so their snapshots would overwrite each other"
            )
        first.setdefault(document.id, document.location)


# -- building values from valid JSON -------------------------------------------------------------


def _terms(
    service_id: str, terms_type: str, entry: dict[str, Any], valid_until: datetime | None = None
) -> Terms:
    if "combine" not in entry:
        return Terms(service_id, terms_type, (_document(entry, {}, combined=False),), valid_until=valid_until)
    # An item's own select/remove/filter/executeClientScripts replaces the terms-level one (no merge).
    documents = tuple(_document(item, entry, combined=True) for item in entry["combine"])
    return Terms(service_id, terms_type, documents, combined=True, valid_until=valid_until)


def _document(item: dict[str, Any], defaults: dict[str, Any], *, combined: bool) -> SourceDocument:
    def value(key: str) -> Any:
        return item[key] if key in item else defaults.get(key)

    return SourceDocument(
        location=item["fetch"],
        select=_selectors(value("select")),
        remove=_selectors(value("remove")),
        filters=tuple(_filter(declared) for declared in value("filter") or ()),
        execute_client_scripts=value("executeClientScripts"),
        id=source_document_id(item["fetch"]) if combined else None,
    )


def _selectors(value: Any) -> tuple[Selector, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(
        item
        if isinstance(item, str)
        else RangeSelector(**{attribute: item.get(key) for key, attribute in RANGE_KEYS.items()})
        for item in items
    )


def _filter(declared: str | dict[str, Any]) -> FilterRef:
    if isinstance(declared, str):
        return FilterRef(declared)
    ((name, parameters),) = declared.items()
    return FilterRef(name, _freeze(parameters), has_parameters=True)


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value
