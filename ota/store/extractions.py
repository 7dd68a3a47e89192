"""What each version was last extracted from, so that tracking skips extractions that cannot
change it: the same snapshots, the same declaration, the same filters' code and the same ota
give the same Markdown.

The state is a JSON file in the versions repository's `.git` folder (never committed). It is
saved only once the versions repository has published its commits: a state ahead of the
repository would skip versions that were never recorded. Losing it only costs one extraction per
terms; a file that cannot be read is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from ota.declarations import Terms
from ota.errors import RecordError

#: Bump when a change to ota's extraction can change the Markdown of an unchanged snapshot.
EXTRACTION_REVISION = "2"  # 2: PDFs read by pdf.js, as the engine reads them
FILE_NAME = "ota-extractions.json"


class ExtractionState:
    """version path → fingerprint of what its latest version was extracted from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text("utf-8"))
            self._data: dict[str, str] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self._data = {}  # missing or unreadable: every terms is extracted once
        self._dirty = False

    @classmethod
    def of(cls, repository_folder: Path) -> ExtractionState:
        """The state kept in the versions repository at `repository_folder`."""
        return cls(repository_folder / ".git" / FILE_NAME)

    def get(self, key: str) -> str | None:
        return self._data.get(key)

    def set(self, key: str, value: str) -> None:
        if self._data.get(key) != value:
            self._data[key] = value
            self._dirty = True

    def save(self) -> list[str]:
        """Write the state atomically (temporary file, then rename); RecordError if it cannot be.

        Something else than a file where the state goes (a folder) is moved aside so that the
        state can be written; the returned warnings say so.
        """
        if not self._dirty:
            return []
        warnings = []
        for place in (self.path, self.path.with_name(self.path.name + ".tmp")):
            if place.exists() and not place.is_file():
                aside = place.with_name(f"{place.name}.unusable-{int(time.time())}")
                try:
                    place.rename(aside)
                except OSError as error:
                    raise RecordError(
                        self.path.parent.parent, f"could not save {self.path.name}: {error}"
                    ) from error
                warnings.append(
                    f"{place} was not a file: it was moved to {aside.name} and the state written anew"
                )
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(self._data, sort_keys=True), "utf-8")
            temporary.replace(self.path)
        except OSError as error:
            raise RecordError(self.path.parent.parent, f"could not save {self.path.name}: {error}") from error
        self._dirty = False
        return warnings


def fingerprint(
    terms: Terms, snapshot_ids: Sequence[str], filter_files: Iterable[Path], engine_version: str
) -> str:
    """Everything a version depends on: declaration, filters' code, snapshots, ota's extraction."""
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(d) for d in terms.documents], sort_keys=True, default=str).encode())
    for path in filter_files:
        digest.update(_file_digest(path))
    digest.update("\0".join(snapshot_ids).encode())
    digest.update(f"{engine_version}/{EXTRACTION_REVISION}".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    """The digest of a service's filters file, read once per version of the file, not per terms."""
    try:
        stat = path.stat()
    except OSError:
        return b""
    return _digest_of(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _digest_of(path: Path, mtime_ns: int, size: int) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()
