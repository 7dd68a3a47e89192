"""One snapshots or versions repository, written in-process with libgit2 (pygit2).

A run records thousands of files, one commit each, so nothing here starts a `git` process per
commit, and nothing touches the disk per commit either: blobs, trees and commits go to an
in-memory object store (`ota.store.pack.PendingObjects`). Every `FLUSH_EVERY` commits, and at
`flush()`/`close()`, the batch is published in this order, each step atomic:

1. one packfile with its index (temporary names, then renamed);
2. the branch, moved by compare-and-swap from the commit it pointed to at the last flush;
3. the working-tree files of the batch (temporary file in the git directory, then renamed);
4. the index (libgit2 writes `index.lock`, then renames it), entries carrying the files' stat data;
5. the path index (`ota-records.json`: path → commit that last changed it).

A SIGKILL before step 2 loses the batch (the next run records it again) and leaves at most an
unreferenced pack; after step 2, the index still describes the previous flush, so the next
`open()` — which finds the `ota-session` marker of the killed session — rewrites from HEAD the
record files whose index entry differs from HEAD. Git's own `*.lock` files and temporary packs (of
a killed `git repack`) and ota's temporary files are removed then too: holding `ota-lock` (flock)
proves no other ota process writes here.

Commits become visible to git (and durable) at flush: a repository whose records cite another's
commits (versions cite snapshots) is opened with `cited=` so that the cited one is flushed first.
Calls are serialised by a lock, so that flush may come from the citing repository's thread.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import pygit2
from pygit2.enums import DeltaStatus

from ota.errors import RecordError
from ota.settings import DEFAULT_AUTHOR_EMAIL, DEFAULT_AUTHOR_NAME
from ota.store.folder import branch_of, commit_and_diff, lock, open_or_init, record_paths, run_git
from ota.store.pack import (
    BLOB,
    COMMIT,
    PendingObjects,
    TreeCache,
    commit_object,
    remove_partial_packs,
    write_pack,
)
from ota.store.pathindex import PathIndex
from ota.store.provenance import Provenance, Record, record_of
from ota.store.worktree import TMP, WorkTree

#: Commits held in memory before they are published (packed, branch moved, files written).
FLUSH_EVERY = 200
#: …or bytes of new objects, whichever comes first. With one folder per service, every commit
#: adds a root tree as large as the collection (200 KB at 5,000 services): a small bound keeps
#: memory from growing with the collection.
FLUSH_BYTES = 16 * 1024 * 1024
#: The path index is saved at close, and at a flush when it was last saved this long ago (seconds):
#: saving it writes every path, so saving at each flush made a run cost O(paths²). After a crash,
#: the next open brings it up to date with one `git log` over the commits it had not seen.
SAVE_PATHS_EVERY = 60.0
#: Above this many packs, `close()` runs `git repack --geometric=2 -d` (merges the small ones).
#: Each pack libgit2 reads keeps up to 16 MiB of resolved delta bases, and ota's root trees are
#: deltas: reading the latest records from 38 packs took the recording process to 559 MB of
#: anonymous memory at 5,000 terms (500 changed versions), 158 MB with at most 8 packs.
MAX_PACKS = 8

_SESSION = "ota-session"
#: Written before a batch is published ("OLD NEW" branch tips), removed once its files are written:
#: after a crash, recovery rewrites the files of that batch only, never a change someone else made.
_PUBLISHING = "ota-publishing"
#: Authors whose commits are records: ota's configured bot and Open Terms Archive's own.

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _locked(method: Callable[Concatenate[Repository, _P], _T]) -> Callable[Concatenate[Repository, _P], _T]:
    @functools.wraps(method)
    def locked(self: Repository, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        with self._mutex:
            return method(self, *args, **kwargs)

    return locked


class Signer(Protocol):
    """What signs commits: the armored signature of a commit object (`ota.store.signing.SshSigner`)."""

    def sign(self, message: bytes) -> str: ...


@dataclass(frozen=True)
class Held:
    """A repository found (or created) and locked, not opened yet: `Repository.open(held=…)` opens it."""

    git: pygit2.Repository
    lock_fd: int


def hold(path: Path | str, *, create: bool = True) -> Held:
    """Find (or create) the repository in `path` and take its lock: what a run checks before its
    first request. Raises `RecordError` (or `RepositoryInUse`) as `Repository.open` does."""
    folder = Path(path)
    git = open_or_init(folder, create)
    return Held(git, lock(Path(git.path), folder))


class Repository:
    """A snapshots or versions repository, open for reading and writing.

    Use `Repository.open()`; close it (or use it as a context manager) to publish the last commits
    and release the lock. Calls are serialised by a lock; the orchestrator still makes them from a
    single recording process (`ota.store.writer`), one at a time, so that commits happen in a known order.
    """

    def __init__(
        self,
        git: pygit2.Repository,
        lock_fd: int,
        author: tuple[str, str],
        cited: Repository | None,
        signer: Signer | None = None,
    ):
        """Private: use `Repository.open()`, which locks and recovers the repository first."""
        self._mutex = threading.RLock()
        self._git = git
        self._lock_fd: int | None = lock_fd
        self._cited = cited
        self._signer = signer
        self._gitdir = Path(git.path)
        self._work = WorkTree(git, Path(git.workdir or git.path), self._data)
        self._workdir = self._work.workdir
        self._folder = self._workdir or self._gitdir
        self._branch = branch_of(git, self._folder)
        self._pending = PendingObjects()
        git.odb.add_backend(self._pending, 1000)  # first in line: new objects go to memory
        git.set_ident(*author)  # the name in reflog entries
        self._published: pygit2.Oid | None = None  # the branch tip on disk
        self._head: pygit2.Oid | None = None  # the branch tip including unpublished commits
        self._trees = TreeCache(git, self._pending, None)
        self._signature = f"{author[0]} <{author[1]}>"
        self._paths = PathIndex(self._gitdir, self._folder)
        #: Record files with changes ota did not make (staged, or edited in the working tree).
        self._dirty: dict[str, str] = {}
        #: What opening had to repair, in words, for the run's report.
        self.repairs: list[str] = []
        self._provenance = Provenance(git, self._paths, self._signature, self._folder, self.repairs)
        self._checked: dict[str, str | None] = {}  # path → why ota may not record it (None: it may)
        self._unpublished_commits = 0
        self._paths_saved_at = time.monotonic()

    # -- opening and closing -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        author_name: str = DEFAULT_AUTHOR_NAME,
        author_email: str = DEFAULT_AUTHOR_EMAIL,
        create: bool = True,
        cited: Repository | None = None,
        signer: Signer | None = None,
        held: Held | None = None,
    ) -> Repository:
        """Open the repository in `path`, creating it (branch `main`) when missing and `create` is set.

        `cited` is the repository whose commits this one's records cite (the snapshots repository,
        for versions): it is flushed before this one, so no record on disk cites a lost commit.
        `signer`, when given, signs every commit (`ota.store.signing.SshSigner`, in-process).
        `held` is what `hold(path)` returned, when the repository was locked beforehand.
        Raises `RecordError` when `path` exists and is neither a git repository nor an empty folder,
        or when another ota process has it open.
        """
        if any(char in value for value in (author_name, author_email) for char in "<>\n\0"):
            if held is not None:
                os.close(held.lock_fd)
            raise ValueError(f"invalid author for commits: {author_name} <{author_email}>")
        held = held or hold(path, create=create)
        git, lock_fd = held.git, held.lock_fd
        try:
            repo = cls(git, lock_fd, (author_name, author_email), cited, signer)
            repo._start_session()
        except BaseException:
            os.close(lock_fd)
            raise
        return repo

    def _start_session(self) -> None:
        ref = self._git.references.get(self._branch)
        self._published = self._head = ref.peel(pygit2.Commit).id if ref is not None else None
        root = self._git[self._head].peel(pygit2.Tree).id if self._head is not None else None
        self._trees = TreeCache(self._git, self._pending, root)
        session = self._gitdir / _SESSION
        tmp = self._gitdir / TMP
        if tmp.exists() and not tmp.is_dir():  # ota's own scratch place, taken by something else
            tmp.unlink()
        head = self._commit(self._head) if self._head is not None else None
        repaired = self._work.repair_index(head)
        if repaired is not None:
            self.repairs.append(repaired)
        # A first use (no path index yet) is treated like a crash: the engine this repository comes
        # from may have been killed too, leaving its own stale locks behind.
        if session.exists() or not self._paths.exists:
            self._recover()
        self._paths.sync(self._git, self._published_id())
        self._dirty = self._work.changes_not_committed(head)
        session.write_text(f"{os.getpid()}\n")

    @_locked
    def flush(self, *, save_paths: bool = False) -> None:
        """Publish the commits made since the last flush: pack, branch, working tree, index.

        The path index is saved when `save_paths` is true or when `SAVE_PATHS_EVERY` has passed.
        """
        self._check_open()
        if self._head is not None and self._head != self._published:
            if self._cited is not None and not self._cited.closed:  # a closed one has flushed
                self._cited.flush()
            try:
                write_pack(self._gitdir / "objects" / "pack", self._pending)
                (self._gitdir / _PUBLISHING).write_text(f"{self._published_id() or '-'} {self._head}\n")
            except OSError as exc:
                raise RecordError(self._folder, f"could not write a pack: {exc}") from exc
            self._move_branch(self._head)
        self._work.write_unpublished()  # outside the test above: retried by the next flush if it failed
        (self._gitdir / _PUBLISHING).unlink(missing_ok=True)
        self._pending.clear()
        self._unpublished_commits = 0
        if save_paths or time.monotonic() - self._paths_saved_at >= SAVE_PATHS_EVERY:
            self._paths.save(self._published_id())
            self._paths_saved_at = time.monotonic()

    @_locked
    def close(self) -> None:
        """Flush, merge small packs if there are many, release the lock. Idempotent."""
        if self._lock_fd is None:
            return
        try:
            self.flush(save_paths=True)
            _repack_if_needed(self._gitdir)
            (self._gitdir / _SESSION).unlink(missing_ok=True)
        finally:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Repository:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The folder of the repository (its working tree)."""
        return self._folder

    def commits_not_by_ota(self) -> list[tuple[str, str, list[str]]]:
        """The commits made since ota last had this repository open whose author is not a
        tracker's (commit id, author, record files they changed), newest first."""
        return self._provenance.commits_not_by_ota()

    @property
    def cited(self) -> Repository | None:
        """The repository whose commits this one's records cite (snapshots, for versions)."""
        return self._cited

    @_locked
    def changed_files(self, commit_id: str) -> list[Record]:
        """The files a commit added or changed (one, for ota's and OTA's commits), as it recorded them.

        Empty when the commit is not in this repository. Unpublished commits are included.
        """
        self._check_open()
        try:
            found = commit_and_diff(self._git, commit_id)
            if found is None:
                return []
            commit, diff = found
            return [
                record_of(delta.new_file.path, self._data(delta.new_file.id), commit)
                for delta in diff.deltas
                if delta.status in (DeltaStatus.ADDED, DeltaStatus.MODIFIED)
            ]
        except pygit2.GitError as exc:
            raise RecordError(self._folder, f"could not read commit {commit_id}: {exc}") from exc

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._lock_fd is None

    @property
    def head(self) -> str | None:
        """The id of the last commit (published or not), None before the first commit."""
        return str(self._head) if self._head is not None else None

    @_locked
    def __contains__(self, path: object) -> bool:
        """Whether `path` is a file in HEAD, i.e. whether it already has a record."""
        return isinstance(path, str) and self._blob_id(path) is not None

    @_locked
    def latest(self, path: str) -> Record | None:
        """The current record of `path`, or None. Its cost does not depend on the history's length."""
        self._check_open()
        blob_id = self._blob_id(path)
        if blob_id is None:
            return None
        return record_of(path, self._data(blob_id), self._provenance.last_commit(self._head, path, blob_id))

    @_locked
    def last_change(self, path: str) -> tuple[str, datetime] | None:
        """The id and author date of the commit that last changed `path`, without reading its
        content: what recording an unchanged snapshot needs, on every run, for every page."""
        self._check_open()
        blob_id = self._blob_id(path)
        if blob_id is None:
            return None
        commit = self._provenance.last_commit(self._head, path, blob_id)
        return str(commit.id), datetime.fromtimestamp(commit.author.time, UTC)

    @_locked
    def paths(self) -> list[str]:
        """The record files in HEAD, sorted; files at the root and dot-folders are not records."""
        self._check_open()
        return [] if self._head is None else record_paths(self._commit(self._head).tree)

    # -- writing -------------------------------------------------------------------------------

    @_locked
    def commit(self, path: str, content: bytes, *, message: str, date: datetime) -> str | None:
        """Commit `content` as `path`; return the commit id, or None when the bytes are unchanged.

        Author and committer are the bot, both dated `date` (timezone-aware; stored in UTC, to the
        second). The commit is in memory until the next flush, which happens by itself every
        `FLUSH_EVERY` commits; `latest()`, `history()` and `paths()` see it at once.
        """
        self._check_open()
        parts = _split(path, self._folder)
        when = _git_time(date)
        blob_id = pygit2.hash(content)
        try:
            if self._trees.blob_id(parts) == blob_id:
                return None
            self._check_untouched(path)
            self._work.refuse_links(path)
            self._pending.add(blob_id, BLOB, bytes(content))
            tree_id = self._trees.set_blob(parts, blob_id)
        except (pygit2.GitError, ValueError) as exc:
            raise RecordError(self._folder, f"could not commit {path!r}: {exc}") from exc
        parents = [self._head] if self._head is not None else []
        signature = f"{self._signature} {when} +0000"
        sign = self._signer.sign if self._signer is not None else None
        commit_id = self._pending.put(COMMIT, commit_object(tree_id, parents, signature, message, sign))
        self._head = commit_id
        self._paths.set(path, str(commit_id))
        self._work.unpublished[path] = blob_id
        self._unpublished_commits += 1
        if self._unpublished_commits >= FLUSH_EVERY or self._pending.size >= FLUSH_BYTES:
            self.flush()
        return str(commit_id)

    # -- internals -----------------------------------------------------------------------------

    def _published_id(self) -> str | None:
        return str(self._published) if self._published is not None else None

    def _check_open(self) -> None:
        if self._lock_fd is None:
            raise RecordError(self._folder, "the repository is closed")

    def _blob_id(self, path: str) -> pygit2.Oid | None:
        try:
            return self._trees.blob_id(path.split("/"))
        except pygit2.GitError as exc:
            raise RecordError(self._folder, f"could not read {path!r}: {exc}") from exc

    def _commit(self, oid: pygit2.Oid) -> pygit2.Commit:
        return self._git[oid].peel(pygit2.Commit)

    def _data(self, blob_id: pygit2.Oid) -> bytes:
        pending = self._pending.objects.get(blob_id)  # skips libgit2 re-hashing what it reads
        if pending is not None:
            return pending[1]
        blob = self._git[blob_id]
        assert isinstance(blob, pygit2.Blob)
        return blob.data

    def _move_branch(self, target: pygit2.Oid) -> None:
        """Point the branch at `target` if it still points where we left it (compare-and-swap)."""
        count = self._unpublished_commits
        try:
            ref = self._git.references.get(self._branch)
            current = ref.target if ref is not None else None
            if current != self._published:
                # Someone committed with git meanwhile; keep our commits reachable for them to merge.
                self._git.references.create("refs/ota/unpublished", target, force=True)
                raise RecordError(
                    self._folder,
                    f"{self._branch} was moved by another program while ota was recording; "
                    f"{count} commits were not published (kept as refs/ota/unpublished)",
                )
            if ref is None:
                self._git.references.create(self._branch, target)  # fails if created meanwhile
            else:
                ref.set_target(target, f"ota: record {count} files")  # fails if moved meanwhile
        except pygit2.GitError as exc:
            raise RecordError(self._folder, f"could not move {self._branch}: {exc}") from exc
        self._published = target

    def _check_untouched(self, path: str) -> None:
        """Raise RecordError unless `path` is, in the working tree, the index and HEAD, what ota's
        own latest record of it left: a repository of evidence is appended to, never rewritten."""
        if path in self._dirty:
            raise RecordError(
                self._folder,
                f"{path}: {self._dirty[path]}; ota records nothing over a change it did not make: commit "
                f"it, or undo it (git -C '{self._folder}' checkout HEAD -- '{path}')",
            )
        if path not in self._checked:
            self._checked[path] = self._provenance.foreign_change(self._head, path, self._blob_id(path))
        reason = self._checked[path]
        if reason is not None:
            raise RecordError(self._folder, f"{path}: {reason}")

    def _recover(self) -> None:
        """Undo what a killed session can leave; safe because we hold the lock. Idempotent."""
        for name in ("index.lock", "HEAD.lock", "packed-refs.lock", f"{self._branch}.lock"):
            (self._gitdir / name).unlink(missing_ok=True)
        for leftover in (self._gitdir / "objects").glob("tmp_object_git2_*"):
            leftover.unlink(missing_ok=True)
        if (self._gitdir / TMP).is_dir():
            for leftover in (self._gitdir / TMP).iterdir():
                leftover.unlink(missing_ok=True)
        remove_partial_packs(self._gitdir / "objects" / "pack")
        marker = self._gitdir / _PUBLISHING
        if self._workdir is None or self._head is None or not marker.exists():
            marker.unlink(missing_ok=True)
            return
        # Killed while publishing a batch: the branch may have moved without the batch's files and
        # index entries following. Those files, and only those, are brought to HEAD.
        tips = marker.read_text().split()
        if not tips:  # killed while writing the marker, so before the branch moved: nothing to redo
            marker.unlink()
            return
        old = tips[0]  # "-": the batch was the branch's first
        head = self._commit(self._head)
        try:
            before = self._commit(pygit2.Oid(hex=old)).tree if old != "-" else None
        except (ValueError, KeyError, pygit2.GitError):
            before = None
        self._work.restore_batch(before, head)
        marker.unlink()


def _split(path: str, folder: Path) -> list[str]:
    parts = path.split("/")
    if any(part in ("", ".", "..") or part.lower() == ".git" or "\0" in part for part in parts):
        raise RecordError(folder, f"invalid record path {path!r}")
    return parts


def _git_time(date: datetime) -> int:
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError(f"record dates must be timezone-aware, got {date!r}")
    return int(date.replace(microsecond=0).timestamp())


def _repack_if_needed(gitdir: Path) -> None:
    """Merge small packs once there are many: lookups test every pack, so their number matters."""
    packs = list((gitdir / "objects" / "pack").glob("pack-*.idx"))
    if len(packs) > MAX_PACKS:
        # git caches resolved delta bases up to 96 MiB; ota's root trees (one entry per service,
        # stored as deltas) filled it: 200 -> 108 MB and a little faster at 5,000 services.
        limit = ("core.deltaBaseCacheLimit=16m",)
        run_git(gitdir, gitdir, "repack", "--geometric=2", "-d", "-q", config=limit)
