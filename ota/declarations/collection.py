"""Reading a collection from disk: declarations, their history, service filters and metadata.

    COLLECTION/
      metadata.yml                          collection metadata, kept as a dict
      declarations/SERVICE_ID.json          a service declaration (ota.declarations parses it)
      declarations/SERVICE_ID.history.json  its earlier declarations, read when one is needed
      declarations/SERVICE_ID.filters.js    its filters as OTA writes them (run in the browser)
      declarations/SERVICE_ID.filters.py    its filters as Python functions (run where extraction runs)

Reading a collection never runs its code: the names of a service's filters are found by parsing
its filters files, which are imported (Python) or evaluated (JavaScript) only where pages are
extracted. A file that cannot be used becomes a `DeclarationError` in `Collection.errors` and the
rest loads (`ota.declarations.files` reads files with bounds); within a declaration, an invalid terms
entry becomes an `InvalidTerms` and the service's other terms load: one mistake never stops the
rest of a collection from being tracked.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ota.declarations import (
    STANDARD_TERMS_TYPES,
    Service,
    Terms,
    parse_history,
    parse_service,
    tolerate_history,
)
from ota.declarations.files import read_json, read_metadata_file, read_text
from ota.errors import DeclarationError, SettingsError
from ota.extract.filters import BUILTIN_FILTER_NAMES

#: The filters ota implements itself, usable by every declaration.
DEFAULT_BUILTIN_FILTERS: frozenset[str] = BUILTIN_FILTER_NAMES

HISTORY_SUFFIX = ".history.json"
PYTHON_FILTERS_SUFFIX = ".filters.py"
JAVASCRIPT_FILTERS_SUFFIX = ".filters.js"

# `export function name`, `export async function* name`, `export const|let|var name`, `export { a, b as c }`.
_JS_EXPORT = re.compile(
    r"^[ \t]*export\s+(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)"
    r"|^[ \t]*export\s+(?:const|let|var)\s+([A-Za-z_$][\w$]*)"
    r"|^[ \t]*export\s*\{([^}]*)\}",
    re.MULTILINE,
)


@dataclass(frozen=True)
class InvalidTerms:
    """A terms whose declaration entry is invalid: a failure of that terms only."""

    service_id: str
    type: str
    errors: tuple[DeclarationError, ...]


@dataclass(frozen=True)
class FilterFiles:
    """A service's filters files and the filter names each one defines."""

    python: Path | None = None
    python_names: frozenset[str] = frozenset()
    javascript: Path | None = None
    javascript_names: frozenset[str] = frozenset()

    @property
    def names(self) -> frozenset[str]:
        return self.python_names | self.javascript_names

    def conflicts(self, service_id: str) -> dict[str, str]:
        """The names defined in both files, each with what the terms using it are told."""
        return {
            name: (
                f"filter '{name}' is defined both in {service_id}{PYTHON_FILTERS_SUFFIX} and in "
                f"{service_id}{JAVASCRIPT_FILTERS_SUFFIX}: rename or remove one of them"
            )
            for name in self.python_names & self.javascript_names
        }


