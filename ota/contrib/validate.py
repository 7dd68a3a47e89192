"""`ota validate`: every problem of every declaration at once, then the live checks.

Open Terms Archive's `validate declarations` checks, in one run and without recording anything:

- each file: JSON, the declaration's schema, its selectors' syntax, its filters' names, duplicate
  keys; the history file (`SERVICE_ID.history.json`, read as `ota.declarations.collection.load_history`
  reads it) and the filters files. Every problem of every file is reported, in file order, each
  with its field and, where one can be given, a suggestion;
- then, unless `schema_only`, each source document of each valid terms, live (`ota.contrib.live`).

`modified` narrows the run to the declarations changed since the declarations repository's main
branch, and their live checks to the terms whose entries changed (as OTA's validator does).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ota.contrib.live import check_terms
from ota.contrib.modified import declared_service_ids, modified_terms, service_id_of
from ota.contrib.problems import Problem, ValidationReport, schema_suggestion
from ota.declarations import (
    STANDARD_TERMS_TYPES,
    Service,
    declaration_errors,
    history_errors,
    parse_service,
    tolerate_history,
)
from ota.declarations.collection import (
    DEFAULT_BUILTIN_FILTERS,
    HISTORY_SUFFIX,
    JAVASCRIPT_FILTERS_SUFFIX,
    PYTHON_FILTERS_SUFFIX,
    FilterFiles,
    declaration_folder_files,
    javascript_filter_names,
    python_filter_names,
    unknown_service,
)
from ota.declarations.files import read_json, read_metadata
from ota.errors import DeclarationError, SettingsError
from ota.fetch import Fetcher
from ota.fetch.pdftext import Prefilter
from ota.settings import Settings

#: Terms checked live at once (the fetcher keeps each host to its own limit).
TERMS_IN_FLIGHT = 16


@dataclass
class _Checked:
    """One service's files, as read for the checks."""

    service_id: str
    problems: list[Problem] = field(default_factory=list)
    service: Service | None = None
    data: Any = None
    files: FilterFiles = field(default_factory=FilterFiles)


async def validate(
    settings: Settings,
    *,
    services: Iterable[str] = (),
    terms_types: Iterable[str] = (),
    schema_only: bool = False,
    modified: bool = False,
    prefilter: Prefilter | None = None,
    on_problem: Callable[[Problem], None] | None = None,
) -> ValidationReport:
    """Check the declarations of the collection named by `settings`; record nothing.

    `services` and `terms_types` restrict the run (terms types restrict the live checks only);
    `on_problem` is called with each problem as soon as it is found. Raises DeclarationError when
    there is no declarations folder, SettingsError for a service that has no declaration, and
    RecordError when `modified` cannot ask git what changed.
    """
    folder = settings.collection.declarations
    names = declaration_folder_files(folder)
    known = declared_service_ids(names)
    wanted = sorted(set(services))
    for service_id in wanted:
        if service_id not in known:
            raise SettingsError(unknown_service(service_id, known, folder))
    selected = wanted or known
    live_types: dict[str, set[str] | None] = dict.fromkeys(selected)  # None: every terms type
    if modified:
        changed = modified_terms(folder)
        selected = [service_id for service_id in selected if service_id in changed]
        live_types = {service_id: changed[service_id] for service_id in selected}
    allowed = frozenset((*STANDARD_TERMS_TYPES, *settings.collection.terms_types))
    report = ValidationReport(services=list(selected), schema_only=schema_only)
    checked = [_check_files(folder, service_id, names, allowed) for service_id in selected]
    if not wanted and not modified:
        checked.append(_orphans(folder, names, known))
        checked.append(_metadata(folder))
    for item in checked:
        for problem in item.problems:
            report.problems.append(problem)
            if on_problem is not None:
                on_problem(problem)
    if schema_only:
        return report
    only_types = set(terms_types)
    jobs = [
        (item, terms)
        for item in checked
        if item.service is not None
        for terms in item.service.terms.values()
        if (not only_types or terms.type in only_types)
        and (live_types.get(item.service_id) is None or terms.type in (live_types[item.service_id] or ()))
    ]
    # Problems are reported in file order: the terms in the order their file declares them.
    jobs.sort(key=lambda job: (job[0].service_id, list(job[0].data["terms"]).index(job[1].type)))
    report.documents = sum(len(terms.documents) for _, terms in jobs)
    slots = asyncio.Semaphore(TERMS_IN_FLIGHT)
    async with Fetcher(settings.fetch) as fetcher:
        # PDFs are read by pdf.js and OTA's JavaScript filters run in the fetcher's browser, as in
        # a tracking run.
        javascript = prefilter or fetcher.prefilter(timeout=settings.track.extract_timeout)

        async def one(item: _Checked, terms_type: str) -> list[Problem]:
            assert item.service is not None
            async with slots:
                return await check_terms(
                    item.service.terms[terms_type],
                    entry=item.data["terms"][terms_type],
                    path=folder / f"{item.service_id}.json",
                    fetcher=fetcher,
                    filter_files=item.files,
                    prefilter=javascript,
                )

        tasks = [asyncio.ensure_future(one(item, terms.type)) for item, terms in jobs]
        try:
            for task in tasks:  # awaited in order, so problems come out in file order
                for problem in await task:
                    report.problems.append(problem)
                    if on_problem is not None:
                        on_problem(problem)
        finally:
            for task in tasks:
                task.cancel()
    return report


