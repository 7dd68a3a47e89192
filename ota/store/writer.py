"""The single writer of each repository, in a recording process of its own.

Committing is CPU work done in Python (trees, hashes, packs, index entries): run on threads of
the tracking process, it held the GIL that the event loop needs to fetch, and past a few
thousand terms the tracking process spent as much time on git as on the network. So both
repositories live in one child process (an `ota.worker.Worker`), which runs the calls it receives
one at a time, in the order they were made: commits never interleave, and the versions
repository still publishes the snapshots it cites first, since both are in the same process.
If the tracking process dies, the child stops too, releasing the repositories' locks; the next
run recovers what was left, as after any crash.

What the orchestrator asks of a repository is the `Recorder` protocol: record a snapshot, plan
and record a version, tell what opening found. `Writer` implements it over the recording process.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ota.declarations import SourceDocument, Terms
from ota.errors import RecordError
from ota.outcome import Recorded
from ota.store import records, versions
from ota.store.recording import (
    call_on,
    close_repository,
    hold_repository,
    in_git_working_tree,
    open_repository,
    opening_notes,
)
from ota.store.records import Recording
from ota.store.versions import Baseline, Suspect, Vet
from ota.worker import Worker, WorkerStopped

T = TypeVar("T")

_names = itertools.count()


class Recorder(Protocol):
    """What tracking asks of a repository; every call may raise RecordError (nothing recorded).

    Arguments and results are plain values: an implementation may run them in another process.
    """

    async def record_snapshot(
        self,
        terms: Terms,
        document: SourceDocument,
        content: bytes,
        *,
        mime_type: str,
        fetch_date: datetime,
        fetcher: str,
        engine_version: str,
        status: int | None = None,
    ) -> Recorded:
        """Record the snapshot of one source document (`ota.store.records.record_snapshot`); `status`
        is the HTTP status its page was served with, when known."""
        ...

    async def plan_version(
        self,
        terms: Terms,
        markdown: str,
        *,
        snapshot_records: Sequence[Recorded],
        recording: Recording,
        now: Callable[[], datetime],
        vet: Vet,
    ) -> Recorded | Baseline | Suspect:
        """Record a version when what it is can be told now (`ota.store.versions.plan_version`)."""
        ...

    async def record_with_baseline(
        self,
        terms: Terms,
        markdown: str,
        baseline: Baseline,
        baseline_markdown: str | None,
        *,
        baseline_error: str,
        snapshot_records: Sequence[Recorded],
        recording: Recording,
        now: Callable[[], datetime],
    ) -> list[Recorded]:
        """Record what `plan_version` could not decide (`ota.store.versions.record_with_baseline`)."""
        ...

    async def opening_notes(self) -> list[str]:
        """What opening the repository repaired, and the commits made since by someone else."""
        ...

    async def in_git_working_tree(self, folder: Path) -> bool:
        """Whether `folder` (the declarations) is in a git working tree."""
        ...


class Writer:
    """The writer of one repository, a `Recorder`: every call runs, in order, in the recording process."""

    def __init__(self, worker: Worker, path: Path, users: list[int]) -> None:
        """Private: use `Writer.open()` or `Writer.open_pair()`. Sends the call that holds
        (finds or creates, and locks) the repository."""
        self._worker = worker
        self._name = f"{next(_names)}:{path}"
        self._users = users  # writers sharing the process (one list object among them)
        users[0] += 1
        #: The repository's folder.
        self.path = Path(path).absolute()
        self._held = worker.send(hold_repository, self._name, self.path)
        self._opened: asyncio.Future[Path] = asyncio.get_running_loop().create_future()

    def _start(self, author: tuple[str, str], cited: Writer | None, signing_key: Path | None) -> None:
        """Send the call that opens the held repository (recovery, checks)."""
        sent = self._worker.send(
            open_repository, self._name, self.path, *author, cited and cited._name, signing_key
        )
        self._opened = sent

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        author_name: str,
        author_email: str,
        cited: Writer | None = None,
        wait: bool = True,
        signing_key: Path | None = None,
    ) -> Writer:
        """Open (creating if needed) the repository at `path` in the recording process.

        `cited` is the snapshots writer when this is the versions one: both then share a process,
        and the snapshots are published before any version citing them, so a crash never leaves
        a dangling citation. With `wait=False` the writer is returned while the process starts
        and the repository opens (`held()` tells whether it could be found and locked, quickly;
        `ready()` whether it opened): calls made meanwhile wait.
        `signing_key` is an SSH private key that signs every commit (loaded in the recording process).
        """
        worker = cited._worker if cited is not None else await _start_worker(path)
        writer = cls(worker, path, cited._users if cited is not None else [0])
        writer._start((author_name, author_email), cited, signing_key)
        if wait:
            try:
                await writer.ready()
            except BaseException:
                await writer.close()
                raise
        return writer

    @classmethod
    async def open_pair(
        cls, snapshots: Path, versions: Path, *, author_name: str, author_email: str, signing_key: Path | None
    ) -> tuple[Writer, Writer]:
        """The snapshots and versions writers, sharing one recording process, returned at once:
        both repositories are held (`held()`: found and locked, which takes little time) before
        either is opened (`ready()`), so a run can check both before its first request."""
        worker = await _start_worker(snapshots)
        users = [0]
        writers = cls(worker, snapshots, users), cls(worker, versions, users)
        writers[0]._start((author_name, author_email), None, signing_key)
        writers[1]._start((author_name, author_email), writers[0], signing_key)
        return writers

    async def held(self) -> None:
        """Wait until the repository is found (or created) and locked; raise why it could not be
        (RecordError, RepositoryInUse). Opening it (recovery, checks) may go on after this."""
        try:
            await asyncio.shield(self._held)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc

    async def ready(self) -> None:
        """Wait until the repository is open; raise why it could not be (RecordError)."""
        try:
            self.path = await asyncio.shield(self._opened)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc

    async def record_snapshot(
        self,
        terms: Terms,
        document: SourceDocument,
        content: bytes,
        *,
        mime_type: str,
        fetch_date: datetime,
        fetcher: str,
        engine_version: str,
        status: int | None = None,
    ) -> Recorded:
        """Record the snapshot of one source document (`ota.store.records.record_snapshot`); `status`
        is the HTTP status its page was served with, when known."""
        return await self._call(
            records.record_snapshot,
            terms,
            document,
            content,
            mime_type=mime_type,
            fetch_date=fetch_date,
            fetcher=fetcher,
            engine_version=engine_version,
            status=status,
        )

    async def plan_version(
        self,
        terms: Terms,
        markdown: str,
        *,
        snapshot_records: Sequence[Recorded],
        recording: Recording,
        now: Callable[[], datetime],
        vet: Vet,
    ) -> Recorded | Baseline | Suspect:
        """Record a version when what it is can be told now (`ota.store.versions.plan_version`)."""
        return await self._call(
            versions.plan_version,
            terms,
            markdown,
            snapshot_records=snapshot_records,
            recording=recording,
            now=now,
            vet=vet,
        )

    async def record_with_baseline(
        self,
        terms: Terms,
        markdown: str,
        baseline: Baseline,
        baseline_markdown: str | None,
        *,
        baseline_error: str,
        snapshot_records: Sequence[Recorded],
        recording: Recording,
        now: Callable[[], datetime],
    ) -> list[Recorded]:
        """Record what `plan_version` could not decide (`ota.store.versions.record_with_baseline`)."""
        return await self._call(
            versions.record_with_baseline,
            terms,
            markdown,
            baseline,
            baseline_markdown,
            baseline_error=baseline_error,
            snapshot_records=snapshot_records,
            recording=recording,
            now=now,
        )

    async def opening_notes(self) -> list[str]:
        """What opening the repository repaired, and the commits made since by someone else."""
        return await self._call(opening_notes)

    async def in_git_working_tree(self, folder: Path) -> bool:
        """Whether `folder` (the declarations) is in a git working tree (asked of the recording
        process, which has git loaded: the tracking process then never imports it)."""
        return await self._call(in_git_working_tree, folder)

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `function(repository, *args, **kwargs)` in the recording process.

        `function` and its arguments travel by pickle: a module-level function, plain values.
        """
        if not self._opened.done():
            await self.ready()
        try:
            return await self._worker.call(call_on, self._name, function, args, kwargs)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc

    async def close(self) -> None:
        """Flush and close the repository (if it opened); the process ends with its last writer."""
        try:
            calls: list[asyncio.Future[Any]] = [self._held, self._opened]
            await asyncio.wait(calls)
            failures = [call.exception() for call in calls]  # each retrieved, even the second
            if not any(failures):
                await self._worker.call(close_repository, self._name)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc
        finally:
            self._users[0] -= 1
            if self._users[0] <= 0:
                await self._worker.stop()


async def _start_worker(path: Path) -> Worker:
    try:
        return await Worker.start()
    except OSError as exc:
        raise RecordError(path, f"could not start the recording process: {exc}") from exc
