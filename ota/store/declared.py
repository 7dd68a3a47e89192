"""The history of a declarations folder kept in git, read-only: what each service's files said when.

A collection's declarations are usually a git repository (OTA's `*-declarations`): the declaration
in force at a date is the one of the last commit made before it. `DeclarationsHistory` walks the
branch once (first parents only: the states the main branch went through, merges included) and
keeps, per service, every state of its files (`SERVICE_ID.json`, `.history.json`, `.filters.py`,
`.filters.js`) with the commit's committer date: when it landed on the branch.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, SortMode

from ota.errors import RecordError

#: The suffixes of a service's files, after its ID.
SERVICE_FILES = (".json", ".history.json", ".filters.py", ".filters.js")


@dataclass(frozen=True)
class ServiceState:
    """A service's files as one commit of the declarations repository left them."""

    commit_id: str
    #: The commit's committer date, in UTC: when this state landed on the branch.
    date: datetime
    #: Blob id by file suffix (".json", ".filters.py"…), for the files that exist.
    blobs: tuple[tuple[str, str], ...]

    def blob(self, suffix: str) -> str | None:
        """The blob of the service's file with this suffix, None when it has none."""
        return dict(self.blobs).get(suffix)


class DeclarationsHistory:
    """Every state of every service's files along the branch of a declarations repository."""

    def __init__(self, git: pygit2.Repository, prefix: str, states: dict[str, list[ServiceState]]) -> None:
        self._git = git
        self._prefix = prefix
        self._states = states
        self._dates = {service: [state.date for state in found] for service, found in states.items()}

    @classmethod
    def open(cls, folder: Path | str) -> DeclarationsHistory | None:
        """The history of `folder` when it is in a git repository with commits; None otherwise."""
        folder = Path(folder).resolve()
        try:
            found = pygit2.discover_repository(str(folder))
            if found is None:
                return None
            git = pygit2.Repository(found)
            if git.head_is_unborn or git.workdir is None:
                return None
            prefix = folder.relative_to(Path(git.workdir).resolve()).as_posix()
            head = git.head.peel(pygit2.Commit)
        except (pygit2.GitError, ValueError, KeyError):
            return None
        prefix = "" if prefix == "." else prefix
        try:
            return cls(git, prefix, _walk(git, head, prefix))
        except pygit2.GitError as exc:
            raise RecordError(folder, f"could not read the declarations' history: {exc}") from exc

    @staticmethod
    def in_git(folder: Path | str) -> bool:
        """Whether `folder` is inside a git repository's working tree (its history may be kept there)."""
        try:
            return pygit2.discover_repository(str(Path(folder).resolve())) is not None
        except (pygit2.GitError, OSError):
            return False

    @property
    def path(self) -> Path:
        """The git repository's working tree."""
        return Path(self._git.workdir or self._git.path)

    def states(self, service_id: str) -> list[ServiceState]:
        """The states of a service's files, oldest first (an empty one when its files were removed)."""
        return list(self._states.get(service_id, ()))

    def at(self, service_id: str, date: datetime) -> ServiceState | None:
        """The state in force at `date`: the last one committed at or before it; None before any."""
        dates = self._dates.get(service_id, [])
        position = bisect.bisect_right(dates, date)
        return self._states[service_id][position - 1] if position else None

    def read(self, blob_id: str) -> bytes:
        """The content of a blob."""
        blob = self._git.get(blob_id)
        if not isinstance(blob, pygit2.Blob):
            raise RecordError(self.path, f"no blob {blob_id}")
        return blob.data


def _walk(git: pygit2.Repository, head: pygit2.Commit, prefix: str) -> dict[str, list[ServiceState]]:
    walker = git.walk(head.id, SortMode.TOPOLOGICAL | SortMode.REVERSE)
    walker.simplify_first_parent()
    states: dict[str, list[ServiceState]] = {}
    files: dict[str, dict[str, str]] = {}  # service → suffix → blob, as of the last commit seen
    previous: pygit2.Tree | None = None
    for commit in walker:
        tree = _subtree(commit.tree, prefix)
        if tree is not None and previous is not None and tree.id == previous.id:
            continue
        if tree is None and previous is None:
            continue
        changed: set[str] = set()
        if tree is None:
            assert previous is not None
            changed = set(files)
            files = {}
        else:
            diff = previous.diff_to_tree(tree) if previous is not None else tree.diff_to_tree(swap=True)
            for delta in diff.deltas:
                deleted = delta.status == DeltaStatus.DELETED
                service, suffix = _service_file((delta.old_file if deleted else delta.new_file).path)
                if service is None:
                    continue
                changed.add(service)
                blobs = files.setdefault(service, {})
                if deleted:
                    blobs.pop(suffix, None)
                else:
                    blobs[suffix] = str(delta.new_file.id)
        date = datetime.fromtimestamp(commit.committer.time, UTC)
        for service in changed:
            blobs = files.get(service, {})
            states.setdefault(service, []).append(
                ServiceState(str(commit.id), date, tuple(sorted(blobs.items())))
            )
        previous = tree
    for found in states.values():
        # Committer dates may go back along a branch: sorted (stably) by date so that `at` can bisect.
        found.sort(key=lambda state: state.date)
    return states


def _subtree(tree: pygit2.Tree, prefix: str) -> pygit2.Tree | None:
    if not prefix:
        return tree
    try:
        entry = tree[prefix]
    except KeyError:
        return None
    return entry if isinstance(entry, pygit2.Tree) else None


def _service_file(path: str) -> tuple[str | None, str]:
    """(service ID, suffix) of a declarations file directly in the folder; (None, "") otherwise."""
    if "/" in path:
        return None, ""
    for suffix in (".history.json", ".filters.py", ".filters.js", ".json"):
        if path.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)], suffix
    return None, ""
