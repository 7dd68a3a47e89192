"""The working tree and index of one repository, as `ota.store.repository.Repository` keeps them.

Record files are replaced by rename (a temporary file in the git directory first), so no reader or
crash sees half a file, and never written through a symbolic link. Index entries carry the stat
data of the files as written, so `git status` does not read them again. What a killed session can
leave (a batch published without its files) is brought back to HEAD; an index git cannot read is
kept aside and rebuilt; record files changed by someone else are found, so that ota records
nothing over them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, FileMode

from ota.errors import RecordError
from ota.store.pack import add_index_entry

#: ota's scratch folder in the git directory, where files are written before their rename.
TMP = "ota-tmp"


def is_record_path(path: str) -> bool:
    """Whether a repository path is a record: files at the root and dot-folders are not."""
    return "/" in path and not path.startswith(".")


class WorkTree:
    """The working tree and index of a repository (nothing to do in a bare one)."""

    def __init__(self, git: pygit2.Repository, folder: Path, data: Callable[[pygit2.Oid], bytes]) -> None:
        """`folder` names the repository in errors; `data` reads a blob (pending ones included)."""
        self._git = git
        self._gitdir = Path(git.path)
        #: The working tree's folder, None for a bare repository.
        self.workdir = Path(git.workdir) if git.workdir else None
        self._folder = folder
        self._data = data
        self._tmp_counter = 0
        #: path → blob of the commits not written to the working tree and the index yet.
        self.unpublished: dict[str, pygit2.Oid] = {}

    def write_unpublished(self) -> None:
        """Bring the working tree and the index up to the published HEAD for the batch's paths."""
        if self.workdir is None or not self.unpublished:
            self.unpublished.clear()
            return
        index = self._git.index
        try:
            index.read(False)  # take in changes made on disk by git commands since our last write
            for path, blob_id in self.unpublished.items():
                self.write_file(index, path, blob_id)
            index.write()
        except (pygit2.GitError, OSError) as exc:
            raise RecordError(self._folder, f"could not update the working tree: {exc}") from exc
        self.unpublished.clear()

    def refuse_links(self, path: str) -> None:
        """Raise RecordError when a folder or the file on the way to `path` in the working tree is a
        symbolic link: writing through it could write anywhere (`versions/Svc -> /elsewhere`)."""
        if self.workdir is None:
            return
        current = self.workdir
        for part in path.split("/"):
            current = current / part
            if current.is_symlink():
                raise RecordError(
                    self._folder,
                    f"{path}: not written: {current} is a symbolic link (to {os.readlink(current)}); ota "
                    "never writes through a link: remove it, or replace it by a folder",
                )

    def write_file(self, index: pygit2.Index, path: str, blob_id: pygit2.Oid) -> None:
        """Replace the working-tree file by rename, so no reader or crash sees half a file."""
        assert self.workdir is not None
        self.refuse_links(path)  # checked when committed too: a link may have appeared since
        target = self.workdir / path
        tmp_dir = self._gitdir / TMP
        self._tmp_counter += 1
        tmp = tmp_dir / f"{os.getpid()}-{self._tmp_counter}"
        try:
            if not target.parent.is_dir():
                target.parent.mkdir(parents=True)
            try:
                file = open(tmp, "wb")  # noqa: SIM115 -- closed below, before the rename
            except FileNotFoundError:
                tmp_dir.mkdir()
                file = open(tmp, "wb")  # noqa: SIM115
            with file:
                file.write(self._data(blob_id))
                file.flush()  # the stat data must describe the file as written, not the empty buffer
                stat = os.fstat(file.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        add_index_entry(index, path, blob_id, stat)

    def repair_index(self, head: pygit2.Commit | None) -> str | None:
        """Rebuild from `head` an index git cannot read (kept aside), instead of failing every run;
        what was repaired, in words (None: nothing was)."""
        if self.workdir is None or head is None:
            return None
        try:
            self._git.index.read(True)
            return None
        except (pygit2.GitError, OSError, RuntimeError) as exc:
            damaged = self._gitdir / "index"
            kept = damaged.with_name(f"index.damaged-{int(time.time())}")
            repaired = (
                f"{self._folder}: .git/index could not be read ({exc}); it was kept as .git/{kept.name} "
                "and rebuilt from HEAD (working-tree files are untouched: check `git status`)"
            )
        try:
            os.replace(damaged, kept)
            self._git.index.read_tree(head.tree)
            self._git.index.write()
        except (pygit2.GitError, OSError) as exc:
            raise RecordError(self._folder, f"could not rebuild .git/index: {exc}") from exc
        return repaired

    def changes_not_committed(self, head: pygit2.Commit | None) -> dict[str, str]:
        """Record files that differ between `head`, the index and the working tree, with how."""
        if self.workdir is None or head is None:
            return {}
        found: dict[str, str] = {}
        try:
            index = self._git.index
            index.read(True)
            for delta in index.diff_to_tree(head.tree).deltas:
                path = delta.old_file.path or delta.new_file.path
                if is_record_path(path):
                    found[path] = "has a change staged in the index"
            for delta in index.diff_to_workdir().deltas:
                path = delta.old_file.path
                if is_record_path(path) and path not in found:
                    deleted = delta.status == DeltaStatus.DELETED
                    found[path] = (
                        "was deleted from the working tree" if deleted else "was edited in the working tree"
                    )
        except (pygit2.GitError, OSError) as exc:
            raise RecordError(self._folder, f"could not compare the working tree with HEAD: {exc}") from exc
        return found

    def restore_batch(self, before: pygit2.Tree | None, head: pygit2.Commit) -> None:
        """Bring to `head` the record files a batch changed since `before` (None: the batch was the
        branch's first): a session killed while publishing may have moved the branch without them."""
        index = self._git.index
        try:
            index.read(True)
            batch = (
                before.diff_to_tree(head.tree) if before is not None else head.tree.diff_to_tree(swap=True)
            )
            for delta in batch.deltas:
                path = delta.new_file.path
                if is_record_path(path) and delta.new_file.mode in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
                    self.write_file(index, path, delta.new_file.id)
            index.write()
        except (pygit2.GitError, OSError) as exc:
            raise RecordError(self._folder, f"could not restore the working tree: {exc}") from exc
