"""The viewer's index of a versions repository: one SQLite row per version, so no request walks git.

The file lives beside the repository's git data (`.git/ota-viewer.sqlite`): the reader writes
nothing, and this cache belongs to the viewer. `sync()` brings it up to the published branch tip:
from the last indexed commit when the tip descends from it, from scratch when the file is new,
from another schema, or the history was rewritten. When the git directory cannot be written, the
index lives in memory instead.

Each row is one commit's change to one `SERVICE/TERMS TYPE.md`: its kind (`first`, `change`,
`upgrade`, `other` for a commit whose subject is not a record's, `deleted`), its date, its blob, the
file before the commit (`parent_blob`, what `git show --numstat` compares) and the version before
it in the timeline (`base_blob`: the one in force just before, by date then commit order, which is
what timelines and diffs compare). Word counts (`ota.diff.word_counts` against `base_blob`) and
line counts (git's, against `parent_blob`) are computed once and stored; `ota.web.counts` fills
them, with the significance of the change (`ota.significance.classify` against `base_blob`: its
class, `minor`, its reasons as JSON, and the ruleset that classed it). `recurrent_of` names the
latest earlier version of the same terms whose blob (so whose text) the row's equals, other than
its base: a page flipping back to a text it had. The repository itself is never changed.

Timelines are ordered as README's "How records are dated" says: by date, equal dates in commit
order; the version in force at a date is the last one dated at or before it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from ota.significance import RULESET
from ota.store.reader import Change, RepositoryReader
from ota.store.records import kind_of, parse_version_path, version_path_for
from ota.web.rows import (
    COLUMNS,
    REAL_KINDS,
    RECORD_KINDS,
    CountResult,
    CountTask,
    TermsSummary,
    Version,
    date_of,
    store_counts,
    version_of,
)
from ota.web.sqlite import open_sqlite, remove_sqlite, sqlite_damage

log = logging.getLogger("ota.web")

INDEX_FILE = "ota-viewer.sqlite"
#: Bumped when the table layout or what a row means changes: an older file is rebuilt.
SCHEMA = "6"  # 6: a section whose spaces alone changed is "spacing only" in stored accounts
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    path TEXT NOT NULL,
    service TEXT NOT NULL,
    type TEXT NOT NULL,
    blob TEXT,
    date INTEGER NOT NULL,
    kind TEXT NOT NULL,
    parent_blob TEXT,
    base_blob TEXT,
    words_added INTEGER,
    words_removed INTEGER,
    lines_added INTEGER,
    lines_removed INTEGER,
    significance TEXT,
    minor INTEGER,
    reasons TEXT,
    ruleset TEXT,
    recurrent_of TEXT,
    account TEXT
);
CREATE INDEX IF NOT EXISTS versions_path ON versions (path, date, seq);
CREATE INDEX IF NOT EXISTS versions_date ON versions (date, seq);
CREATE INDEX IF NOT EXISTS versions_service ON versions (service, date, seq);
CREATE INDEX IF NOT EXISTS versions_id ON versions (id);
CREATE INDEX IF NOT EXISTS versions_pending ON versions (seq) WHERE words_added IS NULL;
CREATE TABLE IF NOT EXISTS terms (
    path TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    type TEXT NOT NULL,
    versions INTEGER NOT NULL,
    latest_seq INTEGER,
    last_change_date INTEGER
);
"""


