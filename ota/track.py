"""Tracking: fetch every terms, record its snapshots, extract and record its version.

Many terms are in flight at once; the fetcher keeps each host to a few requests, extraction runs
in worker processes so that CPU-heavy pages do not stall the network, and both repositories are
written by one recording process (`ota.store.writer`), so commits never interleave. `track` yields one
`Outcome` per terms, in the order they finish; a failure is an outcome, never an exception that
stops the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from ota.declarations import SourceDocument, Terms
from ota.errors import ExtractError, FetchError, OtaError, RecordError
from ota.extract import extract_terms
from ota.fetch import Page
from ota.store import records as record
from ota.store.repository import Repository
from ota.store.writer import Writer
from ota.worker import Worker, WorkerStopped

T = TypeVar("T")

Status = Literal["first", "changed", "upgraded", "unchanged", "failed"]
#: A source document with the snapshot to extract it from: (declaration, content, MIME type).
Source = tuple[SourceDocument, bytes, str]

#: Bump when a change to ota's extraction can change the Markdown of an unchanged snapshot.
EXTRACTION_REVISION = "1"
#: Terms in flight at once, beyond which fetched pages would wait in memory for extraction.
DEFAULT_TERMS_IN_FLIGHT = 128


def utc_now() -> datetime:
    """The current time, timezone-aware (a module-level function: it is sent to the recording process)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    """What tracking one terms gave."""

    terms: Terms
    status: Status
    new_snapshots: int = 0
    version_id: str | None = None
    error: str | None = None
    #: Where a failure happened: "fetch", "extract" or "record".
    stage: str | None = None
    #: Whether extraction was skipped because nothing it depends on changed.
    skipped_extraction: bool = False


class Fetch(Protocol):
    def __call__(self, document: SourceDocument) -> Awaitable[Page]: ...


class Extract(Protocol):
    def __call__(self, sources: Sequence[Source], filters_path: Path | None) -> Awaitable[str]: ...


class ExtractionState:
    """What each version was last extracted from, to skip extractions that cannot change it.

    Kept in the versions repository's `.git` folder (never committed). Save it only once the
    versions repository has published its commits (closed): a state that got ahead of the
    repository would skip versions that were never recorded. Losing it only costs one
    extraction per terms.
    """

    FILE = "ota-extractions.json"

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._data: dict[str, str] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            self._data = {}
        self._dirty = False

    @classmethod
    def of(cls, repository: Repository | Writer) -> ExtractionState:
        return cls(repository.path / ".git" / cls.FILE)

    def get(self, key: str) -> str | None:
        return self._data.get(key)

    def set(self, key: str, value: str) -> None:
        if self._data.get(key) != value:
            self._data[key] = value
            self._dirty = True

    def save(self) -> None:
        """Write the state atomically (temporary file, then rename)."""
        if not self._dirty:
            return
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._data, sort_keys=True), "utf-8")
        temporary.replace(self.path)
        self._dirty = False


