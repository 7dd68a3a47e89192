"""A snapshots or versions repository opened for reading only: for the viewer, reports and
verification, while `ota track` may be writing the same repository.

A reader takes no lock, writes nothing, never creates a repository and never recovers one. It
shows the commits the branch points to, i.e. what `ota track` has published (it moves the branch
only once a batch of commits is written), and never looks at the working tree. `refresh()`
follows the branch when it moves.

Two indexes spare every request a walk of the history (OTA's repositories have 160,000 commits):

- the latest commit of each file comes from the writer's path index (`ota-records.json`) when it
  describes the current branch tip;
- otherwise, and for the history of a file (timelines, the version in force at a date), an
  in-memory index of every change (commit, file, blob, date, subject) is built with one
  `git log` over the history, then brought up to date from the last indexed commit.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from pygit2.enums import RepositoryOpenFlag, SortMode

from ota.errors import RecordError
from ota.store.blobs import BlobStream
from ota.store.folder import commit_and_diff, record_paths, run_git
from ota.store.pathindex import PathIndex
from ota.store.provenance import Record, changes_path_to
from ota.store.worktree import is_record_path

_ZERO = "0" * 40


@dataclass(frozen=True)
class Change:
    """One commit's change to one file: what the history index holds."""

    commit_id: str
    path: str
    #: The file's blob after the commit; None when the commit deleted the file.
    blob_id: str | None
    #: The commit's author date, in UTC: the fetch date for records written by ota or OTA.
    date: datetime
    subject: str
    #: Position of the commit in the history, oldest first (breaks ties between equal dates).
    order: int


@dataclass(frozen=True)
class CommitInfo:
    """Who made a commit, when, and its signature: what verification checks besides the content."""

    commit_id: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    #: Author date in UTC: the date the record claims.
    date: datetime
    committer_name: str
    committer_email: str
    committer_date: datetime
    message: str
    #: The armored signature of the `gpgsig` header, None for an unsigned commit.
    signature: bytes | None = None
    #: What the signature signs: the commit object without its `gpgsig` header.
    signed_payload: bytes | None = None


