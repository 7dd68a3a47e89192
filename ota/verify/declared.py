"""The declaration of a terms as it was in force at a date, from the best source there is.

1. When the declarations folder is in a git repository: the files as of the last commit made
   at or before the date (`ota.store.declared.DeclarationsHistory`);
2. else the entries of `SERVICE_ID.history.json` by `validUntil`;
3. else the current declaration.

Service filters follow the same rule: a `SERVICE_ID.filters.py` of an old commit is written to a
temporary folder so that the extraction processes can import it; the filters a declaration names
that only `SERVICE_ID.filters.js` defines are reported, since they run in a browser.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ota.declarations import STANDARD_TERMS_TYPES, Service, Terms, parse_service, terms_in_force
from ota.declarations.collection import Collection, javascript_filter_names, load_history, python_filter_names
from ota.errors import DeclarationError
from ota.extract.filters import BUILTIN_FILTER_NAMES
from ota.store.declared import DeclarationsHistory, ServiceState

#: How long a declaration change may take to reach the tracker (a deployment), or how early a
#: tracker may run a declaration before it is merged: a difference is explained by a declaration
#: of that span around the version's date.
DEPLOY_LAG = timedelta(days=7)


@dataclass(frozen=True)
class Declared:
    """One terms' declaration in force at some date, and where it comes from."""

    #: The terms, or None when there is none then (`error` says why).
    terms: Terms | None
    #: Where it comes from, for messages: "declarations commit 1a2b3c4d5e6f (2024-05-01)"…
    origin: str
    #: The Python filters file to run with it.
    filters_path: Path | None = None
    #: The filters it names that only the service's JavaScript filters file defines.
    javascript_filters: frozenset[str] = frozenset()
    #: That JavaScript filters file (as it was then), when it names some.
    javascript_path: Path | None = None
    #: Every name that file exports (built-in names run by their JavaScript counterparts beside them).
    javascript_names: frozenset[str] = frozenset()
    error: str = ""
    #: What tells two declarations apart (the terms and the filters files they run with).
    key: tuple[Any, ...] = ()
    #: When it took force, when known (a declarations commit's date, just after a `validUntil`).
    since: datetime | None = None


