"""Which declarations and terms a contribution changed, for `--modified` checks.

The files of the declarations folder that differ from the main branch (`ota.store.changes`),
mapped to their services; and, for a changed declaration, the terms whose entries differ from the
main branch's, which are the only ones worth fetching again (as OTA's validator narrows it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ota.declarations.collection import HISTORY_SUFFIX, JAVASCRIPT_FILTERS_SUFFIX, PYTHON_FILTERS_SUFFIX
from ota.store.changes import changed_since_main, file_at

_SUFFIXES = (HISTORY_SUFFIX, PYTHON_FILTERS_SUFFIX, JAVASCRIPT_FILTERS_SUFFIX, ".json")


def service_id_of(name: str) -> str | None:
    """The service a file of the declarations folder belongs to (None for other files)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) and not name.startswith("."):
            return name[: -len(suffix)]
    return None


def declared_service_ids(names: Iterable[str]) -> list[str]:
    """The services declared among the file names of a declarations folder (`SERVICE_ID.json`), sorted."""
    return sorted(
        service_id for name in names if (service_id := service_id_of(name)) and name == f"{service_id}.json"
    )


def modified_terms(folder: Path) -> dict[str, set[str] | None]:
    """The services of `folder` changed since main → the terms types to check live (None: all).

    A changed declaration gives the terms whose entries differ; a changed filters file, all of the
    service's terms; a changed history file, none (history is checked against its schema only).
    A service whose declaration was deleted is left out. Raises RecordError.
    """
    folder = folder.resolve()
    changes = changed_since_main(folder)
    found: dict[str, set[str] | None] = {}
    for path in changes.paths:
        service_id = service_id_of(path.name) if path.parent == folder else None
        if service_id is None or not (folder / f"{service_id}.json").is_file():
            continue
        types: set[str] | None
        if path.name == f"{service_id}.json":
            types = _changed_types(folder, changes.merge_base, path)
        elif path.name.endswith(".history.json"):
            types = set()
        else:
            types = None
        if service_id in found:
            earlier = found[service_id]
            types = None if earlier is None or types is None else earlier | types
        found[service_id] = types
    return found


def _changed_types(folder: Path, merge_base: str | None, path: Path) -> set[str] | None:
    """The terms types whose entries differ from the main branch's (None: cannot tell, so all)."""
    before = file_at(folder, merge_base, path) if merge_base else None
    old, new = _terms(before), _terms(path.read_bytes())
    if new is None:
        return None
    if old is None:
        return set(new)
    return {terms_type for terms_type, entry in new.items() if old.get(terms_type) != entry}


def _terms(content: bytes | None) -> dict[str, Any] | None:
    if content is None:
        return None
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except ValueError:
        return None
    terms = data.get("terms", data.get("documents")) if isinstance(data, dict) else None
    return terms if isinstance(terms, dict) else None
