"""The single writer of each repository, in a recording process of its own.

Committing is CPU work done in Python (trees, hashes, packs, index entries): run on threads of
the tracking process, it held the GIL that the event loop needs to fetch, and past a few
thousand terms the tracking process spent as much time on git as on the network. So both
repositories live in one child process (an `ota.worker.Worker`), which runs the calls it receives
one at a time, in the order they were made: commits never interleave, and the versions
repository still publishes the snapshots it cites first, since both are in the same process.
If the tracking process dies, the child stops too, releasing the repositories' locks; the next
run recovers what was left, as after any crash.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ota.errors import RecordError
from ota.store.repository import Repository, Signer
from ota.worker import Worker, WorkerStopped

T = TypeVar("T")

_names = itertools.count()


class Writer:
    """The writer of one repository: every call runs, in order, in the recording process."""

    def __init__(
        self, worker: Worker, name: str, path: Path, users: list[int], opened: asyncio.Future[Path]
    ) -> None:
        self._worker = worker
        self._name = name
        self._users = users  # writers sharing the process (one list object among them)
        self._opened = opened
        #: The repository's folder.
        self.path = path

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
        and the repository opens (`ready()` tells how that went): calls made meanwhile wait.
        `signing_key` is an SSH private key that signs every commit (loaded in the recording process).
        """
        if cited is not None:
            worker = cited._worker
        else:
            try:
                worker = await Worker.start()
            except OSError as exc:
                raise RecordError(path, f"could not start the recording process: {exc}") from exc
        users = cited._users if cited is not None else [0]
        users[0] += 1
        name = f"{next(_names)}:{path}"
        folder = Path(path).absolute()
        opened = worker.send(
            _open, name, folder, author_name, author_email, cited and cited._name, signing_key
        )
        writer = cls(worker, name, folder, users, opened)
        if wait:
            try:
                await writer.ready()
            except BaseException:
                await writer.close()
                raise
        return writer

    async def ready(self) -> None:
        """Wait until the repository is open; raise why it could not be (RecordError)."""
        try:
            self.path = await asyncio.shield(self._opened)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
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
            await asyncio.wait([self._opened])
            if self._opened.exception() is None:
                await self._worker.call(_close, self._name)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc
        finally:
            self._users[0] -= 1
            if self._users[0] <= 0:
                await self._worker.stop()


# -- in the recording process ---------------------------------------------------------------------

_REPOSITORIES: dict[str, Repository] = {}


def _open(
    name: str,
    path: Path,
    author_name: str,
    author_email: str,
    cited: str | None,
    signing_key: Path | None = None,
) -> Path:
    repository = Repository.open(
        path,
        author_name=author_name,
        author_email=author_email,
        cited=_REPOSITORIES[cited] if cited is not None else None,
        signer=_signer(signing_key),
    )
    _REPOSITORIES[name] = repository
    return repository.path


def _run(name: str, function: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    return function(_REPOSITORIES[name], *args, **kwargs)


def opening_notes(repository: Repository) -> list[str]:
    """What a run should tell about a repository it opened (run by `Writer.run`): what opening
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
    _REPOSITORIES.pop(name).close()


def _signer(signing_key: Path | None) -> Signer | None:
    """The commits' signer, when a key is configured (cryptography is imported only then)."""
    if signing_key is None:
        return None
    from ota.store.signing import SshSigner

    return SshSigner.load(signing_key)