class VersionIndex:
    """The SQLite index of one versions repository. Use from one thread (the server's event loop);
    `ota.web.counts` writes counts through its own connection."""

    def __init__(self, reader: RepositoryReader, path: Path | None = None) -> None:
        """Open (or create) the index of `reader`'s repository at `path` (default: in its git data)."""
        self.reader = reader
        self.path = path if path is not None else reader.git_dir / INDEX_FILE
        self._lock = threading.RLock()
        self.db = self._connect()
        self.head: str | None = self._meta("head")

    def _connect(self) -> sqlite3.Connection:
        try:
            db = self._open_sound()
        except (sqlite3.Error, OSError):
            # A read-only or broken git directory: the viewer still works, from memory.
            self.path = Path(":memory:")
            db = open_sqlite(":memory:")
        db.executescript(_TABLES)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA,))
        ruleset = db.execute("SELECT value FROM meta WHERE key = 'ruleset'").fetchone()
        if ruleset is None or ruleset[0] != RULESET:  # another ruleset classed them: class them again
            db.execute("UPDATE versions SET words_added = NULL WHERE significance IS NOT NULL")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('ruleset', ?)", (RULESET,))
        db.commit()
        return db

    def _open_sound(self) -> sqlite3.Connection:
        """The index file, started again when `PRAGMA quick_check` finds it damaged (said in the
        log) or it has another schema."""
        existed = self.path.exists()
        try:
            db = open_sqlite(str(self.path))
        except sqlite3.DatabaseError as error:
            if not existed or isinstance(error, sqlite3.OperationalError):
                raise  # cannot be opened or created here (a read-only folder): not damage
            damage: str | None = str(error)  # not even a database any more
        else:
            damage = sqlite_damage(db)
            if damage is None and self._schema(db) in (None, SCHEMA):
                return db
            db.close()
        if damage is not None:
            log.warning("%s: damaged (%s): rebuilt from the repository", self.path, damage)
        remove_sqlite(self.path)
        return open_sqlite(str(self.path))

    @staticmethod
    def _schema(db: sqlite3.Connection) -> str | None:
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:  # no table yet
            return None
        return str(row[0]) if row else None

    def close(self) -> None:
        self.db.close()

    def rebuild(self, reason: str) -> None:
        """Start the index again from the repository: SQLite said it is damaged (`reason`). The
        index is derived data: nothing is lost but the time to build it again."""
        with self._lock:
            log.warning("%s: damaged (%s): rebuilt from the repository", self.path, reason)
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            if str(self.path) != ":memory:":
                with contextlib.suppress(OSError):
                    remove_sqlite(self.path)
            self.db = self._connect()
            self.head = None

    def connect(self) -> sqlite3.Connection:
        """Another connection to the same file (for a thread writing counts); in memory, the same one."""
        return open_sqlite(str(self.path)) if str(self.path) != ":memory:" else self.db

    # -- keeping up with the repository --------------------------------------------------------------

    def sync(self) -> int:
        """Follow the branch: index the commits published since the last sync; return how many rows."""
        with self._lock:
            self.reader.refresh()
            head = self.reader.head
            if head == self.head:
                return 0
            since = self.head
            if since is not None and (head is None or not self.reader.descends_from(head, since)):
                since = None  # history rewritten (or the repository replaced): start again
            if since is None:
                self.db.execute("DELETE FROM versions")
                self.db.execute("DELETE FROM terms")
            added = self._append(self.reader.log(since))
            self.head = head
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('head', ?)", (head or "",))
            self.db.commit()
            return added

    def _append(self, changes: Iterable[Change]) -> int:
        start = self.db.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM versions").fetchone()[0]
        last_blob: dict[str, str | None] = {}
        rows: list[tuple[object, ...]] = []
        for change in changes:
            terms = parse_version_path(change.path)
            if terms is None:
                continue
            if change.path not in last_blob:
                last_blob[change.path] = self._last_blob(change.path)
            kind = "deleted" if change.blob_id is None else kind_of(change.subject) or "other"
            rows.append(
                (
                    start + len(rows),
                    change.commit_id,
                    change.path,
                    terms[0],
                    terms[1],
                    change.blob_id,
                    int(change.date.timestamp()),
                    kind,
                    last_blob[change.path],
                )
            )
            last_blob[change.path] = change.blob_id
        self.db.executemany(
            "INSERT INTO versions (seq, id, path, service, type, blob, date, kind, parent_blob) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._relink(sorted(last_blob))
        return len(rows)

    def _last_blob(self, path: str) -> str | None:
        row = self.db.execute("SELECT blob FROM versions WHERE path = ? ORDER BY seq DESC LIMIT 1", (path,))
        found = row.fetchone()
        return found[0] if found else None

    def _relink(self, paths: Sequence[str]) -> None:
        """Set each row's `base_blob` (the version before it in the timeline) for these paths, and
        forget the counts of rows whose base changed; then refresh the paths' summaries."""
        updates = []
        recurrences: list[tuple[str | None, int]] = []
        for chunk in _chunks(paths, 500):
            marks = ",".join("?" * len(chunk))
            cursor = self.db.execute(
                f"SELECT path, seq, blob, base_blob, id, recurrent_of FROM versions "
                f"WHERE path IN ({marks}) ORDER BY path, date, seq",
                chunk,
            )
            current, before = None, None
            seen: dict[str, str] = {}  # blob → the latest version of this terms with it
            for path, seq, blob, base, id_, recurrent in cursor:
                if path != current:
                    current, before, seen = path, None, {}
                if base != before:
                    updates.append((before, seq))
                restored = seen.get(blob) if blob is not None and blob != before else None
                if restored != recurrent:
                    recurrences.append((restored, seq))
                if blob is not None:
                    seen[blob] = id_
                before = blob
        self.db.executemany(
            "UPDATE versions SET base_blob = ?, words_added = NULL, words_removed = NULL, "
            "significance = NULL, account = NULL WHERE seq = ?",
            updates,
        )
        self.db.executemany("UPDATE versions SET recurrent_of = ? WHERE seq = ?", recurrences)
        real = ",".join(f"'{kind}'" for kind in REAL_KINDS)
        for chunk in _chunks(paths, 500):
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM terms WHERE path IN ({marks})", chunk)
            self.db.execute(
                f"""INSERT INTO terms
                SELECT path, service, type,
                    SUM(kind IN ('first', 'change', 'upgrade')),
                    (SELECT seq FROM versions AS v WHERE v.path = versions.path
                        ORDER BY date DESC, seq DESC LIMIT 1),
                    MAX(CASE WHEN kind IN ({real}) THEN date END)
                FROM versions WHERE path IN ({marks}) GROUP BY path""",
                chunk,
            )

    # -- counts ----------------------------------------------------------------------------------------

    def pending(self, limit: int, path: str | None = None) -> list[CountTask]:
        """Rows whose counts are not computed yet (deleted files have none to compute)."""
        where = "words_added IS NULL AND blob IS NOT NULL" + (" AND path = ?" if path else "")
        cursor = self.db.execute(
            f"SELECT seq, blob, base_blob, parent_blob, kind FROM versions WHERE {where} "
            "ORDER BY seq LIMIT ?",
            (path, limit) if path else (limit,),
        )
        return [CountTask(*row) for row in cursor]

    def pending_count(self) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM versions WHERE words_added IS NULL AND blob IS NOT NULL"
            ).fetchone()[0]
        )

    def store_counts(self, results: Iterable[CountResult]) -> None:
        """Store (seq, blob, words added, words removed, lines added, lines removed, significance)
        results (`ota.web.counts.count`)."""
        store_counts(self.db, results)

    # -- queries ---------------------------------------------------------------------------------------

    def summaries(self, path: str | None = None) -> list[TermsSummary]:
        """Every terms with versions (or the one at `path`), by service then terms type."""
        cursor = self.db.execute(
            "SELECT path, service, type, versions, last_change_date FROM terms "
            + ("WHERE path = ? " if path else "")
            + "ORDER BY service, type",
            (path,) if path else (),
        )
        return [
            TermsSummary(found, service, terms_type, count, date_of(last) if last is not None else None)
            for found, service, terms_type, count, last in cursor
        ]

    def known(self, service_id: str, terms_type: str | None = None) -> bool:
        """Whether the repository has versions of this service (and terms type)."""
        if terms_type is None:
            row = self.db.execute("SELECT 1 FROM terms WHERE service = ? LIMIT 1", (service_id,))
        else:
            row = self.db.execute(
                "SELECT 1 FROM terms WHERE path = ?", (version_path_for(service_id, terms_type),)
            )
        return row.fetchone() is not None

    def timeline(
        self, path: str, kinds: Sequence[str] = RECORD_KINDS, *, hide: Sequence[str] = ()
    ) -> list[Version]:
        """The versions of a terms, oldest first (by date, equal dates in commit order), but the
        changes of the classes in `hide` (`SIGNIFICANCE_FILTERS`)."""
        where, params = self._where(kinds, None, path, hide)
        cursor = self.db.execute(f"SELECT {COLUMNS} FROM versions WHERE {where} ORDER BY date, seq", params)
        return [version_of(row) for row in cursor]

    def version(self, version_id: str) -> Version | None:
        """The version recorded by a commit: its full id, or an unambiguous prefix of 7 or more."""
        if len(version_id) == 40:
            cursor = self.db.execute(f"SELECT {COLUMNS} FROM versions WHERE id = ? LIMIT 2", (version_id,))
        else:
            cursor = self.db.execute(
                f"SELECT {COLUMNS} FROM versions WHERE id >= ? AND id < ? LIMIT 2",
                (version_id, version_id + "g"),
            )
        rows = cursor.fetchall()
        return version_of(rows[0]) if len(rows) == 1 and rows[0][5] is not None else None

    def in_force(self, path: str, date: datetime) -> Version | None:
        """The version in force at `date`: the last dated at or before it (None before the first,
        or when the file was deleted then)."""
        row = self.db.execute(
            f"SELECT {COLUMNS} FROM versions WHERE path = ? AND date <= ? "
            "ORDER BY date DESC, seq DESC LIMIT 1",
            (path, int(date.timestamp())),
        ).fetchone()
        return version_of(row) if row is not None and row[5] is not None else None

    def latest(self, path: str, kinds: Sequence[str] = RECORD_KINDS) -> Version | None:
        found = self.recent(kinds=kinds, path=path, limit=1)
        return found[0] if found else None

    def recent(
        self,
        *,
        kinds: Sequence[str] = RECORD_KINDS,
        service_id: str | None = None,
        path: str | None = None,
        limit: int = 100,
        offset: int = 0,
        hide: Sequence[str] = (),
    ) -> list[Version]:
        """Versions newest first (by date, then commit order), optionally of one service or terms,
        but the changes of the classes in `hide`."""
        where, params = self._where(kinds, service_id, path, hide)
        cursor = self.db.execute(
            f"SELECT {COLUMNS} FROM versions WHERE {where} ORDER BY date DESC, seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [version_of(row) for row in cursor]

    def count(
        self,
        *,
        kinds: Sequence[str] = RECORD_KINDS,
        service_id: str | None = None,
        path: str | None = None,
        hide: Sequence[str] = (),
    ) -> int:
        where, params = self._where(kinds, service_id, path, hide)
        return int(self.db.execute(f"SELECT COUNT(*) FROM versions WHERE {where}", params).fetchone()[0])

    def lastdate_of(self) -> datetime | None:
        row = self.db.execute("SELECT MAX(date) FROM versions").fetchone()
        return date_of(row[0]) if row[0] is not None else None

    @staticmethod
    def _where(
        kinds: Sequence[str], service_id: str | None, path: str | None, hide: Sequence[str] = ()
    ) -> tuple[str, tuple[str | int, ...]]:
        clauses = [f"kind IN ({','.join('?' * len(kinds))})"]
        params: list[str | int] = list(kinds)
        if hide:  # only changes are hidden: first records and technical upgrades stay
            marks = ",".join("?" * len(hide))
            clauses.append(f"(kind != 'change' OR significance IS NULL OR significance NOT IN ({marks}))")
            params.extend(hide)
        if service_id is not None:
            clauses.append("service = ?")
            params.append(service_id)
        if path is not None:
            clauses.append("path = ?")
            params.append(path)
        return " AND ".join(clauses), tuple(params)

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row and row[0] else None


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
