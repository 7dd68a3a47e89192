"""Search through history: which terms ever said a phrase, since when, and whether they still do.

The viewer keeps a second SQLite file beside its index (`.git/ota-search.sqlite`): every distinct
paragraph (a block as `ota.diff.split_blocks` cuts it: a paragraph, a list item, a table row, a
heading) of every version, once, in an FTS5 table, and for each terms the spans of its timeline in
which each paragraph is present: from the version that added it to the version that removed it
(none while it is still there). Versions share most of their paragraphs, so 20,000 versions of
50 KB make a few hundred thousand rows, not a gigabyte of text. A phrase is looked for inside one
paragraph (words in that order, case, accents and punctuation ignored, as FTS5's unicode61
tokenizer reads them).

The file follows the index (`ota.web.index`) in the index's commit order: `sync()` reads the rows
added since its last one, and starts again when the index was rebuilt. It is filled by one thread
in the background; a search made meanwhile answers from what is indexed and says it is incomplete.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from markupsafe import Markup, escape

from ota.diff import split_blocks
from ota.web.index import VersionIndex
from ota.web.sqlite import open_sqlite, remove_sqlite, sqlite_damage

SEARCH_FILE = "ota-search.sqlite"
SCHEMA = "3"
#: Rows of the index read and indexed in one transaction.
BATCH = 500
#: Terms listed at most in one answer.
MAX_RESULTS = 200
_START, _END = "\x02", "\x03"  # around the words found, in excerpts
logger = logging.getLogger("ota.web")

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE);
CREATE VIRTUAL TABLE IF NOT EXISTS block_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS spans (
    block INTEGER NOT NULL,
    path TEXT NOT NULL,
    start_id TEXT NOT NULL,
    start_date INTEGER NOT NULL,
    end_id TEXT,
    end_date INTEGER,
    last_id TEXT,
    last_date INTEGER
);
CREATE TABLE IF NOT EXISTS latest (path TEXT PRIMARY KEY, id TEXT NOT NULL, date INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS spans_block ON spans (block);
CREATE INDEX IF NOT EXISTS spans_open ON spans (path) WHERE end_id IS NULL;
"""


@dataclass(frozen=True)
class Seen:
    """A version, as a search result names it."""

    id: str
    date: datetime


@dataclass(frozen=True)
class Found:
    """A terms that contained the phrase: where it first appeared, where it was last seen, where it
    disappeared (None while it is present in the latest version), and an excerpt."""

    service_id: str
    terms_type: str
    first_seen: Seen
    last_seen: Seen
    disappeared: Seen | None
    excerpt: str

    @property
    def present(self) -> bool:
        return self.disappeared is None

    def excerpt_html(self) -> Markup:
        """The excerpt, escaped, the words found in `<mark>`."""
        text = str(escape(self.excerpt))
        return Markup(text.replace(_START, "<mark>").replace(_END, "</mark>"))  # escaped above


@dataclass(frozen=True)
class Results:
    query: str
    found: list[Found]
    #: False while the background indexing has not reached the latest version.
    complete: bool


@dataclass(frozen=True)
class Filters:
    """Which terms and which period a search covers (empty: all)."""

    service_id: str = ""
    terms_type: str = ""
    since: datetime | None = None
    until: datetime | None = None