def declaration_folder_files(folder: Path) -> set[str]:
    """The names of the files in a declarations folder. An entry that cannot be looked at (a link
    to itself, no permission) counts as a file, so reading it fails for its service alone.

    Raises DeclarationError when the folder itself cannot be listed."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError as error:
        message = "no such folder: expected the collection's declarations here"
        raise DeclarationError(folder, message) from error
    except OSError as error:
        raise DeclarationError(folder, f"cannot be listed: {error.strerror or error}") from error
    names: set[str] = set()
    for entry in entries:
        try:
            if entry.is_file():
                names.add(entry.name)
        except OSError:
            names.add(entry.name)
    return names


@dataclass(frozen=True)
class Collection:
    """The services of a collection that loaded, and the files that did not."""

    #: The folder of the service declarations.
    declarations_path: Path
    #: Services by ID, in alphabetical order.
    services: dict[str, Service]
    #: One error per file that could not be used; its service (or its history) is left out.
    errors: tuple[DeclarationError, ...] = ()
    #: Things to fix that do not stop tracking, each naming its file.
    warnings: tuple[str, ...] = ()
    #: The content of `metadata.yml`, or None when the collection has none.
    metadata: dict[str, Any] | None = None
    #: The filters files of each service that has some.
    filter_files: dict[str, FilterFiles] = field(default_factory=dict)

    @property
    def filters_paths(self) -> dict[str, Path]:
        """The `SERVICE_ID.filters.py` of each service that has one."""
        return {sid: files.python for sid, files in self.filter_files.items() if files.python is not None}

    def select(
        self, service_ids: Iterable[str] = (), terms_types: Iterable[str] = ()
    ) -> list[Terms | InvalidTerms]:
        """The terms to track: all of them, or those of the given services and terms types.

        Services come in alphabetical order, and each one's terms by type; terms whose entry is
        invalid come as `InvalidTerms`. Raises SettingsError for a service ID that no file has and
        for a terms type that none of the chosen services declares, since a typo would otherwise
        track nothing. A service whose file is broken is in `errors`, not in the selection.
        """
        wanted_ids = sorted(set(service_ids))
        for service_id in wanted_ids:
            if service_id not in self.services and not self._failed(service_id):
                raise SettingsError(unknown_service(service_id, self.services, self.declarations_path))
        wanted_types = set(terms_types)
        chosen = [
            item
            for service_id in (wanted_ids or list(self.services))
            if service_id in self.services
            for item in service_items(self.services[service_id])
            if not wanted_types or item.type in wanted_types
        ]
        missing = sorted(wanted_types - {item.type for item in chosen})
        if missing and not (wanted_ids and all(self._failed(sid) for sid in wanted_ids)):
            declared = sorted(
                {
                    t
                    for sid in (wanted_ids or self.services)
                    if sid in self.services
                    for t in _types(self.services[sid])
                }
            )
            raise SettingsError(
                f"no selected service declares the terms type '{missing[0]}'; "
                f"they declare: {', '.join(declared) or 'nothing'}"
            )
        return chosen

    def _failed(self, service_id: str) -> bool:
        return any(error.path.name == f"{service_id}.json" for error in self.errors)


def service_items(service: Service) -> Iterator[Terms | InvalidTerms]:
    """A service's terms by type, those whose entry is invalid as `InvalidTerms`."""
    for terms_type in sorted(_types(service)):
        if terms_type in service.terms:
            yield service.terms[terms_type]
        else:
            yield InvalidTerms(service.id, terms_type, service.invalid[terms_type])


def _types(service: Service) -> set[str]:
    return set(service.terms) | set(service.invalid)


def unknown_service(service_id: str, known: Iterable[str], declarations: Path) -> str:
    """The message for a service ID no declaration file has, with the closest one."""
    # Case-insensitive, since IDs are file names and a wrong case is the commonest typo.
    folded = {name.casefold(): name for name in known}
    close = difflib.get_close_matches(service_id.casefold(), list(folded), n=1)
    hint = f" (did you mean '{folded[close[0]]}'?)" if close else ""
    return f"unknown service '{service_id}'{hint}: there is no {declarations / service_id}.json"


def load_collection(
    folder: Path | str,
    *,
    terms_types: Iterable[str] | None = None,
    builtin_filters: frozenset[str] = DEFAULT_BUILTIN_FILTERS,
    services: Iterable[str] | None = None,
) -> Collection:
    """Read a collection: `folder` is its root (holding `declarations/`) or its declarations folder.

    `metadata.yml` is read from the root, which is the declarations folder's parent when `folder`
    has no `declarations/` subfolder. `terms_types` are the allowed terms types (by default OTA's
    standard ones); `builtin_filters` the filter names every declaration may use; `services`, when
    given, the only services to read. Raises DeclarationError only when the folder itself is
    missing, SettingsError for a service in `services` that has no declaration file.
    """
    reader = CollectionReader(
        folder, terms_types=terms_types, builtin_filters=builtin_filters, services=services
    )
    return reader.load()