def _check_files(folder: Path, service_id: str, names: set[str], allowed: frozenset[str]) -> _Checked:
    """The problems of a service's files, and its declaration when it can be checked live."""
    checked = _Checked(service_id)
    path = folder / f"{service_id}.json"
    files, filter_problems = _filter_files(folder, service_id, names)
    checked.files = files
    try:
        data = read_json(path)
    except DeclarationError as error:
        checked.problems.append(_problem(error, service_id, check="json"))
        checked.problems += filter_problems
        return checked
    checked.problems += _duplicate_keys(path, service_id)
    conflicts = files.conflicts(service_id)
    known_filters = DEFAULT_BUILTIN_FILTERS | files.names
    errors = declaration_errors(
        service_id,
        data,
        path=path,
        terms_types=allowed,
        known_filters=known_filters,
        filter_conflicts=conflicts,
    )
    checked.problems += [_problem(error, service_id) for error in errors]
    try:
        service = parse_service(
            service_id,
            data,
            path=path,
            terms_types=allowed,
            known_filters=known_filters,
            filter_conflicts=conflicts,
            strict=False,
        )
    except DeclarationError:
        service = None  # a problem of the whole file, listed above
    if service is not None:
        checked.service, checked.data = service, _upgraded(data)
        checked.problems += [_warning(path, message, service_id) for message in service.warnings]
    checked.problems += filter_problems
    if f"{service_id}{HISTORY_SUFFIX}" in names:
        checked.problems += _history_problems(folder / f"{service_id}{HISTORY_SUFFIX}", service_id, allowed)
    return checked


def _upgraded(data: dict[str, Any]) -> dict[str, Any]:
    """The declaration with `terms` under its current name (OTA's `documents` before 5.0)."""
    if "terms" not in data and "documents" in data:
        return {**data, "terms": data["documents"]}
    return data


def _filter_files(folder: Path, service_id: str, names: set[str]) -> tuple[FilterFiles, list[Problem]]:
    problems: list[Problem] = []
    found: dict[str, Any] = {}
    for suffix, reader, key in (
        (PYTHON_FILTERS_SUFFIX, python_filter_names, "python"),
        (JAVASCRIPT_FILTERS_SUFFIX, javascript_filter_names, "javascript"),
    ):
        if f"{service_id}{suffix}" not in names:
            continue
        path = folder / f"{service_id}{suffix}"
        found[key] = path
        try:
            found[f"{key}_names"] = reader(path)
        except DeclarationError as error:
            problems.append(_problem(error, service_id, check="filters"))
    return FilterFiles(**found), problems


def _history_problems(path: Path, service_id: str, allowed: frozenset[str]) -> list[Problem]:
    try:
        data = read_json(path)
    except DeclarationError as error:
        return [_problem(error, service_id, check="json")]
    problems = _duplicate_keys(path, service_id)
    data, warnings = tolerate_history(data, path)
    problems += [_warning(path, message, service_id, check="history") for message in warnings]
    errors = history_errors(service_id, data, path=path, terms_types=allowed)
    return problems + [_problem(error, service_id, check="history") for error in errors]


def _duplicate_keys(path: Path, service_id: str) -> list[Problem]:
    """A warning for each key written twice in one object: JSON readers keep only the last one."""
    found: list[Problem] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                message = f"'{key}' is written twice in the same object: only the last one is read"
                hint = "merge the two, or delete the one that is not wanted"
                found.append(
                    Problem("warning", path, (key,), message, hint, check="json", service_id=service_id)
                )
            seen.add(key)
        return dict(items)

    try:
        json.loads(path.read_text("utf-8-sig"), object_pairs_hook=pairs)
    except (OSError, ValueError, RecursionError):
        return []  # reported by the reading that matters
    return found


def _problem(error: DeclarationError, service_id: str, *, check: str = "schema") -> Problem:
    terms_type = (
        error.field[1] if len(error.field) >= 2 and error.field[0] in ("terms", "documents") else None
    )
    if check == "history" and error.field:
        terms_type = error.field[0]
    return Problem(
        "error",
        error.path,
        error.field,
        error.reason,
        schema_suggestion(error.field, error.reason, service_id),
        check=check,
        service_id=service_id,
        terms_type=terms_type,
    )


def _warning(path: Path, message: str, service_id: str, *, check: str = "schema") -> Problem:
    # Warnings from the declarations layer name their file; the report names it once.
    prefix = f"{path}: "
    return Problem(
        "warning", path, (), message.removeprefix(prefix), None, check=check, service_id=service_id
    )


def _metadata(folder: Path) -> _Checked:
    """The collection's metadata.yml, when there is one: YAML, a mapping, no alias bomb."""
    checked = _Checked("")
    try:
        read_metadata(folder)
    except DeclarationError as error:
        checked.problems.append(Problem("error", error.path, (), error.reason, check="metadata"))
    return checked


def _orphans(folder: Path, names: Iterable[str], known: Iterable[str]) -> _Checked:
    """History and filters files without a declaration beside them: probably a renamed service."""
    checked = _Checked("")
    declared = set(known)
    for name in sorted(names):
        service_id = service_id_of(name)
        if service_id is None or name == f"{service_id}.json" or service_id in declared:
            continue
        checked.problems.append(
            Problem(
                "warning",
                folder / name,
                (),
                f"there is no {service_id}.json beside it, so it is unused",
                "rename it after the service's declaration, or delete it",
                check="filters" if ".filters." in name else "history",
                service_id=service_id,
            )
        )
    return checked
