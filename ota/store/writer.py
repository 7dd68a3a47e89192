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
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ota.declarations import SourceDocument, Terms
from ota.errors import RecordError
from ota.outcome import Recorded
from ota.store import records, versions
from ota.store.records import Recording
from ota.store.versions import Baseline, Suspect, Vet
from ota.worker import Worker, WorkerStopped

if TYPE_CHECKING:  # git is imported in the recording process only, by the calls below
    from ota.store.repository import Held, Repository, Signer

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
        self._held = worker.send(_hold, self._name, self.path)
        self._opened: asyncio.Future[Path] = asyncio.get_running_loop().create_future()

    def _start(self, author: tuple[str, str], cited: Writer | None, signing_key: Path | None) -> None:
        """Send the call that opens the held repository (recovery, checks)."""
        sent = self._worker.send(_open, self._name, self.path, *author, cited and cited._name, signing_key)
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
            return await self._worker.call(_run, self._name, function, args, kwargs)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc

    async def close(self) -> None:
        """Flush and close the repository (if it opened); the process ends with its last writer."""
        try:
            calls: list[asyncio.Future[Any]] = [self._held, self._opened]
            await asyncio.wait(calls)
            failures = [call.exception() for call in calls]  # each retrieved, even the second
            if not any(failures):
                await self._worker.call(_close, self._name)
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


# -- in the recording process ---------------------------------------------------------------------

_REPOSITORIES: dict[str, Repository] = {}
_HELD: dict[str, Held] = {}


def _hold(name: str, path: Path) -> None:
    from ota.store.repository import hold

    _HELD[name] = hold(path)


def _open(
    name: str,
    path: Path,
    author_name: str,
    author_email: str,
    cited: str | None,
    signing_key: Path | None = None,
) -> Path:
    # Not held: holding failed, and opening says why again (so no call sees a missing name).
    held = _HELD.pop(name, None)
    try:
        cited_repository = _repository(cited) if cited is not None else None
        signer = _signer(signing_key)
    except BaseException:
        if held is not None:
            os.close(held.lock_fd)
        raise
    from ota.store.repository import Repository

    repository = Repository.open(
        path,
        author_name=author_name,
        author_email=author_email,
        cited=cited_repository,
        signer=signer,
        held=held,
    )
    _REPOSITORIES[name] = repository
    return repository.path


def _repository(name: str) -> Repository:
    found = _REPOSITORIES.get(name)
    if found is None:  # never expected: calls wait for the opening, which raised why
        raise RecordError(Path(name.split(":", 1)[1]), "the repository is not open")
    return found


def _run(name: str, function: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    return function(_repository(name), *args, **kwargs)


def in_git_working_tree(_repository: Repository, folder: Path) -> bool:
    """Whether `folder` is in a git working tree (`Writer.in_git_working_tree`: the recording process
    has git loaded, which the tracking process then never imports)."""
    from ota.store.declared import DeclarationsHistory

    return DeclarationsHistory.in_git(folder)


def opening_notes(repository: Repository) -> list[str]:
    """What a run should tell about a repository it opened (`Writer.opening_notes`): what opening
    repaired, and the commits made since the last run by someone else than ota."""
    return [
        *repository.repairs,
        *(
            f"{repository.path}: commit {commit_id[:12]} by {author} changed "
            f"{', '.join(paths) or 'no record'}: ota records nothing over such changes until they are "
            "reverted"
            for commit_id, author, paths in repository.commits_not_by_ota()
        ),
    ]


def _close(name: str) -> None:
    repository = _repository(name)
    del _REPOSITORIES[name]
    repository.close()


def _signer(signing_key: Path | None) -> Signer | None:
    """The commits' signer, when a key is configured (cryptography is imported only then)."""
    if signing_key is None:
        return None
    from ota.store.signing import SshSigner

    return SshSigner.load(signing_key)