class CollectionReader:
    """A collection read one service at a time, so that tracking can start before it is all read.

    Opening lists the files (and raises DeclarationError when the folder is missing, SettingsError
    when `services` names one without a declaration); `terms()` yields the terms of each service as
    soon as its files are parsed; `load()` reads what is left and returns the whole `Collection`.
    `filter_files` fills in as services are read.
    """

    def __init__(
        self,
        folder: Path | str,
        *,
        terms_types: Iterable[str] | None = None,
        builtin_filters: frozenset[str] = DEFAULT_BUILTIN_FILTERS,
        services: Iterable[str] | None = None,
    ) -> None:
        folder = Path(folder)
        if (folder / "declarations").is_dir():
            self.root, self.declarations = folder, folder / "declarations"
        else:
            self.root, self.declarations = folder.parent, folder
        # One listing instead of a stat per possible file (history, filters) of each service.
        self._names = declaration_folder_files(self.declarations)
        self._allowed_types = frozenset(STANDARD_TERMS_TYPES if terms_types is None else terms_types)
        self._builtin_filters = builtin_filters
        #: Every service ID of the folder, sorted.
        self.service_ids = sorted(
            name[: -len(".json")]
            for name in self._names
            if name.endswith(".json") and not name.endswith(HISTORY_SUFFIX) and not name.startswith(".")
        )
        hidden = sorted(name for name in self._names if name.startswith(".") and name.endswith(".json"))
        selected = self.service_ids if services is None else sorted(set(services))
        for service_id in selected:
            if service_id not in self.service_ids:
                raise SettingsError(unknown_service(service_id, self.service_ids, self.declarations))
        self.services: dict[str, Service] = {}
        self.errors: list[DeclarationError] = []
        self.warnings: list[str] = [
            f"{self.declarations / name}: ignored: a service ID (the file name) cannot start with a dot"
            for name in hidden
        ]
        self.filter_files: dict[str, FilterFiles] = {}
        #: Each terms entry of the services read, as its file had it: (service ID, terms type) → the
        #: raw JSON object (`ota.declarations.history` keeps the entry each version came from).
        self.entries: dict[tuple[str, str], dict[str, Any]] = {}
        self._unread = iter(selected)
        self._whole = services is None

    def terms(self) -> Iterator[Terms | InvalidTerms]:
        """Every terms of the collection, each service's by type, read as they are asked for."""
        for service in self._read():
            yield from service_items(service)

    def load(self) -> Collection:
        """The whole collection (reading what `terms()` has not read yet)."""
        for _ in self._read():
            pass
        errors, warnings = list(self.errors), list(self.warnings)
        if self._whole:
            warnings.extend(_orphans(self.declarations, self._names, self.service_ids))
        metadata = None
        try:
            metadata = read_metadata_file(self.root / "metadata.yml")
        except DeclarationError as error:
            errors.append(error)
        return Collection(
            declarations_path=self.declarations,
            services=dict(self.services),
            errors=tuple(errors),
            warnings=tuple(warnings),
            metadata=metadata,
            filter_files=dict(self.filter_files),
        )

    def _read(self) -> Iterator[Service]:
        """The services not read yet, each read when asked for (shared by `terms()` and `load()`)."""
        for service_id in self._unread:
            service = self._read_service(service_id)
            if service is not None:
                self.services[service_id] = service
                self.warnings.extend(service.warnings)
                yield service

    def _read_service(self, service_id: str) -> Service | None:
        path = self.declarations / f"{service_id}.json"
        if problem := service_id_problem(service_id):
            self.errors.append(DeclarationError(path, f"cannot be a service declaration: {problem}"))
            return None
        try:
            files = self._filter_files(service_id)
            data = read_json(path)
            service = parse_service(
                service_id,
                data,
                path=path,
                terms_types=self._allowed_types,
                known_filters=self._builtin_filters | files.names,
                filter_conflicts=files.conflicts(service_id),
                strict=False,
            )
        except DeclarationError as error:
            self.errors.append(error)
            return None
        except RecursionError:  # parsed, but nested deeper than the schema checks can walk
            self.errors.append(DeclarationError(path, "is not a declaration: its JSON is nested too deeply"))
            return None
        terms = (data.get("terms") or data.get("documents")) if isinstance(data, dict) else None
        if isinstance(terms, dict):
            for terms_type, entry in terms.items():
                if isinstance(entry, dict):
                    self.entries[service_id, terms_type] = entry
        if files.python is not None or files.javascript is not None:
            self.filter_files[service_id] = files
        history_path = path.with_name(service_id + HISTORY_SUFFIX)
        if history_path.name in self._names:
            service = replace(service, history_path=history_path)
        return service

    def _filter_files(self, service_id: str) -> FilterFiles:
        python = self.declarations / f"{service_id}{PYTHON_FILTERS_SUFFIX}"
        javascript = self.declarations / f"{service_id}{JAVASCRIPT_FILTERS_SUFFIX}"
        has_python, has_javascript = python.name in self._names, javascript.name in self._names
        return FilterFiles(
            python=python if has_python else None,
            python_names=python_filter_names(python) if has_python else frozenset(),
            javascript=javascript if has_javascript else None,
            javascript_names=javascript_filter_names(javascript) if has_javascript else frozenset(),
        )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def service_id_problem(service_id: str) -> str | None:
    """Why a file name cannot be a service ID (it names folders and commit subjects), or None.

    OTA's IDs keep spaces, capitals and punctuation; a line break or another control character
    would split commit subjects, and leading or trailing spaces cannot be told apart by readers.
    """
    if not service_id:
        return "the service ID (the file name without .json) is empty"
    if _CONTROL.search(service_id):
        return f"the service ID {service_id!r} contains a line break or another control character"
    if service_id != service_id.strip():
        return f"the service ID {service_id!r} starts or ends with a space"
    # Read from a folder, an ID is a file name; given on a command line, it could be a path.
    if "/" in service_id or "\\" in service_id:
        return f"the service ID {service_id!r} contains a slash: it is a file name, never a path"
    if service_id.startswith("."):
        return f"the service ID {service_id!r} starts with a dot: such files are ignored"
    return None


