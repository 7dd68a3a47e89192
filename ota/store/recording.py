"""What the recording process runs: the repositories it holds, and the calls `ota.store.writer.Writer`
sends it (hold, open, a record function on an open repository, close).

Apart from `ota.store.writer`, which runs in the tracking process, so that the recording process
holds both repositories as soon as it has started Python and git (pygit2): the values of records
and declarations are imported with the first record call, while the first pages are fetched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ota.errors import RecordError

if TYPE_CHECKING:  # git is imported by the calls below, in the recording process only
    from ota.store.repository import Held, Repository, Signer

T = TypeVar("T")

_REPOSITORIES: dict[str, Repository] = {}
_HELD: dict[str, Held] = {}


def hold_repository(name: str, path: Path) -> None:
    from ota.store.repository import hold

    _HELD[name] = hold(path)


def open_repository(
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


def call_on(name: str, function: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
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


def close_repository(name: str) -> None:
    repository = _repository(name)
    del _REPOSITORIES[name]
    repository.close()


def _signer(signing_key: Path | None) -> Signer | None:
    """The commits' signer, when a key is configured (cryptography is imported only then)."""
    if signing_key is None:
        return None
    from ota.store.signing import SshSigner

    return SshSigner.load(signing_key)