class SearchIndex:
    """The phrase index of a versions repository, kept beside its `VersionIndex`."""

    def __init__(self, index: VersionIndex, path: Path | None = None) -> None:
        self.index = index
        in_memory = str(index.path) == ":memory:"
        self.path = path or (Path(":memory:") if in_memory else index.path.with_name(SEARCH_FILE))
        self.git_dir = str(index.reader.git_dir)
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            if str(self.path) != ":memory:" and self.path.exists():
                self._remove_if_damaged()
            db = open_sqlite(str(self.path))
            if _meta(db, "schema") not in (None, SCHEMA):
                db.close()
                remove_sqlite(self.path)
                db = open_sqlite(str(self.path))
            db.executescript(_TABLES)
        except (sqlite3.Error, OSError):
            self.path = Path(":memory:")
            db = open_sqlite(":memory:")
            db.executescript(_TABLES)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA,))
        db.commit()
        return db

    def _remove_if_damaged(self) -> None:
        """The file removed, said in one log line, when `PRAGMA quick_check` finds it damaged or
        it is no database at all: derived data, built again."""
        try:
            db = open_sqlite(str(self.path))
        except sqlite3.OperationalError:
            raise  # cannot be opened here (a read-only folder): not damage
        except sqlite3.DatabaseError as error:
            damage: str | None = str(error)
        else:
            damage = sqlite_damage(db)
            db.close()
        if damage is not None:
            logger.warning("%s: damaged (%s): rebuilt from the repository", self.path, damage)
            remove_sqlite(self.path)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.db.close()

    def damage(self) -> str | None:
        """What `PRAGMA quick_check` finds wrong with the index file, None when it is sound."""
        if str(self.path) == ":memory:":
            return None
        return sqlite_damage(self.db)

    def rebuild(self) -> None:
        """Start the file again (it is damaged: `damage()` said how), then index everything anew."""
        self.close()
        self._stop = threading.Event()
        self._thread = None
        self.db = self._connect()
        self.start()

    # -- keeping up ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Index what the version index has and this one not yet, in a background thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._sync_logged, name="ota-search", daemon=True)
        self._thread.start()

    def _sync_logged(self) -> None:
        try:
            self.sync()
        except (sqlite3.Error, pygit2.GitError, OSError, ValueError) as error:
            logger.warning("search index not brought up to date: %s", error)

    def sync(self) -> int:
        """Index the versions added to the version index since the last sync; how many."""
        with self._write_lock:
            source = self.index.connect()
            db = self.db if str(self.path) == ":memory:" else open_sqlite(str(self.path))
            try:
                return self._sync(source, db)
            finally:
                if db is not self.db:
                    db.close()
                if source is not self.index.db:
                    source.close()

    def _sync(self, source: sqlite3.Connection, db: sqlite3.Connection) -> int:
        last_seq = int(_meta(db, "seq") or -1)
        if last_seq >= 0:
            row = source.execute("SELECT id FROM versions WHERE seq = ?", (last_seq,)).fetchone()
            if row is None or row[0] != _meta(db, "id"):  # the index was rebuilt: start again
                for table in ("blocks", "block_text", "spans", "latest"):
                    db.execute(f"DELETE FROM {table}")
                last_seq = -1
        repository = pygit2.Repository(self.git_dir)
        current: dict[str, dict[int, int]] = {}  # path → {block id: open span's rowid}
        done = 0
        while True:
            rows = source.execute(
                "SELECT seq, id, path, blob, date FROM versions WHERE seq > ? ORDER BY seq LIMIT ?",
                (last_seq, BATCH),
            ).fetchall()
            if not rows or self._stop.is_set():
                return done
            for seq, version_id, path, blob_id, date in rows:
                if path not in current:
                    current[path] = dict(
                        db.execute(
                            "SELECT block, rowid FROM spans WHERE path = ? AND end_id IS NULL", (path,)
                        )
                    )
                blocks = set() if blob_id is None else set(self._block_ids(db, _text(repository, blob_id)))
                opened = current[path]
                gone = [opened.pop(block) for block in list(opened) if block not in blocks]
                if gone:
                    previous = db.execute("SELECT id, date FROM latest WHERE path = ?", (path,)).fetchone()
                    last_id, last_date = previous if previous else (None, None)
                    db.executemany(
                        "UPDATE spans SET end_id = ?, end_date = ?, last_id = ?, last_date = ? "
                        "WHERE rowid = ?",
                        [(version_id, date, last_id, last_date, rowid) for rowid in gone],
                    )
                db.execute("INSERT OR REPLACE INTO latest VALUES (?, ?, ?)", (path, version_id, date))
                for block in blocks - opened.keys():
                    cursor = db.execute(
                        "INSERT INTO spans (block, path, start_id, start_date) VALUES (?, ?, ?, ?)",
                        (block, path, version_id, date),
                    )
                    opened[block] = int(cursor.lastrowid or 0)
                last_seq = seq
                db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?), ('id', ?)", (str(seq), version_id))
            db.commit()
            done += len(rows)

    @staticmethod
    def _block_ids(db: sqlite3.Connection, text: str) -> Iterable[int]:
        for content, _ in split_blocks(text):
            content = content.strip()
            if not content:
                continue
            digest = hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            row = db.execute("SELECT id FROM blocks WHERE hash = ?", (digest,)).fetchone()
            if row is not None:
                yield int(row[0])
                continue
            block = int(db.execute("INSERT INTO blocks (hash) VALUES (?)", (digest,)).lastrowid or 0)
            db.execute("INSERT INTO block_text (rowid, text) VALUES (?, ?)", (block, plain_text(content)))
            yield block

    def complete(self) -> bool:
        """Whether every version of the index is searchable."""
        row = self.index.db.execute("SELECT MAX(seq) FROM versions").fetchone()
        return row[0] is None or int(_meta(self.db, "seq") or -1) >= int(row[0])

    # -- searching -------------------------------------------------------------------------------------

    def search(self, query: str, filters: Filters = Filters()) -> Results:
        """The terms whose versions contained `query` as a phrase, by service and terms type."""
        match = fts_phrase(query)
        if not match:
            return Results(query, [], self.complete())
        # The paragraphs found, once, for the two aggregates below (a temporary table of this
        # connection, used from one thread: the server's event loop).
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS hits (block INTEGER PRIMARY KEY)")
        self.db.execute("DELETE FROM hits")
        self.db.execute("INSERT INTO hits SELECT rowid FROM block_text WHERE block_text MATCH ?", (match,))
        where = ["block IN (SELECT block FROM hits)"]
        params: list[str | int] = []
        if filters.service_id:
            where.append("path >= ? AND path < ?")
            params += [filters.service_id + "/", filters.service_id + "0"]  # '0' follows '/'
        if filters.terms_type:
            where.append("substr(path, length(path) - ?) = ?")
            suffix = f"/{filters.terms_type}.md"
            params += [len(suffix) - 1, suffix]
        if filters.until is not None:
            where.append("start_date <= ?")
            params.append(int(filters.until.timestamp()))
        if filters.since is not None:
            where.append("(end_date IS NULL OR end_date > ?)")
            params.append(int(filters.since.timestamp()))
        spans = f"SELECT * FROM spans WHERE {' AND '.join(where)}"
        # SQLite gives a bare column the value of the row MIN() or MAX() chose.
        firsts = self.db.execute(
            f"SELECT path, MIN(start_date), start_id FROM ({spans}) GROUP BY path LIMIT ?",
            (*params, MAX_RESULTS),
        ).fetchall()
        lasts = {
            row[0]: row[2:]
            for row in self.db.execute(
                f"SELECT s.path, MAX(COALESCE(s.end_date, 1 << 62)), s.end_id, s.end_date, "
                f"COALESCE(s.last_id, latest.id), COALESCE(s.last_date, latest.date), s.block "
                f"FROM ({spans}) AS s LEFT JOIN latest ON latest.path = s.path GROUP BY s.path",
                params,
            )
        }
        self.db.commit()
        found = []
        for path, start_date, start_id in firsts:
            service_id, _, name = path.partition("/")
            end_id, end_date, last_id, last_date, block = lasts[path]
            first = Seen(start_id, _date(start_date))
            found.append(
                Found(
                    service_id,
                    name.removesuffix(".md"),
                    first,
                    Seen(last_id, _date(last_date)) if last_id is not None else first,
                    Seen(end_id, _date(end_date)) if end_id is not None else None,
                    self._excerpt(match, block),
                )
            )
        found.sort(key=lambda f: (f.service_id.casefold(), f.terms_type))
        return Results(query, found, self.complete())

    def _excerpt(self, match: str, block: int) -> str:
        row = self.db.execute(
            "SELECT snippet(block_text, 0, ?, ?, '…', 24) FROM block_text "
            "WHERE block_text MATCH ? AND rowid = ?",
            (_START, _END, match, block),
        ).fetchone()
        return str(row[0]) if row else ""


