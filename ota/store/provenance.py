"""Who made each change of a record file: the commit that last changed a path (the path index's,
checked against the history), and whether that change was a tracker's record or a hand edit.

A repository of evidence is appended to, never rewritten: `ota.store.repository.Repository`
records nothing over a change that was not a record (`foreign_change`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from pygit2.enums import SortMode

from ota.store.pathindex import FILE_NAME as PATH_INDEX_FILE
from ota.store.pathindex import PathIndex
from ota.store.worktree import is_record_path

OTA_BOT = "Open Terms Archive Bot <bot@opentermsarchive.org>"


@dataclass(frozen=True)
class Record:
    """The content of a file as recorded by one commit."""

    path: str
    content: bytes
    commit_id: str
    #: Author date of the commit, in UTC: the fetch date for records written by ota or OTA.
    date: datetime
    subject: str
    #: The whole commit message (subject, body and trailers).
    message: str = ""


class Provenance:
    """The commits behind the record files of one repository, whose records `signature` authors."""

    def __init__(
        self, git: pygit2.Repository, paths: PathIndex, signature: str, folder: Path, repairs: list[str]
    ) -> None:
        """`repairs` is the repository's list of what was repaired, for the run's report."""
        self._git = git
        self._paths = paths
        self._signature = signature
        self._folder = folder
        self.repairs = repairs

    def commits_not_by_ota(self) -> list[tuple[str, str, list[str]]]:
        """The commits made since ota last had this repository open whose author is not a
        tracker's (commit id, author, record files they changed), newest first."""
        return [
            (commit_id, author, [path for path in paths if is_record_path(path)])
            for commit_id, author, paths in self._paths.new_commits
            if author not in (self._signature, OTA_BOT)
        ]

    def last_commit(self, head: pygit2.Oid | None, path: str, blob_id: pygit2.Oid) -> pygit2.Commit:
        """The commit that last changed `path` (to `blob_id`, its content at HEAD): the path index's,
        once checked against the history, since records are made from it. An entry that is missing,
        or names a commit that did not change `path` to this content (an edited ota-records.json),
        is replaced by what walking the history finds, and said in the run's report."""
        commit_id = self._paths.get(path)
        found = self._git.get(commit_id) if commit_id is not None else None
        if isinstance(found, pygit2.Commit) and changes_path_to(found, path, blob_id):
            return found
        commit, _ = next(self.changes(head, path))
        if commit_id is not None:
            self.repairs.append(
                f"{self._folder}: .git/{PATH_INDEX_FILE} said commit {commit_id[:12]} last changed {path}, "
                f"which the history contradicts: corrected to {str(commit.id)[:12]}"
            )
        self._paths.set(path, str(commit.id))
        return commit

    def changes(self, head: pygit2.Oid | None, path: str) -> Iterator[tuple[pygit2.Commit, pygit2.Oid]]:
        """The commits that changed `path` (with its blob), newest first, by walking the history."""
        if head is None:
            return
        for commit in self._git.walk(head, SortMode.TOPOLOGICAL | SortMode.TIME):
            blob_id = tree_blob_id(commit.tree, path)
            if blob_id is None:
                continue
            if any(tree_blob_id(parent.tree, path) == blob_id for parent in commit.parents):
                continue
            yield commit, blob_id

    def foreign_change(self, head: pygit2.Oid | None, path: str, current: pygit2.Oid | None) -> str | None:
        """Why the latest change of `path` on the branch was not a record (a hand edit), or None."""
        if current is not None:
            found: object = self.last_commit(head, path, current)
        else:  # deleted: the index names the deleting commit (checked; the history walk skips deletions)
            commit_id = self._paths.get(path)
            found = self._git.get(commit_id) if commit_id is not None else None
            if isinstance(found, pygit2.Commit) and not changes_path_to(found, path, None):
                found = None
        if not isinstance(found, pygit2.Commit) or self.is_record(found):
            return None
        # The last record made by a tracker, walking back: rare, only for files someone changed.
        expected = next((blob for commit, blob in self.changes(head, path) if self.is_record(commit)), None)
        if current is not None and current == expected:
            return None  # changed, then put back as the tracker recorded it
        author = f"{found.author.name} <{found.author.email}>"
        what = "deleted" if current is None else "changed"
        return (
            f"{what} by commit {str(found.id)[:12]} ({author}, "
            f"{datetime.fromtimestamp(found.author.time, UTC):%Y-%m-%d}), which is not a record of ota; ota "
            "records nothing over it: revert that commit (git revert) to record again"
        )

    def is_record(self, commit: pygit2.Commit) -> bool:
        """Whether `commit` is a tracker's (this repository's author, or OTA's bot)."""
        author = f"{commit.author.name} <{commit.author.email}>"
        return author in (self._signature, OTA_BOT)


def record_of(path: str, content: bytes, commit: pygit2.Commit) -> Record:
    message = commit.message
    # git's %s: the first paragraph, its lines joined by spaces.
    subject = " ".join(line.strip() for line in message.strip().split("\n\n", 1)[0].splitlines())
    date = datetime.fromtimestamp(commit.author.time, UTC)
    return Record(path, content, str(commit.id), date, subject, message)


def changes_path_to(commit: pygit2.Commit, path: str, blob_id: pygit2.Oid | None) -> bool:
    """Whether `commit` changed `path` to `blob_id` (None: deleted it): what a path index entry
    claims, checked in two trees before it is trusted."""
    if tree_blob_id(commit.tree, path) != blob_id:
        return False
    return all(tree_blob_id(parent.tree, path) != blob_id for parent in commit.parents)


def tree_blob_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        entry = tree[path]
    except (KeyError, ValueError):
        return None
    return entry.id if isinstance(entry, pygit2.Blob) else None
