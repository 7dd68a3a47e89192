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

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ota.errors import RecordError
from ota.gitrepo import Repository
from ota.worker import Worker, WorkerStopped

T = TypeVar("T")

_names = itertools.count()


class Writer:
    """The writer of one repository: every call runs, in order, in the recording process."""

    def __init__(self, worker: Worker, name: str, path: Path, users: list[int]) -> None:
        self._worker = worker
        self._name = name
        self._users = users  # writers sharing the process (one list object among them)
        #: The repository's folder, as the repository names it.
        self.path = path

    @classmethod
    async def open(
        cls, path: Path, *, author_name: str, author_email: str, cited: Writer | None = None
    ) -> Writer:
        """Open (creating if needed) the repository at `path` in the recording process.

        `cited` is the snapshots writer when this is the versions one: both then share a process,
        and the snapshots are published before any version citing them, so a crash never leaves
        a dangling citation.
        """
        worker = cited._worker if cited is not None else await Worker.start()
        users = cited._users if cited is not None else [0]
        name = f"{next(_names)}:{path}"
        try:
            opened = await worker.call(
                _open, name, Path(path).absolute(), author_name, author_email, cited and cited._name
            )
        except BaseException as exc:
            if cited is None:
                await worker.stop()
            if isinstance(exc, WorkerStopped):
                raise RecordError(path, str(exc)) from exc
            raise
        users[0] += 1
        return cls(worker, name, opened, users)

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `function(repository, *args, **kwargs)` in the recording process.

        `function` and its arguments travel by pickle: a module-level function, plain values.
        """
        try:
            return await self._worker.call(_run, self._name, function, args, kwargs)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc

    async def close(self) -> None:
        """Flush and close the repository; the process ends with the last of its writers."""
        try:
            await self._worker.call(_close, self._name)
        except WorkerStopped as exc:
            raise RecordError(self.path, str(exc)) from exc
        finally:
            self._users[0] -= 1
            if self._users[0] <= 0:
                await self._worker.stop()


# -- in the recording process ---------------------------------------------------------------------

_REPOSITORIES: dict[str, Repository] = {}


def _open(name: str, path: Path, author_name: str, author_email: str, cited: str | None) -> Path:
    repository = Repository.open(
        path,
        author_name=author_name,
        author_email=author_email,
        cited=_REPOSITORIES[cited] if cited is not None else None,
    )
    _REPOSITORIES[name] = repository
    return repository.path


def _run(name: str, function: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    return function(_REPOSITORIES[name], *args, **kwargs)


def _close(name: str) -> None:
    _REPOSITORIES.pop(name).close()