_MARKUP = (
    (re.compile(r"^[ \t]*(?:=+|-+)[ \t]*$", re.MULTILINE), ""),  # setext underlines
    (re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]*|(?:[*+-]|\d{1,9}[.)])[ \t]+)", re.MULTILINE), ""),
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: their text
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),
    (re.compile(r"\\([^\w\s])"), r"\1"),  # escapes
    (re.compile(r"\*\*|__|~~|`+|(?<!\w)[*_]|[*_](?!\w)"), ""),  # emphasis, code
    (re.compile(r"[ \t]*\|[ \t]*"), " "),  # table cells
    (re.compile(r"[ \t]*\n[ \t]*"), " "),
)


def plain_text(markdown: str) -> str:
    """A block's words without its Markdown markup (for excerpts a reader reads as the text)."""
    for pattern, replacement in _MARKUP:
        markdown = pattern.sub(replacement, markdown)
    return markdown.strip()


def fts_phrase(query: str) -> str:
    """`query` as one FTS5 phrase (its words in that order), or "" when it has no word."""
    words = re.findall(r"\w+", query)
    return '"' + " ".join(words) + '"' if words else ""


def highlight(html: Markup, phrase: str) -> Markup:
    """`html` with each occurrence of the phrase's words, in order, inside one text run, marked."""
    words = re.findall(r"\w+", phrase)
    if not words:
        return html
    # Not inside a character reference (`&amp;`, `&#39;`): the text between tags is escaped HTML.
    pattern = re.compile(r"(?<!&)(?<!&#)\b" + r"\W+".join(map(re.escape, words)) + r"\b(?!;)", re.IGNORECASE)
    parts = re.split(r"(<[^>]*>)", str(html))
    for index in range(0, len(parts), 2):  # text between tags (already escaped)
        parts[index] = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", parts[index])
    return Markup("".join(parts))  # only <mark> added around escaped text


def _text(repository: pygit2.Repository, blob_id: str) -> str:
    blob = repository.get(blob_id)
    return blob.data.decode("utf-8", errors="replace") if isinstance(blob, pygit2.Blob) else ""


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None


def _date(timestamp: object) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)  # type: ignore[call-overload]
