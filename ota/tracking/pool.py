"""Extraction in child processes, awaitable from an event loop: tracking and verification use it
so that CPU-heavy pages never stall the network or each other.

Each child is an `ota.worker.Worker` running `extract_sources`, which imports the service's
Python filters (the collection's code runs there, never in the tracking process) and extracts.
The children start with the first extraction: a run where nothing changed starts none. A child
that dies (a crash of the parser on some page) fails that extraction only, and is replaced.

Each extraction is bounded in time and memory, since pages are written by anyone: past
`timeout` seconds the child is killed, past `memory_limit` bytes of address space its
allocations fail; either way that terms fails with a message saying which bound it met, and the
child is replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Protocol

from ota.declarations import SourceDocument
from ota.errors import ExtractError
from ota.extract import extract_terms
from ota.settings import DEFAULT_EXTRACT_MEMORY, DEFAULT_EXTRACT_TIMEOUT, Settings
from ota.worker import Worker, WorkerStopped

#: Seconds one extraction may take, and bytes of address space an extraction process may use:
#: `[track] extract_timeout` and `extract_memory`.
DEFAULT_TIMEOUT = DEFAULT_EXTRACT_TIMEOUT
DEFAULT_MEMORY_LIMIT = DEFAULT_EXTRACT_MEMORY * 2**20

#: A source document with the snapshot to extract it from: (declaration, content, MIME type).
Source = tuple[SourceDocument, bytes, str]


class Extract(Protocol):
    """What extracts a terms' Markdown from its sources, with its service's Python filters (if
    any): `ExtractionPool`, or a test's function."""

    def __call__(self, sources: Sequence[Source], filters_path: Path | None) -> Awaitable[str]: ...


def extract_sources(sources: Sequence[Source], filters_path: Path | None) -> str:
    """Extraction as run in a child process: load the service's Python filters, then extract."""
    filters = None
    if filters_path is not None:
        from ota.declarations.service_filters import load_service_filters

        filters = load_service_filters(filters_path)
    return extract_terms(sources, filters)


class ExtractionPool:
    """`await pool(sources, filters_path)` extracts in one of `workers` child processes.

    With 0 workers, extraction runs in the calling process (tests, debugging).
    """

    def __init__(
        self,
        workers: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self._count = workers
        self._timeout = timeout
        self._memory_limit = memory_limit
        self._idle: asyncio.Queue[Worker | None] = asyncio.Queue()
        self._workers: list[Worker] = []
        self._started: asyncio.Future[None] | None = None
        self._broken: ExtractError | None = None  # why no worker is left, once none can be started

    @classmethod
    def from_settings(cls, settings: Settings, *, workers: int | None = None) -> ExtractionPool:
        """A pool as `[track]` says: its workers (or `workers`), their time and memory limits."""
        track = settings.track
        return cls(
            track.extract_workers if workers is None else workers,
            timeout=track.extract_timeout,
            memory_limit=track.extract_memory * 2**20,
        )

    async def __call__(self, sources: Sequence[Source], filters_path: Path | None) -> str:
        if self._count <= 0:
            return extract_sources(sources, filters_path)
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)  # every caller gets the error if they cannot start
        worker = await self._take()
        try:
            async with asyncio.timeout(self._timeout):
                result = await worker.call(extract_sources, list(sources), filters_path)
        except TimeoutError:
            worker.kill()
            await self._replace(worker)
            raise ExtractError(self._overran(sources, f"took more than {self._timeout:g} seconds")) from None
        except MemoryError:
            worker.kill()  # its heap may be in any state: start afresh
            await self._replace(worker)
            limit = f"{(self._memory_limit or 0) / 2**20:g} MiB"
            raise ExtractError(self._overran(sources, f"needed more than {limit} of memory")) from None
        except WorkerStopped as exc:
            await self._replace(worker)
            raise ExtractError(f"the extraction process stopped while extracting this terms: {exc}") from exc
        except BaseException:
            self._idle.put_nowait(worker)
            raise
        self._idle.put_nowait(worker)
        return result

    @staticmethod
    def _overran(sources: Sequence[Source], what: str) -> str:
        locations = ", ".join(f"'{document.location}'" for document, _, _ in sources)
        return f"the extraction of {locations} {what} and was stopped"

    @property
    def workers(self) -> int:
        """The child processes alive now."""
        return len(self._workers)

    async def _take(self) -> Worker:
        if self._broken is not None:
            raise self._broken
        worker = await self._idle.get()
        if worker is None:  # no worker is left: wake the next caller too
            self._idle.put_nowait(None)
            assert self._broken is not None
            raise self._broken
        return worker

    async def _replace(self, dead: Worker) -> None:
        """Start a child in place of `dead`; when none can start and none is left, fail every caller."""
        self._workers.remove(dead)
        await dead.stop()  # reaps the process and closes its pipes
        try:
            worker = await Worker.start(memory_limit=self._memory_limit)
        except OSError as exc:
            if not self._workers:
                self._broken = ExtractError(f"no extraction process could be started again: {exc}")
                self._idle.put_nowait(None)
            return
        self._workers.append(worker)
        self._idle.put_nowait(worker)

    async def _start(self) -> None:
        started = await asyncio.gather(
            *(Worker.start(memory_limit=self._memory_limit) for _ in range(self._count)),
            return_exceptions=True,
        )
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
        """Stop every child process."""
        workers, self._workers = self._workers, []
        await asyncio.gather(*(worker.stop() for worker in workers))
