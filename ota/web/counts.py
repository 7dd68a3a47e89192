"""Word and line counts of the indexed versions, computed once and stored in the index.

`word_counts` costs about a millisecond a version (`ota.significance.classify`, computed with
them, about as much again; `ota.diff.sections.account`, what a change changed by section with an
excerpt, for feeds, 2.5 ms on bench/serve.py's texts), so a history of 20,000 versions takes 20 s of
CPU: a small backlog (a tracking run's new versions) is counted at once, in the server's process;
a large one (the first index of a long history) is counted by worker processes, one per CPU, while
the viewer already answers (a timeline shows the counts it has). Workers read the blobs themselves
(pygit2, by the ids the index gives) and send back six integers per version.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Sequence

import pygit2

from ota.diff import word_counts
from ota.diff.sections import account
from ota.significance import classify
from ota.web.index import VersionIndex
from ota.web.rows import CountResult, CountTask, store_counts

#: A backlog up to this size is counted in the calling process (about 1 ms a version).
INLINE_LIMIT = 400
#: Versions sent to a worker at once.
CHUNK = 200

Result = CountResult

_repositories: dict[str, pygit2.Repository] = {}
log = logging.getLogger("ota.web")


def count(git_dir: str, tasks: Sequence[CountTask]) -> list[Result]:
    """(seq, blob, words added, words removed, lines added, lines removed, significance, account)
    of each task: the significance of the change from its base (None for a first record), and for
    a change what it changed by section with an excerpt (`ota.diff.sections.account`, in JSON)."""
    repository = _repositories.get(git_dir)
    if repository is None:
        repository = _repositories[git_dir] = pygit2.Repository(git_dir)
    results = []
    for task in tasks:
        new = _blob(repository, task.blob)
        base = _blob(repository, task.base_blob)
        parent = base if task.parent_blob == task.base_blob else _blob(repository, task.parent_blob)
        base_text, new_text = _text(base), _text(new)
        added, removed = word_counts(base_text, new_text)
        significance = classify(base_text, new_text) if base is not None else None
        patch = pygit2.Patch.create_from(parent, new)
        _, lines_added, lines_removed = patch.line_stats
        told = account(base_text, new_text).to_json() if base is not None and task.kind == "change" else None
        results.append((task.seq, task.blob, added, removed, lines_added, lines_removed, significance, told))
    return results


def _blob(repository: pygit2.Repository, blob_id: str | None) -> bytes | None:
    if blob_id is None:
        return None
    blob = repository.get(blob_id)
    return blob.data if isinstance(blob, pygit2.Blob) else None


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", errors="replace")


def count_inline(index: VersionIndex, *, path: str | None = None, limit: int = INLINE_LIMIT) -> int:
    """Count up to `limit` pending versions (of one terms, or any) now; return how many."""
    tasks = index.pending(limit, path)
    if tasks:
        index.store_counts(count(str(index.reader.git_dir), tasks))
    return len(tasks)


class CountFiller:
    """Counts a large backlog in worker processes, in the background, and stores the results."""

    def __init__(self, index: VersionIndex, workers: int | None = None) -> None:
        self._index = index
        self._workers = workers or os.cpu_count() or 1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()

    def start(self) -> None:
        """Count what is pending: in the background when there is much, else at once."""
        if self._index.pending_count() <= INLINE_LIMIT:
            count_inline(self._index)
            self.done.set()
            return
        if self._thread is None or not self._thread.is_alive():
            self.done.clear()
            self._thread = threading.Thread(target=self._run, name="ota-counts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            db = self._index.connect()
        except sqlite3.Error:  # a damaged index: the next request rebuilds it
            self.done.set()
            return
        git_dir = str(self._index.reader.git_dir)
        # spawn: the server has threads (and maybe an event loop); forking them is unsafe.
        context = multiprocessing.get_context("spawn")
        try:
            with concurrent.futures.ProcessPoolExecutor(self._workers, mp_context=context) as pool:
                while not self._stop.is_set():
                    tasks = _pending(db, CHUNK * self._workers * 4)
                    if not tasks:
                        break
                    chunks = [tasks[i : i + CHUNK] for i in range(0, len(tasks), CHUNK)]
                    futures = [pool.submit(count, git_dir, chunk) for chunk in chunks]
                    for future in concurrent.futures.as_completed(futures):
                        if self._stop.is_set():
                            break
                        store_counts(db, future.result())
        except sqlite3.DatabaseError as error:  # a damaged index: the next request rebuilds it
            log.warning("counting versions stopped: %s", error)
        finally:
            if db is not self._index.db:
                db.close()
            self.done.set()


def _pending(db: object, limit: int) -> list[CountTask]:
    cursor = db.execute(  # type: ignore[attr-defined]
        "SELECT seq, blob, base_blob, parent_blob, kind FROM versions "
        "WHERE words_added IS NULL AND blob IS NOT NULL ORDER BY seq LIMIT ?",
        (limit,),
    )
    return [CountTask(*row) for row in cursor]
