"""The SQLite files of the viewer (its index, its search index): opened, checked, removed."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sqlite_damage(db: sqlite3.Connection) -> str | None:
    """What `PRAGMA quick_check` finds wrong with the file (in a few words), None when it is sound."""
    try:
        found = [str(row[0]) for row in db.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as error:
        return str(error)
    if found == ["ok"]:
        return None
    lines = [line for row in found for line in row.splitlines() if not line.startswith("***")]
    return "; ".join(lines[:2]) + ("; …" if len(lines) > 2 else "")


def remove_sqlite(path: Path) -> None:
    """Remove the index file and the journal files beside it."""
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        path.with_name(name).unlink(missing_ok=True)


def open_sqlite(path: str) -> sqlite3.Connection:
    """A connection to an index file of the viewer (WAL, so readers never wait for the writer)."""
    db = sqlite3.connect(path, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # a cache: losing the last transaction costs a re-sync
    return db
