"""What `ota serve` reads: the collection, the versions index, the repositories, and small caches.

An `Archive` is built once by `create_app` and refreshed cheaply at each request: the versions
branch is read (one reference), and only when it moved is the index brought up to date; the
declarations folder is read again only when its modification time changes. Texts, rendered HTML
and diffs are cached by blob ids (content addresses: an entry never goes stale).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from markupsafe import Markup

from ota.declarations import STANDARD_TERMS_TYPES, Service
from ota.declarations.collection import Collection, load_collection
from ota.diff import TextDiff, diff_texts
from ota.diff.units import Unit, units
from ota.errors import DeclarationError, RecordError
from ota.settings import Settings
from ota.store.reader import RepositoryReader
from ota.store.records import version_path_for
from ota.web.counts import CountFiller
from ota.web.health import Health, read_health, status_mtime
from ota.web.index import VersionIndex
from ota.web.render import markdown_html
from ota.web.rendered_diff import RenderedDiff, diff_units
from ota.web.search import SearchIndex
from ota.web.sqlite import sqlite_damage

K = TypeVar("K")
V = TypeVar("V")

log = logging.getLogger("ota.web")


class LRU(Generic[K, V]):
    """A small least-recently-used cache, safe between threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class Terms:
    """A terms the viewer knows of: declared in the collection, or found in the repository."""

    service_id: str
    terms_type: str

    @property
    def path(self) -> str:
        return version_path_for(self.service_id, self.terms_type)