class Declarations:
    """Declarations in force at any date, for one collection (read-only; caches what it parses)."""

    def __init__(
        self,
        collection: Collection,
        history: DeclarationsHistory | None,
        scratch: Path,
        *,
        terms_types: Iterable[str] = (),
    ) -> None:
        """`scratch` is a folder for the old filters files extraction imports."""
        self._collection = collection
        self._history = history
        self._scratch = scratch
        self._extra_types = frozenset(terms_types)
        self._parsed: dict[tuple[str, str], Service | str] = {}
        self._with_history: dict[str, Service | str] = {}
        self._filter_files: dict[str, Path] = {}
        self._memo: dict[tuple[str, str, object], Declared] = {}

    @property
    def versioned(self) -> bool:
        """Whether the declarations' history comes from git."""
        return self._history is not None

    def in_force(self, service_id: str, terms_type: str, date: datetime) -> Declared:
        """The declaration of `terms_type` in force at `date`."""
        if self._history is not None:
            state = self._history.at(service_id, date)
            if state is None:
                return Declared(
                    None, "the declarations repository", error=f"{service_id} was not declared yet"
                )
            return self._from_state(service_id, terms_type, state)
        return self._from_folder(service_id, terms_type, date)

    def near(self, service_id: str, terms_type: str, date: datetime) -> list[Declared]:
        """Other declarations that may have been in force at `date`: those of the commits within
        `DEPLOY_LAG` of it, the history file's entry and the current declaration."""
        found: list[Declared] = []
        if self._history is not None:
            states = self._history.states(service_id)
            dates = [state.date for state in states]
            start = bisect.bisect_left(dates, date - DEPLOY_LAG)
            end = bisect.bisect_right(dates, date + DEPLOY_LAG)
            # The state before the window was in force at its start: a deployment may have lagged.
            for state in states[max(0, start - 1) : end]:
                found.append(self._from_state(service_id, terms_type, state))
            found.append(self._from_folder(service_id, terms_type, date))
        found.append(self._current(service_id, terms_type))
        return found

    def changes(
        self, service_id: str, terms_type: str, start: datetime, end: datetime | None
    ) -> list[Declared]:
        """The declarations that took force after `start` and up to `end` (None: up to now), each
        differing from the one before it; their `since` says when."""
        found: list[Declared] = []
        previous = self.in_force(service_id, terms_type, start).key
        if self._history is not None:
            for state in self._history.states(service_id):
                if state.date <= start or (end is not None and state.date > end):
                    continue
                declared = self._from_state(service_id, terms_type, state)
                if declared.key != previous and declared.terms is not None:
                    found.append(declared)
                previous = declared.key
            return found
        service = self._service_with_history(service_id)
        if isinstance(service, str):
            return found
        for entry in service.history.get(terms_type, ()):
            until = entry.valid_until
            if until is None or until < start or (end is not None and until >= end):
                continue
            after = self._from_folder(service_id, terms_type, until + timedelta(microseconds=1))
            if after.key != previous and after.terms is not None:
                found.append(replace(after, since=until))
            previous = after.key
        return found

    # -- from git ----------------------------------------------------------------------------------

    def _from_state(self, service_id: str, terms_type: str, state: ServiceState) -> Declared:
        key = (service_id, terms_type, state.commit_id)
        if key not in self._memo:
            self._memo[key] = self._read_state(service_id, terms_type, state)
        return self._memo[key]

    def _read_state(self, service_id: str, terms_type: str, state: ServiceState) -> Declared:
        assert self._history is not None
        origin = f"declarations commit {state.commit_id[:12]} ({state.date:%Y-%m-%d %H:%M})"
        blob = state.blob(".json")
        if blob is None:
            return Declared(None, origin, error=f"{service_id}.json did not exist", since=state.date)
        service = self._parse(service_id, blob)
        if isinstance(service, str):
            return Declared(None, origin, error=service, since=state.date)
        python = state.blob(".filters.py")
        javascript = state.blob(".filters.js")
        filters_path = self._filters_file(service_id, ".filters.py", python) if python else None
        javascript_path = self._filters_file(service_id, ".filters.js", javascript) if javascript else None
        return self._declared(
            service, terms_type, origin, filters_path, javascript_path, (python, javascript), state.date
        )

    def _parse(self, service_id: str, blob: str) -> Service | str:
        assert self._history is not None
        if (service_id, blob) not in self._parsed:
            path = Path(f"{service_id}.json@{blob[:12]}")
            try:
                data = json.loads(self._history.read(blob).decode("utf-8-sig"))
                self._parsed[service_id, blob] = parse_service(
                    service_id, data, path=path, terms_types=self._types(data), strict=False
                )
            except (ValueError, RecursionError) as error:
                self._parsed[service_id, blob] = f"{service_id}.json is not valid JSON: {error}"
            except DeclarationError as error:
                self._parsed[service_id, blob] = str(error)
        return self._parsed[service_id, blob]

    def _filters_file(self, service_id: str, suffix: str, blob: str) -> Path:
        """An old filters file, written once under the scratch folder (extraction imports a path)."""
        assert self._history is not None
        if blob not in self._filter_files:
            path = self._scratch / blob / f"{service_id}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self._history.read(blob))
            self._filter_files[blob] = path
        return self._filter_files[blob]

    # -- from the folder -----------------------------------------------------------------------------

    def _from_folder(self, service_id: str, terms_type: str, date: datetime) -> Declared:
        service = self._service_with_history(service_id)
        if isinstance(service, str):
            return Declared(None, f"{service_id}.json", error=service)
        try:
            terms: Terms | None = terms_in_force(service, terms_type, date)
        except KeyError:
            terms = None
        until = terms.valid_until if terms is not None else None
        key = (service_id, terms_type, until)
        if key not in self._memo:
            filters_path, javascript_path, files_key = self._current_filters(service_id)
            origin = f"{service_id}.json"
            if terms is not None and until is not None:
                origin = f"{service_id}.history.json (valid until {until:%Y-%m-%d %H:%M})"
                service = replace(service, terms={**service.terms, terms_type: terms})
            self._memo[key] = self._declared(
                service, terms_type, origin, filters_path, javascript_path, files_key
            )
        return self._memo[key]

    def _current(self, service_id: str, terms_type: str) -> Declared:
        service = self._collection.services.get(service_id)
        if service is None:
            return Declared(None, f"{service_id}.json", error=f"there is no {service_id}.json")
        return self._declared(service, terms_type, f"{service_id}.json", *self._current_filters(service_id))

    def _current_filters(self, service_id: str) -> tuple[Path | None, Path | None, tuple[Any, ...]]:
        files = self._collection.filter_files.get(service_id)
        if files is None:
            return None, None, (None, None)
        return files.python, files.javascript, (str(files.python), str(files.javascript))

    def _service_with_history(self, service_id: str) -> Service | str:
        if service_id not in self._with_history:
            service = self._collection.services.get(service_id)
            if service is None:
                self._with_history[service_id] = f"there is no {service_id}.json"
            else:
                try:
                    self._with_history[service_id] = load_history(
                        service, terms_types=(*STANDARD_TERMS_TYPES, *self._extra_types, *service.terms)
                    )
                except DeclarationError as error:
                    self._with_history[service_id] = str(error)
        return self._with_history[service_id]

    # -- both ----------------------------------------------------------------------------------------

    def _declared(
        self,
        service: Service,
        terms_type: str,
        origin: str,
        filters_path: Path | None,
        javascript_path: Path | None,
        files_key: tuple[Any, ...],
        since: datetime | None = None,
    ) -> Declared:
        terms = service.terms.get(terms_type)
        if terms is None:
            problems = service.invalid.get(terms_type)
            error = "; ".join(map(str, problems)) if problems else f"{service.id} declares no {terms_type}"
            return Declared(None, origin, error=error, key=(None, files_key), since=since)
        try:
            python_names = python_filter_names(filters_path) if filters_path else frozenset()
            javascript_names = javascript_filter_names(javascript_path) if javascript_path else frozenset()
        except DeclarationError as error:
            return Declared(None, origin, error=str(error), key=(None, files_key), since=since)
        used = {ref.name for document in terms.documents for ref in document.filters}
        needs = frozenset(used - BUILTIN_FILTER_NAMES - python_names) & javascript_names
        return Declared(
            terms,
            origin,
            filters_path=filters_path if python_names & used else None,
            javascript_filters=needs,
            javascript_path=javascript_path if needs else None,
            javascript_names=javascript_names if needs else frozenset(),
            key=(replace(terms, valid_until=None), files_key),
            since=since,
        )

    def _types(self, data: Any) -> frozenset[str]:
        """Any terms type a file declares is read: an old file may use a type renamed since."""
        declared = (data.get("terms") or data.get("documents") or {}) if isinstance(data, dict) else {}
        names = frozenset(declared) if isinstance(declared, dict) else frozenset()
        return frozenset(STANDARD_TERMS_TYPES) | self._extra_types | names