def python_filter_names(path: Path) -> frozenset[str]:
    """The filters a `SERVICE_ID.filters.py` defines, found by parsing it (never by running it).

    Filters are the functions defined at the top level whose names do not start with `_` (and
    names bound to a lambda there). Raises DeclarationError naming the file when it cannot be read
    or parsed.
    """
    source = read_text(path)
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as error:
        where = f" at line {error.lineno}" if isinstance(error, SyntaxError) and error.lineno else ""
        raise DeclarationError(
            path, f"is not valid Python{where}: {error.msg if isinstance(error, SyntaxError) else error}"
        ) from error
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return frozenset(name for name in names if not name.startswith("_"))


def javascript_filter_names(path: Path) -> frozenset[str]:
    """The names a `SERVICE_ID.filters.js` module exports, found by reading its `export` statements."""
    names: set[str] = set()
    for match in _JS_EXPORT.finditer(read_text(path)):
        function, variable, listed = match.groups()
        if function or variable:
            names.add(function or variable)
            continue
        for item in listed.split(","):
            exported = item.split(" as ")[-1].strip()
            if exported and exported != "default":
                names.add(exported)
    return frozenset(names)


def load_history(
    service: Service,
    *,
    terms_types: Iterable[str] | None = None,
    known_filters: Iterable[str] | None = None,
) -> Service:
    """The service with its earlier declarations, read from its `SERVICE_ID.history.json`.

    History files are read only when an earlier declaration is needed (re-extracting an old
    snapshot), never to track. What Open Terms Archive's engine tolerates in them is tolerated, with
    a warning added to the service's. Raises DeclarationError naming the file when it is invalid.
    """
    if service.history_path is None:
        return service
    data, warnings = tolerate_history(read_json(service.history_path), service.history_path)
    history = parse_history(
        service.id,
        data,
        path=service.history_path,
        terms_types=frozenset(STANDARD_TERMS_TYPES if terms_types is None else terms_types),
        known_filters=None if known_filters is None else frozenset(known_filters),
    )
    return replace(service, history=history, warnings=(*service.warnings, *warnings))


def _orphans(declarations: Path, names: Iterable[str], service_ids: Iterable[str]) -> list[str]:
    """History and filters files whose declaration is missing: probably a renamed service."""
    known = set(service_ids)
    found = []
    for suffix in (HISTORY_SUFFIX, JAVASCRIPT_FILTERS_SUFFIX, PYTHON_FILTERS_SUFFIX):
        for name in sorted(names):
            service_id = name[: -len(suffix)]
            if name.endswith(suffix) and service_id not in known:
                found.append(
                    f"{declarations / name}: there is no {service_id}.json beside it, so it is unused"
                )
    return found


def filters_of(files: Mapping[str, FilterFiles], service_id: str) -> FilterFiles:
    """The filters files of a service (none when it has none)."""
    return files.get(service_id) or FilterFiles()