class Archive:
    """The collection and its versions, for the viewer and the API."""

    def __init__(self, settings: Settings, *, count_in_background: bool = True) -> None:
        self.settings = settings
        self.versions = RepositoryReader.open(settings.collection.versions)
        self.snapshots: RepositoryReader | None = None
        try:
            self.snapshots = RepositoryReader.open(settings.collection.snapshots)
        except RecordError:
            self.snapshots = None  # the viewer shows versions without their snapshots
        self.index = VersionIndex(self.versions)
        self.filler = CountFiller(self.index)
        self.search = SearchIndex(self.index)
        self._background = count_in_background
        self._lock = threading.RLock()
        self._declarations_mtime: float | None = None
        self.collection = self._load_collection()
        self.texts: LRU[str, str] = LRU(64)
        self.pages: LRU[str, Markup] = LRU(32)
        self.diffs: LRU[tuple[str | None, str], TextDiff] = LRU(16)
        self.rendered_diffs: LRU[tuple[str | None, str, bool], RenderedDiff] = LRU(16)
        self.units: LRU[str | None, list[Unit]] = LRU(32)
        #: Counts the changes of the index and the collection: what is derived from both alone is
        #: kept until it moves (`derived`).
        self.generation = 0
        self._derived: dict[str, tuple[int, Any]] = {}
        self._health: tuple[tuple[float | None, int], Health] | None = None
        self.refresh(force=True)

    # -- keeping up -------------------------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> None:
        """Follow what `ota track` published and what contributors changed in the declarations."""
        with self._lock:
            added = self.index.sync()
            if added or force:
                self.generation += 1
                if self._background:
                    self.filler.start()
                    self.search.start()
                else:
                    from ota.web.counts import count_inline

                    while count_inline(self.index):
                        pass
                    self.search.sync()
            mtime = _mtime(self.settings.collection.declarations)
            if mtime != self._declarations_mtime:
                self.collection = self._load_collection()
                self.generation += 1
            if self.snapshots is not None:
                self.snapshots.refresh()

    def rebuild_index(self, error: Exception) -> None:
        """An index is damaged (SQLite said `error`): build it again, and all derived from it. The
        search index is checked first: when it alone is damaged, it alone is built again."""
        with self._lock:
            if self.search.damage() is not None:
                self.search.rebuild()
                if sqlite_damage(self.index.db) is None:
                    return
            self.filler.stop()
            self.index.rebuild(str(error))
            self.filler = CountFiller(self.index)
            self.refresh(force=True)

    def close(self) -> None:
        self.filler.stop()
        self.search.close()
        self.index.close()

    def _load_collection(self) -> Collection:
        self._declarations_mtime = _mtime(self.settings.collection.declarations)
        types = (*STANDARD_TERMS_TYPES, *self.settings.collection.terms_types)
        try:
            collection = load_collection(self.settings.collection.declarations, terms_types=types)
        except DeclarationError:
            collection = Collection(declarations_path=self.settings.collection.declarations, services={})
        for error in collection.errors:  # served without it: said once, in one line naming the file
            if error.path.name == "metadata.yml":
                log.warning("%s (the API's metadata leaves it out)", error)
        _raw_declaration.cache_clear()
        return collection

    def derived(self, name: str, make: Callable[[], V]) -> V:
        """`make()`, computed again only after the index or the collection changed."""
        with self._lock:
            generation = self.generation
            kept = self._derived.get(name)
            if kept is not None and kept[0] == generation:
                value: V = kept[1]
                return value
        value = make()
        with self._lock:
            self._derived[name] = (generation, value)
        return value

    # -- what exists --------------------------------------------------------------------------------------

    @property
    def services(self) -> dict[str, Service]:
        return self.collection.services

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.collection.metadata or {})

    def terms(self, service_id: str, terms_type: str) -> Terms | None:
        """The terms, if the collection declares it or the repository has versions of it.

        Every lookup from a URL goes through here (or `service`) before anything is read."""
        service = self.services.get(service_id)
        if (service is not None and terms_type in service.terms) or self.index.known(service_id, terms_type):
            return Terms(service_id, terms_type)
        return None

    def knows_service(self, service_id: str) -> bool:
        return service_id in self.services or self.index.known(service_id)

    def raw_declaration(self, service_id: str) -> dict[str, Any] | None:
        """A declared service's JSON as written (the API shows selectors as declared)."""
        if service_id not in self.services:
            return None
        return _raw_declaration(self.collection.declarations_path / f"{service_id}.json")

    def health(self) -> Health:
        """The tracking status (`ota.web.health`), read again when the status file changes."""
        now = datetime.now(UTC)
        key = (status_mtime(self.settings.status.file), int(now.timestamp()) // 60)
        kept = self._health
        if kept is not None and kept[0] == key:
            return kept[1]
        health = read_health(self.settings, now)
        self._health = (key, health)
        return health

    # -- contents --------------------------------------------------------------------------------------

    def text(self, blob_id: str | None) -> str:
        """A version's Markdown (empty for none)."""
        if blob_id is None:
            return ""
        return self.texts.get(blob_id, lambda: self.versions.blob(blob_id).decode("utf-8", errors="replace"))

    def html(self, blob_id: str) -> Markup:
        return self.pages.get(blob_id, lambda: markdown_html(self.text(blob_id)))

    def diff(self, old_blob: str | None, new_blob: str) -> TextDiff:
        return self.diffs.get(
            (old_blob, new_blob), lambda: diff_texts(self.text(old_blob), self.text(new_blob))
        )

    def rendered_diff(self, old_blob: str | None, new_blob: str, *, side: bool = False) -> RenderedDiff:
        """Two versions rendered, with their differences marked (`ota.web.rendered_diff`)."""

        def parsed(blob: str | None) -> list[Unit]:
            return self.units.get(blob, lambda: units(self.text(blob)))

        return self.rendered_diffs.get(
            (old_blob, new_blob, side), lambda: diff_units(parsed(old_blob), parsed(new_blob), side=side)
        )


@functools.lru_cache(maxsize=256)
def _raw_declaration(path: Path) -> dict[str, Any] | None:
    import json

    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _mtime(folder: Path) -> float | None:
    try:
        return os.stat(folder).st_mtime
    except OSError:
        return None