class RepositoryReader:
    """Read-only access to the published history of one repository. Safe to share between threads."""

    def __init__(self, git: pygit2.Repository, folder: Path) -> None:
        """Private: use `RepositoryReader.open()`."""
        self._git = git
        self._folder = folder
        self._gitdir = Path(git.path)
        self._lock = threading.RLock()
        self._branch = _branch(git)
        self._head: str | None = None
        self._paths = PathIndex(self._gitdir, folder)  # read only: its `sync` is never called here
        self._changes: dict[str, list[Change]] | None = None  # path → changes, oldest first
        self._all: list[Change] = []
        self._indexed: str | None = None  # the head the history index describes
        self.refresh()

    @classmethod
    def open(cls, path: Path | str) -> RepositoryReader:
        """Open the repository in `path` for reading; RecordError when it is not a git repository."""
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise RecordError(folder, "is a file, not a repository")
        if not folder.is_dir():
            raise RecordError(folder, "no such repository (ota track creates it on its first run)")
        try:
            git = pygit2.Repository(str(folder), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as exc:
            raise RecordError(folder, f"is not a git repository: {exc}") from exc
        return cls(git, folder)

    @property
    def path(self) -> Path:
        return self._folder

    @property
    def git_dir(self) -> Path:
        """The repository's git directory (`.git`, or the folder itself for a bare repository)."""
        return self._gitdir

    @property
    def head(self) -> str | None:
        """The published branch tip this reader shows, None for a repository without commits."""
        return self._head

    def refresh(self) -> bool:
        """Follow the branch if it moved (new commits published); return whether it did."""
        with self._lock:
            try:
                ref = self._git.references.get(self._branch)
                head = str(ref.peel(pygit2.Commit).id) if ref is not None else None
            except pygit2.GitError as exc:
                raise RecordError(self._folder, f"could not read {self._branch}: {exc}") from exc
            moved = head != self._head
            self._head = head
            if moved:
                self._paths = PathIndex(self._gitdir, self._folder)
            return moved

    # -- reading ---------------------------------------------------------------------------------

    def paths(self) -> list[str]:
        """The record files at the branch tip, sorted (root files and dot-folders are not records)."""
        with self._lock:
            if self._head is None:
                return []
            return record_paths(self._commit(self._head).tree)

    def latest(self, path: str) -> Record | None:
        """The current record of `path` (its content and the commit that last changed it), or None."""
        with self._lock:
            if self._head is None:
                return None
            if self._paths.head == self._head:  # the writer's index describes this tip: no walk at all
                commit_id = self._paths.get(path)
                if commit_id is None:
                    return None
                if self._indexed_change(commit_id, path):
                    return self.record(commit_id, path)
                # An entry the history contradicts (an edited ota-records.json): the history decides.
            changes = self.history(path)
            if not changes or changes[0].blob_id is None:
                return None
            return self.record(changes[0].commit_id, path)

    def _indexed_change(self, commit_id: str, path: str) -> bool:
        """Whether the path index's `commit_id` did change `path` to what the tip holds."""
        try:
            commit = self._git.get(commit_id)
            tip = self._commit(self._head).tree[path].id if self._head is not None else None
        except (KeyError, ValueError, pygit2.GitError):
            return False
        return isinstance(commit, pygit2.Commit) and changes_path_to(commit, path, tip)

    def history(self, path: str) -> list[Change]:
        """Every change of `path` up to the branch tip, newest first (deletions included)."""
        with self._lock:
            return list(reversed(self._index().get(path, ())))

    def at(self, path: str, date: datetime) -> Change | None:
        """The change of `path` in force at `date`: the last one dated at or before it, or None.

        Changes with the same date are ordered as committed; a deletion in force gives None.
        """
        with self._lock:
            changes = self._index().get(path, [])
            position = bisect.bisect_right(changes, (date, len(self._all)), key=lambda c: (c.date, c.order))
            change = changes[position - 1] if position else None
            return change if change is not None and change.blob_id is not None else None

    def changes(self) -> list[Change]:
        """Every change of every record file, oldest first."""
        with self._lock:
            self._index()
            return list(self._all)

    def record(self, commit_id: str, path: str) -> Record | None:
        """The content of `path` as commit `commit_id` left it, with that commit's details."""
        with self._lock:
            try:
                commit = self._git.get(commit_id)
                if not isinstance(commit, pygit2.Commit):
                    return None
                entry = commit.tree[path]
            except (KeyError, ValueError, pygit2.GitError):
                return None
            blob = self._git.get(entry.id)
            if not isinstance(blob, pygit2.Blob):
                return None
            date = datetime.fromtimestamp(commit.author.time, UTC)
            message = commit.message
            subject = " ".join(line.strip() for line in message.strip().split("\n\n", 1)[0].splitlines())
            return Record(path, blob.data, str(commit.id), date, subject, message)

    def blob(self, blob_id: str) -> bytes:
        """The bytes of a blob (a record's content) by its id."""
        with self._lock:
            blob = self._git.get(blob_id)
            if not isinstance(blob, pygit2.Blob):
                raise RecordError(self._folder, f"no blob {blob_id}")
            return blob.data

    def blob_stream(self) -> BlobStream:
        """A reader of many blobs through one git process, cheaper than `blob` for many versions of
        large files (close it)."""
        return BlobStream(self._gitdir, self._folder)

    def message(self, commit_id: str) -> str:
        """A commit's whole message."""
        with self._lock:
            commit = self._git.get(commit_id)
            if not isinstance(commit, pygit2.Commit):
                raise RecordError(self._folder, f"no commit {commit_id}")
            return commit.message

    def commit_info(self, commit_id: str) -> CommitInfo | None:
        """A commit's authorship, dates and signature; None when there is no such commit."""
        with self._lock:
            try:
                commit = self._git.get(commit_id)
            except (ValueError, pygit2.GitError):
                return None
            return _commit_info(commit) if isinstance(commit, pygit2.Commit) else None

    def notes(self, ref: str) -> dict[str, str]:
        """The notes of a notes ref (`refs/notes/…`), by the commit they annotate; empty without it."""
        with self._lock:
            if self._git.references.get(ref) is None:
                return {}
            try:
                notes = self._git.notes(ref)  # type: ignore[call-arg]  # the stubs miss its argument
                return {str(note.annotated_id): note.message for note in notes}
            except pygit2.GitError as exc:
                raise RecordError(self._folder, f"could not read {ref}: {exc}") from exc

    def commits(self) -> Iterator[CommitInfo]:
        """Every commit up to the branch tip, oldest first (parents before children)."""
        with self._lock:
            head = self._head
            if head is None:
                return
            ids = [commit.id for commit in self._git.walk(head, SortMode.TOPOLOGICAL | SortMode.REVERSE)]
        for oid in ids:
            with self._lock:
                commit = self._git[oid]
                assert isinstance(commit, pygit2.Commit)
                info = _commit_info(commit)
            yield info

    def log(self, since: str | None = None) -> Iterator[Change]:
        """The changes of record files after `since` (excluded; None: from the start) up to the branch
        tip, oldest first, read as one `git log` without keeping them: for indexes kept elsewhere.

        `order` counts from 0 at the first change listed.
        """
        with self._lock:
            head = self._head
        return iter(()) if head is None else self._log(head, since, start=0)

    def descends_from(self, commit_id: str, ancestor: str) -> bool:
        """Whether `ancestor` is `commit_id` or one of its ancestors (False when either is unknown)."""
        with self._lock:
            if commit_id == ancestor:
                return self._git.get(commit_id) is not None
            try:
                return bool(self._git.descendant_of(commit_id, ancestor))
            except (pygit2.GitError, KeyError, ValueError):
                return False

    def resolve(self, prefix: str) -> str | None:
        """The full id of the one commit whose id starts with `prefix` (hexadecimal); None when
        there is none or more than one."""
        with self._lock:
            try:
                found = self._git.get(prefix)
            except (KeyError, ValueError, pygit2.GitError):
                return None
            return str(found.id) if isinstance(found, pygit2.Commit) else None

    def changed_paths(self, commit_id: str) -> list[str]:
        """The record files a commit added, changed or deleted (against its first parent)."""
        with self._lock:
            found = commit_and_diff(self._git, commit_id)
            if found is None:
                return []
            paths = {delta.new_file.path or delta.old_file.path for delta in found[1].deltas}
            return sorted(path for path in paths if is_record_path(path))

    # -- the history index -----------------------------------------------------------------------

    def _index(self) -> dict[str, list[Change]]:
        """The per-path history up to the branch tip: built once, then caught up from where it was."""
        if self._changes is not None and self._indexed == self._head:
            return self._changes
        since = self._indexed if self._changes is not None else None
        if since is not None and self._head is not None:
            try:
                if not self._git.descendant_of(self._head, since):
                    since = None  # the branch was rewritten: start again
            except (pygit2.GitError, KeyError, ValueError):
                since = None
        if since is None:
            self._changes, self._all = {}, []
        assert self._changes is not None
        if self._head is not None:
            for change in self._log(self._head, since, start=len(self._all)):
                self._changes.setdefault(change.path, []).append(change)
                self._all.append(change)
        self._indexed = self._head
        return self._changes

    def _log(self, head: str, since: str | None, *, start: int) -> Iterator[Change]:
        """The changes of record files from `since` (excluded) to `head`, oldest first."""
        fmt = "--format=%x01%H%x00%at%x00%s"
        args = ["log", "-z", "--raw", "--no-renames", "--no-abbrev", "--reverse", fmt, head]
        output = run_git(self._gitdir, self._folder, *args, *([f"^{since}"] if since else []))
        order = start
        for chunk in output.decode("utf-8", errors="replace").split("\x01")[1:]:
            commit_id, timestamp, rest = chunk.split("\0", 2)
            subject, _, raw = rest.partition("\0")
            date = datetime.fromtimestamp(int(timestamp), UTC)
            tokens = raw.lstrip("\n").split("\0")
            for status_line, path in zip(tokens[0::2], tokens[1::2], strict=False):
                if not status_line.startswith(":") or not is_record_path(path):
                    continue
                fields = status_line.split()
                blob_id = fields[3] if fields[3] != _ZERO and not fields[4].startswith("D") else None
                yield Change(commit_id, path, blob_id, date, subject, order)
                order += 1

    def _commit(self, commit_id: str) -> pygit2.Commit:
        return self._git[commit_id].peel(pygit2.Commit)


def _commit_info(commit: pygit2.Commit) -> CommitInfo:
    signature, payload = commit.gpg_signature
    return CommitInfo(
        commit_id=str(commit.id),
        parents=tuple(str(parent) for parent in commit.parent_ids),
        author_name=commit.author.name,
        author_email=commit.author.email,
        date=datetime.fromtimestamp(commit.author.time, UTC),
        committer_name=commit.committer.name,
        committer_email=commit.committer.email,
        committer_date=datetime.fromtimestamp(commit.committer.time, UTC),
        message=commit.message,
        signature=signature,
        signed_payload=payload,
    )


def _branch(git: pygit2.Repository) -> str:
    head = git.references.get("HEAD")
    target = head.target if head is not None else None
    return target if isinstance(target, str) and target.startswith("refs/heads/") else "refs/heads/main"
