"""Importing a service's Python filters (`SERVICE_ID.filters.py`): the only place ota runs a
collection's Python code.

It is called only where pages are extracted (the extraction processes, `ota extract`), never
while a collection is read: reading finds the filter names by parsing the file
(`ota.declarations.collection.python_filter_names`).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ota.errors import DeclarationError

# Loaded filters by (resolved path, modification time, size): a changed file is imported again.
_CACHE: dict[tuple[str, int, int], dict[str, Callable[..., Any]]] = {}


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
    if key not in _CACHE:
        for stale in [cached for cached in _CACHE if cached[0] == resolved]:
            del _CACHE[stale]
        _CACHE[key] = _import_filters(path, resolved)
    return dict(_CACHE[key])


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
