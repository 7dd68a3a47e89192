"""A declarations folder's history kept without git: ota writes `SERVICE_ID.history.json` for it.

A collection whose declarations folder is not a git repository (a regulator's, kept by hand) has no
record of the declaration a version was extracted with once someone edits it: a third party could
no longer derive the versions recorded before the edit. So ota keeps, beside its extraction state
(in the versions repository's `.git`, never committed), the entry of each terms as its latest run
read it; when a run tracks a terms whose entry changed since, the earlier entry is added to
`SERVICE_ID.history.json` with its `validUntil` (OTA-FORMATS §3: inclusive), as Open Terms
Archive's contributors do by hand. `validUntil` is one second before the run started: every
version recorded before is dated at or before it, every version of this run after it.

Only the entries of `SERVICE_ID.json` are kept: a change to the service's filters files
(`SERVICE_ID.filters.py`, `.filters.js`) cannot be written in a history file; `ota verify` says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ota.errors import DeclarationError, RecordError

FILE_NAME = "ota-declarations.json"


def keep_declarations(
    declarations: Path,
    versions: Path,
    tracked: Iterable[tuple[str, str]],
    entries: Mapping[tuple[str, str], dict[str, Any]],
    started: datetime,
) -> list[str]:
    """After a run that `started` and tracked the terms `tracked` ((service ID, terms type)…) of a
    declarations folder that is not a git repository: add the entries that changed since their
    terms' last run to the services' history files. `entries` are the terms entries as the run
    read them (`CollectionReader.entries`): a file edited during the run is kept as it was used.
    Returns warnings; RecordError when the kept entries cannot be saved."""
    kept_path = versions / ".git" / FILE_NAME
    kept = _read(kept_path)
    until = (started.replace(microsecond=0) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    warnings: list[str] = []
    written: dict[str, dict[str, Any]] = {}
    for service_id, terms_type in tracked:
        current = entries.get((service_id, terms_type))
        if current is None:
            continue
        try:
            service = kept.setdefault(service_id, {})
            previous = service.get(terms_type)
            if previous is not None and previous != current:
                if service_id not in written:
                    written[service_id] = _history(declarations, service_id)
                superseded = written[service_id].setdefault(terms_type, [])
                if not isinstance(superseded, list):
                    raise DeclarationError(
                        declarations / f"{service_id}.history.json",
                        f"{terms_type!r} is not a list, so the declaration in force until now was not added",
                    )
                superseded.append({**previous, "validUntil": until})
                superseded.sort(key=_valid_until)
            service[terms_type] = current
        except DeclarationError as error:
            warnings.append(str(error))
    for service_id, history in written.items():
        path = declarations / f"{service_id}.history.json"
        try:
            _write(path, history)
        except OSError as error:
            warnings.append(f"{path}: could not keep the earlier declarations: {error}")
            return warnings  # the kept entries are not updated: the next run tries again
    try:
        _write(kept_path, kept, indent=None)
    except OSError as error:
        raise RecordError(versions, f"could not save {FILE_NAME}: {error}") from error
    return warnings


def _valid_until(entry: Any) -> str:
    return str(entry.get("validUntil", "")) if isinstance(entry, dict) else ""


def _history(declarations: Path, service_id: str) -> dict[str, Any]:
    path = declarations / f"{service_id}.history.json"
    try:
        data = json.loads(path.read_text("utf-8-sig"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        message = f"cannot be read, so no earlier declaration was added: {error}"
        raise DeclarationError(path, message) from error
    if not isinstance(data, dict):
        raise DeclarationError(path, "is not an object, so no earlier declaration was added")
    return data


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}  # missing or unreadable: entries are kept from this run on
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: Any, indent: int | None = 2) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)