def fingerprint(
    terms: Terms, snapshot_ids: Sequence[str], filters_path: Path | None, engine_version: str
) -> str:
    """Everything a version depends on: declaration, filters' code, snapshots, ota's extraction."""
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(d) for d in terms.documents], sort_keys=True, default=str).encode())
    if filters_path is not None:
        digest.update(_file_digest(filters_path))
    digest.update("\0".join(snapshot_ids).encode())
    digest.update(f"{engine_version}/{EXTRACTION_REVISION}".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    """The digest of a service's filters file, read once per version of the file, not per terms."""
    try:
        stat = path.stat()
    except OSError:
        return b""
    return _digest_of(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _digest_of(path: Path, mtime_ns: int, size: int) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def extract_sources(sources: Sequence[Source], filters_path: Path | None) -> str:
    """Extraction as run in a worker process: load the service's filters, then extract."""
    filters = None
    if filters_path is not None:
        from ota.collection import load_service_filters

        filters = load_service_filters(filters_path)
    return extract_terms(sources, filters)


class ProcessExtractor:
    """Extraction in worker processes (or inline with 0 workers), awaitable from the event loop.

    The workers start with the first extraction: a run where nothing changed starts none. A
    worker that dies (a crash of the parser on some page) fails that terms only, and is replaced.
    """

    def __init__(self, workers: int) -> None:
        self._count = workers
        self._idle: asyncio.Queue[Worker] = asyncio.Queue()
        self._workers: list[Worker] = []
        self._started: asyncio.Future[None] | None = None

    async def __call__(self, sources: Sequence[Source], filters_path: Path | None) -> str:
        if self._count <= 0:
            return extract_sources(sources, filters_path)
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)  # every caller gets the error if they cannot start
        worker = await self._idle.get()
        try:
            return await worker.call(extract_sources, list(sources), filters_path)
        except WorkerStopped as exc:
            self._workers.remove(worker)
            worker = await Worker.start()
            self._workers.append(worker)
            raise ExtractError(f"the extraction process stopped while extracting this terms: {exc}") from exc
        finally:
            self._idle.put_nowait(worker)

    async def _start(self) -> None:
        started = await asyncio.gather(*(Worker.start() for _ in range(self._count)), return_exceptions=True)
        workers = [worker for worker in started if isinstance(worker, Worker)]
        failures = [error for error in started if not isinstance(error, Worker)]
        if failures:
            for worker in workers:
                await worker.stop()
            raise ExtractError(f"the extraction processes could not start: {failures[0]}") from failures[0]
        for worker in workers:
            self._workers.append(worker)
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            await worker.stop()


@dataclass(frozen=True)
class Recording:
    """How versions are written: the commit trailers and snapshot links."""

    engine_version: str
    link_template: str


async def track_terms(
    terms: Terms,
    *,
    fetch: Fetch,
    extract: Extract,
    snapshots: Writer,
    versions: Writer,
    state: ExtractionState,
    recording: Recording,
    filters_path: Path | None = None,
    now: Callable[[], datetime] = utc_now,
) -> Outcome:
    """Track one terms; every failure is returned as an outcome."""
    pages: list[Page] = []
    for document in terms.documents:  # one after the other, as OTA does, to avoid bot detection
        try:
            pages.append(await fetch(document))
        except FetchError as error:
            return Outcome(terms, "failed", error=str(error), stage="fetch")
    try:
        snapshot_records = [
            await snapshots.run(
                record.record_snapshot,
                terms,
                document,
                page.content,
                mime_type=page.mime_type,
                fetch_date=page.fetched_at,
                fetcher=page.fetcher,
                engine_version=recording.engine_version,
            )
            for document, page in zip(terms.documents, pages, strict=True)
        ]
    except RecordError as error:
        return Outcome(terms, "failed", error=str(error), stage="record")
    new_snapshots = sum(1 for r in snapshot_records if r.kind != "unchanged")
    snapshot_ids = [r.commit_id for r in snapshot_records]
    key = record.version_path(terms)
    current = fingerprint(terms, snapshot_ids, filters_path, recording.engine_version)
    if state.get(key) == current:
        return Outcome(terms, "unchanged", new_snapshots=new_snapshots, skipped_extraction=True)
    sources = [(d, p.content, p.mime_type) for d, p in zip(terms.documents, pages, strict=True)]
    del pages  # the worker gets its own copy; do not keep two while it works
    try:
        markdown = await extract(sources, filters_path)
    except OtaError as error:  # ExtractError, or a service filters file that cannot be loaded
        return Outcome(terms, "failed", new_snapshots=new_snapshots, error=str(error), stage="extract")
    try:
        recorded = await versions.run(
            record_version_for,
            terms,
            markdown,
            snapshot_records=snapshot_records,
            recording=recording,
            now=now,
        )
    except RecordError as error:
        return Outcome(terms, "failed", new_snapshots=new_snapshots, error=str(error), stage="record")
    state.set(key, current)
    status: Status = {"first": "first", "change": "changed", "upgrade": "upgraded"}.get(
        recorded.kind, "unchanged"
    )  # type: ignore[assignment]
    return Outcome(terms, status, new_snapshots=new_snapshots, version_id=recorded.commit_id)


def record_version_for(
    repository: Repository,
    terms: Terms,
    markdown: str,
    *,
    snapshot_records: Sequence[record.Recorded],
    recording: Recording,
    now: Callable[[], datetime],
) -> record.Recorded:
    """Record a version, deciding in the recording process whether it is a real change.

    A version extracted from the very snapshots the latest version cites only reflects a change
    of declaration or of ota: it is a technical upgrade, dated now. Otherwise it is dated by the
    newest snapshot it cites (OTA dated some combined versions by an older one).
    """
    snapshot_ids = [r.commit_id for r in snapshot_records]
    latest = repository.latest(record.version_path(terms))
    technical = latest is not None and all(i in latest.message for i in snapshot_ids)
    date = now().replace(microsecond=0) if technical else max(r.date for r in snapshot_records)
    return record.record_version(
        repository,
        terms,
        markdown,
        snapshot_ids=snapshot_ids,
        date=date,
        engine_version=recording.engine_version,
        link_template=recording.link_template,
        technical_upgrade=technical,
    )


async def track(
    terms_list: Iterable[Terms],
    *,
    fetch: Fetch,
    extract: Extract,
    snapshots: Writer,
    versions: Writer,
    state: ExtractionState,
    recording: Recording,
    filters_paths: dict[str, Path] | None = None,
    in_flight: int = DEFAULT_TERMS_IN_FLIGHT,
    now: Callable[[], datetime] = utc_now,
) -> AsyncIterator[Outcome]:
    """Track many terms at once; yield each outcome as soon as it is known.

    `terms_list` is read lazily, one terms each time one finishes: at most `in_flight` are
    started at once, so memory does not grow with the collection, and a collection that is still
    being read (a generator) is tracked while the rest of it loads.
    """
    # The reader's own dict, filled in as services are read: never replaced by a copy.
    if filters_paths is None:
        filters_paths = {}

    async def one(terms: Terms) -> Outcome:
        try:
            return await track_terms(
                terms,
                fetch=fetch,
                extract=extract,
                snapshots=snapshots,
                versions=versions,
                state=state,
                recording=recording,
                filters_path=filters_paths.get(terms.service_id),
                now=now,
            )
        except Exception as error:  # a bug must not stop the other terms; it is reported
            return Outcome(terms, "failed", error=f"{type(error).__name__}: {error}", stage="internal")

    remaining = iter(terms_list)
    running: set[asyncio.Task[Outcome]] = set()
    finished: asyncio.Queue[asyncio.Task[Outcome]] = asyncio.Queue()

    def start_next() -> None:
        terms = next(remaining, None)
        if terms is not None:
            task = asyncio.ensure_future(one(terms))
            running.add(task)
            task.add_done_callback(finished.put_nowait)

    try:
        for _ in range(max(1, in_flight)):
            start_next()
        while running:
            task = await finished.get()
            running.discard(task)
            start_next()
            yield task.result()
    finally:
        for task in running:
            task.cancel()
