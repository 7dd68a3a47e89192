"""Reading a collection from disk: declarations, their history, service filters and metadata.

    COLLECTION/
      metadata.yml                         collection metadata, kept as a dict
      declarations/SERVICE_ID.json         a service declaration (ota.declarations parses it)
      declarations/SERVICE_ID.history.json its earlier declarations
      declarations/SERVICE_ID.filters.py   its filters, Python functions (OTA uses .filters.js)

A file that cannot be used becomes a `DeclarationError` in `Collection.errors` and the rest loads:
one broken declaration never stops a collection from being tracked.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.machinery
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ota.declarations import STANDARD_TERMS_TYPES, Service, Terms, parse_history, parse_service
from ota.errors import DeclarationError, SettingsError

#: The filters ota implements itself, usable by every declaration.
DEFAULT_BUILTIN_FILTERS: frozenset[str] = frozenset({"removeQueryParams"})

_HISTORY_SUFFIX = ".history.json"
_FILTERS_SUFFIX = ".filters.py"


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
    #: The `SERVICE_ID.filters.py` of each service that has one.
    filters_paths: dict[str, Path] = field(default_factory=dict)

    def select(self, service_ids: Iterable[str] = (), terms_types: Iterable[str] = ()) -> list[Terms]:
        """The terms to track: all of them, or those of the given services and terms types.

        Services come in alphabetical order, and each one's terms by type. Raises SettingsError for
        a service ID that no declaration has (or whose declaration is broken) and for a terms type
        that none of the chosen services declares, since a typo would otherwise track nothing.
        """
        wanted_ids = sorted(set(service_ids)) or list(self.services)
        for service_id in wanted_ids:
            if service_id not in self.services:
                raise SettingsError(self._unknown_service(service_id))
        wanted_types = set(terms_types)
        chosen = [
            terms
            for service_id in wanted_ids
            for terms_type, terms in sorted(self.services[service_id].terms.items())
            if not wanted_types or terms_type in wanted_types
        ]
        missing = sorted(wanted_types - {terms.type for terms in chosen})
        if missing:
            declared = sorted({t for service_id in wanted_ids for t in self.services[service_id].terms})
            raise SettingsError(
                f"no selected service declares the terms type '{missing[0]}'; "
                f"they declare: {', '.join(declared) or 'nothing'}"
            )
        return chosen

    def _unknown_service(self, service_id: str) -> str:
        for error in self.errors:
            if error.path.name == f"{service_id}.json":
                return f"service '{service_id}' could not be loaded: {error}"
        # Case-insensitive, since IDs are file names and a wrong case is the commonest typo.
        folded = {known.casefold(): known for known in self.services}
        close = difflib.get_close_matches(service_id.casefold(), list(folded), n=1)
        hint = f" (did you mean '{folded[close[0]]}'?)" if close else ""
        return f"unknown service '{service_id}'{hint}: there is no {self.declarations_path / service_id}.json"


def load_collection(
    folder: Path | str,
    *,
    terms_types: Iterable[str] | None = None,
    builtin_filters: frozenset[str] = DEFAULT_BUILTIN_FILTERS,
) -> Collection:
    """Read a collection: `folder` is its root (holding `declarations/`) or its declarations folder.

    `metadata.yml` is read from the root, which is the declarations folder's parent when `folder`
    has no `declarations/` subfolder. `terms_types` are the allowed terms types (by default OTA's
    standard ones); `builtin_filters` the filter names every declaration may use. Raises
    DeclarationError only when the folder itself is missing.
    """
    return CollectionReader(folder, terms_types=terms_types, builtin_filters=builtin_filters).load()


class CollectionReader:
    """A collection read one service at a time, so that tracking can start before it is all read.

    Opening lists the files (and raises DeclarationError when the folder is missing); `terms()`
    yields the terms of each service as soon as its files are parsed; `load()` reads what is left
    and returns the whole `Collection`. `filters_paths` fills in as services are read.
    """

    def __init__(
        self,
        folder: Path | str,
        *,
        terms_types: Iterable[str] | None = None,
        builtin_filters: frozenset[str] = DEFAULT_BUILTIN_FILTERS,
    ) -> None:
        folder = Path(folder)
        if (folder / "declarations").is_dir():
            self.root, self.declarations = folder, folder / "declarations"
        else:
            self.root, self.declarations = folder.parent, folder
        try:
            # One listing instead of a stat per possible file (history, filters) of each service.
            self._names = {entry.name for entry in os.scandir(self.declarations) if entry.is_file()}
        except OSError as error:
            message = "no such folder: expected the collection's declarations here"
            raise DeclarationError(self.declarations, message) from error
        self._allowed_types = frozenset(STANDARD_TERMS_TYPES if terms_types is None else terms_types)
        self._builtin_filters = builtin_filters
        self.service_ids = sorted(
            name[: -len(".json")]
            for name in self._names
            if name.endswith(".json") and not name.endswith(_HISTORY_SUFFIX) and not name.startswith(".")
        )
        self.services: dict[str, Service] = {}
        self.errors: list[DeclarationError] = []
        self.warnings: list[str] = []
        self.filters_paths: dict[str, Path] = {}
        self._unread = iter(self.service_ids)

    def terms(self) -> Iterator[Terms]:
        """Every terms of the collection, each service's by type, read as they are asked for."""
        for service in self._read():
            for _, terms in sorted(service.terms.items()):
                yield terms

    def load(self) -> Collection:
        """The whole collection (reading what `terms()` has not read yet)."""
        for _ in self._read():
            pass
        errors, warnings = list(self.errors), list(self.warnings)
        warnings.extend(_orphans(self.declarations, self.service_ids))
        metadata = None
        try:
            metadata = _read_metadata(self.root / "metadata.yml")
        except DeclarationError as error:
            errors.append(error)
        return Collection(
            declarations_path=self.declarations,
            services=dict(self.services),
            errors=tuple(errors),
            warnings=tuple(warnings),
            metadata=metadata,
            filters_paths=dict(self.filters_paths),
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
        filters_path = path.with_name(service_id + _FILTERS_SUFFIX)
        has_filters = filters_path.name in self._names
        try:
            service_filters = load_service_filters(filters_path) if has_filters else {}
            known_filters = self._builtin_filters | service_filters.keys()
            service = parse_service(
                service_id,
                _read_json(path),
                path=path,
                terms_types=self._allowed_types,
                known_filters=known_filters,
            )
        except DeclarationError as error:
            self.errors.append(error)
            return None
        history_path = path.with_name(service_id + _HISTORY_SUFFIX)
        if history_path.name in self._names:
            try:
                history = parse_history(
                    service_id,
                    _read_json(history_path),
                    path=history_path,
                    terms_types=self._allowed_types,
                    known_filters=known_filters,
                )
                service = replace(service, history=history)
            except DeclarationError as error:
                # The current declaration is sound: keep tracking it, and report the history file.
                self.errors.append(error)
        if has_filters:
            self.filters_paths[service_id] = filters_path
        elif f"{service_id}.filters.js" in self._names:
            self.warnings.append(
                f"{path.with_name(service_id + '.filters.js')}: ota cannot run OTA's JavaScript filters; "
                f"write them as Python functions in {filters_path.name}"
            )
        return service


# Loaded filters by (resolved path, modification time, size): a changed file is imported again.
_FILTERS_CACHE: dict[tuple[str, int, int], dict[str, Callable[..., Any]]] = {}


def load_service_filters(path: Path | str) -> dict[str, Callable[..., Any]]:
    """The public functions a `SERVICE_ID.filters.py` defines, by name.

    Functions it imports from elsewhere and names starting with `_` are not filters. The file is
    imported once per version (path, modification time, size). Raises DeclarationError, naming the
    file, when it cannot be read or raises while being imported.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as error:
        raise DeclarationError(path, f"cannot be read: {error.strerror}") from error
    resolved = str(path.resolve())
    key = (resolved, stat.st_mtime_ns, stat.st_size)
    if key not in _FILTERS_CACHE:
        for stale in [cached for cached in _FILTERS_CACHE if cached[0] == resolved]:
            del _FILTERS_CACHE[stale]
        _FILTERS_CACHE[key] = _import_filters(path, resolved)
    return dict(_FILTERS_CACHE[key])


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles from the source every time, so no `__pycache__` lands in the declarations repository."""

    def get_code(self, fullname: str) -> Any:
        return self.source_to_code(self.get_data(self.path), self.path)


def _import_filters(path: Path, resolved: str) -> dict[str, Callable[..., Any]]:
    # One module name per file, unique across collections; registered in sys.modules because
    # dataclasses and pickling look modules up there.
    name = "ota_service_filters_" + hashlib.sha256(resolved.encode()).hexdigest()[:16]
    loader = _SourceOnlyLoader(name, resolved)
    spec = importlib.util.spec_from_file_location(name, resolved, loader=loader)
    assert spec is not None  # always built for a loader and a path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except Exception as error:  # the file is the collection's code: anything can go wrong in it
        sys.modules.pop(name, None)
        raise DeclarationError(path, f"could not be loaded: {type(error).__name__}: {error}") from error
    return {
        function_name: function
        for function_name, function in vars(module).items()
        if not function_name.startswith("_") and inspect.isfunction(function) and function.__module__ == name
    }


def _read_json(path: Path) -> Any:
    """The parsed content of a JSON file, or a DeclarationError saying where it is broken."""
    try:
        # utf-8-sig: editors on Windows may add a byte order mark, which is no reason to fail.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DeclarationError(path, "is not UTF-8 text") from error
    except OSError as error:
        raise DeclarationError(path, f"cannot be read: {error.strerror}") from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DeclarationError(
            path, f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from error


def _read_metadata(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    import yaml  # only collections with metadata need it, and tracking does not: 25 ms off start-up

    try:
        metadata = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as error:
        raise DeclarationError(path, f"cannot be read: {error}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DeclarationError(path, f"is not valid YAML: {problem}{where}") from error
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise DeclarationError(path, "must be a mapping of keys to values, such as `name: My collection`")
    return metadata


def _orphans(declarations: Path, service_ids: Iterable[str]) -> list[str]:
    """History and filters files whose declaration is missing: probably a renamed service."""
    known = set(service_ids)
    found = []
    for suffix in (_HISTORY_SUFFIX, _FILTERS_SUFFIX):
        for path in sorted(declarations.glob("*" + suffix)):
            if path.name[: -len(suffix)] not in known:
                found.append(
                    f"{path}: there is no {path.name[: -len(suffix)]}.json beside it, so it is unused"
                )
    return found
