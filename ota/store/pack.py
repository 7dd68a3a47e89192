"""Git objects built in memory during a session, then written to disk as one packfile per flush.

libgit2 writes each new object as a loose file (temporary file, directory, rename); on a busy disk
that is ~0.3 ms per file and 4 files per commit. Instead:

- `PendingObjects` is an object database backend that libgit2 reads from like any other, so that
  pygit2 sees the new commits before they reach the disk;
- `TreeCache` keeps the trees ota writes to parsed in memory and serialises the new ones itself
  (with `commit_object()` for commits): a commit costs a few dictionary updates and two hashes,
  where libgit2 would parse trees again and probe every pack for each object it writes;
- `write_pack()` turns the batch into a packfile and its index (pack version 2, index version 2,
  as `git index-pack` writes them). Git never sees the pack until both files are complete: each
  is written under a temporary name and renamed, pack first. A tree is stored as a delta against
  the tree it replaces when that one is in the same pack: a commit changes one entry of the root
  tree, which has one entry per service, so storing each root tree whole made a run's cost grow
  with the square of the collection's size (5,000 services: 200 KB compressed per commit).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

#: zlib level of pack entries: on HTML, level 1 is ~3× faster than git's default (6) and its output
#: ~25% larger; `git repack -F` recompresses at git's level when disk space matters more.
PACK_COMPRESSION = 1
#: Longest chain of deltas in a pack (git's `pack.depth` default): reading a tree applies its chain.
MAX_DELTA_DEPTH = 50
TMP_PREFIX = "tmp_ota_"
_GIT_TMP_PREFIXES = ("tmp_", ".tmp-")  # git's temporary files in objects/pack; no pack is named so
_LARGE_OFFSET = 0x80000000

Object = tuple[int, bytes]  # (object type as in packs and libgit2: 1 commit, 2 tree, 3 blob, 4 tag; data)
COMMIT, TREE, BLOB = 1, 2, 3
_OFS_DELTA = 6
_COPY_MAX = 0x10000  # bytes per copy instruction, as git's encoder writes them
_BLOCK = 4096  # bytes compared at a time when looking for the common start and end of two objects
_TREE_MODE = b"40000"
_BLOB_MODE = b"100644"


class PendingObjects(pygit2.OdbBackend):
    """An in-memory object database backend: new objects wait here until `write_pack()`.

    ota adds them directly (`add`, `put`); libgit2 reads them, and would write here too, through
    the `*_cb` methods pygit2 calls (KeyError means "not here").
    """

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[pygit2.Oid, Object] = {}
        self.bases: dict[pygit2.Oid, pygit2.Oid] = {}  # object → the older one to store it as a delta of
        self.size = 0

    def add(self, oid: pygit2.Oid, kind: int, data: bytes) -> None:
        """Store an object whose id the caller computed (saves libgit2 hashing it again)."""
        if oid not in self.objects:
            self.objects[oid] = (kind, data)
            self.size += len(data)

    def put(self, kind: int, data: bytes, base: pygit2.Oid | None = None) -> pygit2.Oid:
        """Store an object ota built (a tree, a commit) and return its id.

        `base` is the object this one replaces (the same tree before the change): if it is here
        too, the pack will hold this object as a delta of it.
        """
        header = f"{('', 'commit', 'tree', 'blob')[kind]} {len(data)}\0".encode()
        digest = hashlib.sha1(header, usedforsecurity=False)
        digest.update(data)  # not `header + data`: a root tree can be hundreds of KB
        oid = pygit2.Oid(raw=digest.digest())
        if oid not in self.objects and base is not None and base in self.objects:
            self.bases[oid] = base
        self.add(oid, kind, data)
        return oid

    def clear(self) -> None:
        """Forget the objects, once a pack holds them."""
        self.objects = {}
        self.bases = {}
        self.size = 0

    def write_cb(self, oid: pygit2.Oid, data: bytes, kind: int) -> None:
        self.add(oid, int(kind), bytes(data))

    def read_cb(self, oid: pygit2.Oid) -> Object:
        return self.objects[oid]

    def read_header_cb(self, oid: pygit2.Oid) -> tuple[int, int]:
        kind, data = self.objects[oid]
        return kind, len(data)

    def read_prefix_cb(self, hex_prefix: str) -> tuple[int, bytes, pygit2.Oid]:
        oid = self._expand(hex_prefix)
        kind, data = self.objects[oid]
        return kind, data, oid

    def exists_cb(self, oid: pygit2.Oid) -> bool:
        return oid in self.objects

    def exists_prefix_cb(self, hex_prefix: str) -> pygit2.Oid:
        return self._expand(hex_prefix)

    def refresh_cb(self) -> None:
        pass

    def _expand(self, hex_prefix: str) -> pygit2.Oid:
        if len(hex_prefix) == 40:
            oid = pygit2.Oid(hex=hex_prefix)
            if oid in self.objects:
                return oid
            raise KeyError(hex_prefix)
        matches = [oid for oid in self.objects if str(oid).startswith(hex_prefix)]
        if len(matches) != 1:
            raise KeyError(hex_prefix)  # none here (an ambiguous prefix is rare enough to treat alike)
        return matches[0]


@dataclass
class _Folder:
    """One tree, parsed: entries sorted as git sorts them (a folder's name compares with a `/`)."""

    keys: list[bytes] = field(default_factory=list)  # name, or name + b"/" for a folder
    lines: list[bytes] = field(default_factory=list)  # the serialised entries, in the same order
    entries: dict[str, tuple[bool, pygit2.Oid]] = field(default_factory=dict)  # name → (is folder, id)

    @classmethod
    def parse(cls, data: bytes) -> _Folder:
        folder = cls()
        position = 0
        while position < len(data):
            space = data.index(b" ", position)
            nul = data.index(b"\0", space)
            mode, name = data[position:space], data[space + 1 : nul]
            is_folder = mode == _TREE_MODE
            folder.keys.append(name + b"/" if is_folder else name)
            folder.lines.append(data[position : nul + 21])
            oid = pygit2.Oid(raw=data[nul + 1 : nul + 21])
            folder.entries[name.decode("utf-8", "surrogateescape")] = (is_folder, oid)
            position = nul + 21
        return folder

    def set(self, name: str, is_folder: bool, oid: pygit2.Oid) -> None:
        raw = name.encode("utf-8", "surrogateescape")
        if name in self.entries:  # remove the old entry (it may be a file becoming a folder)
            old = raw + b"/" if self.entries[name][0] else raw
            at = bisect.bisect_left(self.keys, old)
            del self.keys[at], self.lines[at]
        key = raw + b"/" if is_folder else raw
        at = bisect.bisect_left(self.keys, key)
        self.keys.insert(at, key)
        self.lines.insert(at, (_TREE_MODE if is_folder else _BLOB_MODE) + b" " + raw + b"\0" + oid.raw)
        self.entries[name] = (is_folder, oid)


class TreeCache:
    """The trees of HEAD that ota reads or writes, parsed once per session and updated in place."""

    def __init__(self, git: pygit2.Repository, pending: PendingObjects, root: pygit2.Oid | None) -> None:
        self._git = git
        self._pending = pending
        self._folders: dict[tuple[str, ...], _Folder] = {}
        self._root = root

    @property
    def root(self) -> pygit2.Oid | None:
        """The id of the root tree of HEAD (None for an empty history)."""
        return self._root

    def blob_id(self, parts: list[str]) -> pygit2.Oid | None:
        """The id of the file at `parts`, or None if there is no file there."""
        folder = self._folder(tuple(parts[:-1]))
        entry = folder.entries.get(parts[-1]) if folder is not None else None
        return entry[1] if entry is not None and not entry[0] else None

    def set_blob(self, parts: list[str], blob_id: pygit2.Oid) -> pygit2.Oid:
        """Put `blob_id` at `parts`, write the trees above it; return the new root tree id.

        Raises ValueError rather than turn a file into a folder or a folder into a file: the working
        tree could not follow without deleting files.
        """
        for depth, name in enumerate(parts):
            folder = self._folder(tuple(parts[:depth]))
            entry = folder.entries.get(name) if folder is not None else None
            if entry is not None and entry[0] != (depth < len(parts) - 1):
                kind = "folder" if entry[0] else "file"
                raise ValueError(f"{'/'.join(parts[: depth + 1])!r} is a {kind}")
        old_ids = [self._root]  # the trees being replaced, root first (None: no folder there yet)
        for depth, name in enumerate(parts[:-1]):
            folder = self._folder(tuple(parts[:depth]))
            entry = folder.entries.get(name) if folder is not None and old_ids[-1] is not None else None
            old_ids.append(entry[1] if entry is not None else None)
        oid, is_folder = blob_id, False
        for depth in range(len(parts) - 1, -1, -1):
            key = tuple(parts[:depth])
            folder = self._folder(key) or self._folders.setdefault(key, _Folder())
            folder.set(parts[depth], is_folder, oid)
            oid, is_folder = self._pending.put(TREE, b"".join(folder.lines), old_ids[depth]), True
        self._root = oid
        return oid

    def _folder(self, key: tuple[str, ...]) -> _Folder | None:
        """The parsed tree at `key` (a folder path), or None if HEAD has no folder there."""
        if key in self._folders:
            return self._folders[key]
        if key:
            parent = self._folder(key[:-1])
            entry = parent.entries.get(key[-1]) if parent is not None else None
            oid = entry[1] if entry is not None and entry[0] else None
        else:
            oid = self._root
        if oid is None:
            return None
        self._folders[key] = folder = _Folder.parse(self._git.odb.read(oid)[1])
        return folder


def commit_object(
    tree: pygit2.Oid,
    parents: list[pygit2.Oid],
    signature: str,
    message: str,
    sign: Callable[[bytes], str] | None = None,
) -> bytes:
    """A commit's raw bytes; `signature` is `Name <email> SECONDS +0000` (author and committer).

    `sign`, when given, returns the armored signature of the commit as written without it; it is
    stored as the `gpgsig` header (continuation lines indented by a space), as `git commit -S` does.
    """
    lines = [f"tree {tree}", *(f"parent {parent}" for parent in parents)]
    lines += [f"author {signature}", f"committer {signature}"]
    unsigned = ("\n".join(lines) + "\n\n" + message).encode("utf-8")
    if sign is None:
        return unsigned
    lines.append("gpgsig " + sign(unsigned).rstrip("\n").replace("\n", "\n "))
    return ("\n".join(lines) + "\n\n" + message).encode("utf-8")


def write_pack(pack_dir: Path, objects: PendingObjects) -> Path:
    """Write `objects` as `pack-<checksum>.pack` and `.idx` in `pack_dir`; return the `.pack` path."""
    pack_dir.mkdir(parents=True, exist_ok=True)
    tmp = pack_dir / f"{TMP_PREFIX}{os.getpid()}"
    tmp_pack, tmp_idx = tmp.with_suffix(".pack"), tmp.with_suffix(".idx")
    entries: list[tuple[bytes, int, int]] = []  # (raw id, crc32 of the packed entry, offset)
    checksum = hashlib.sha1(usedforsecurity=False)
    try:
        with open(tmp_pack, "wb") as file:
            header = b"PACK" + struct.pack(">II", 2, len(objects.objects))
            file.write(header)
            checksum.update(header)
            offset = len(header)
            written: dict[pygit2.Oid, tuple[int, int]] = {}  # id → (offset, length of its delta chain)
            for oid, (kind, data) in objects.objects.items():
                packed, depth = None, 0
                base = objects.bases.get(oid)
                if base is not None and base in written and written[base][1] < MAX_DELTA_DEPTH:
                    base_offset, base_depth = written[base]
                    delta = make_delta(objects.objects[base][1], data)
                    if len(delta) < len(data) // 2:
                        packed = (
                            _entry_header(_OFS_DELTA, len(delta))
                            + _negative_offset(offset - base_offset)
                            + zlib.compress(delta, PACK_COMPRESSION)
                        )
                        depth = base_depth + 1
                if packed is None:
                    packed = _entry_header(kind, len(data)) + zlib.compress(data, PACK_COMPRESSION)
                written[oid] = (offset, depth)
                entries.append((oid.raw, zlib.crc32(packed), offset))
                file.write(packed)
                checksum.update(packed)
                offset += len(packed)
            pack_sum = checksum.digest()
            file.write(pack_sum)
        tmp_idx.write_bytes(_index(entries, pack_sum))
        final = pack_dir / f"pack-{pack_sum.hex()}"
        for path in (tmp_pack, tmp_idx):
            os.chmod(path, 0o444)  # git's packs are read-only
        # Pack first: a pack without its index is ignored by git, an index without its pack is not.
        os.replace(tmp_pack, final.with_suffix(".pack"))
        os.replace(tmp_idx, final.with_suffix(".idx"))
    finally:
        for path in (tmp_pack, tmp_idx):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return final.with_suffix(".pack")


def remove_partial_packs(pack_dir: Path) -> None:
    """Remove what a killed `write_pack()` can leave (temporary files, a pack without its index),
    and what a `git repack` killed with ota can: git's temporary packs, as large as what it merged
    (`tmp_pack_*`, `tmp_idx_*` from pack-objects, `.tmp-PID-pack-*` from repack)."""
    if not pack_dir.is_dir():
        return
    for path in pack_dir.iterdir():
        orphan = path.suffix == ".pack" and not path.with_suffix(".idx").exists()
        if path.name.startswith((TMP_PREFIX, *_GIT_TMP_PREFIXES)) or orphan:
            path.unlink(missing_ok=True)


try:  # pygit2's cffi layer: the only way to give an index entry its stat data (see below)
    from pygit2._libgit2 import lib as _lib  # type: ignore[import-not-found]
    from pygit2.errors import check_error as _check_error

    #: Whether index entries get the stat data of their files (a test checks it stays so).
    INDEX_STAT_DATA = hasattr(pygit2.IndexEntry, "_to_c")
except ImportError:  # pragma: no cover - another pygit2 layout: entries without stat data
    INDEX_STAT_DATA = False


def add_index_entry(index: pygit2.Index, path: str, blob_id: pygit2.Oid, stat: os.stat_result) -> None:
    """Add `path` to `index` with the stat data of the file just written, as `git add` would.

    pygit2's public `IndexEntry` carries no stat data, and `Index.add(path)` hashes, compresses and
    writes the file again as a loose object; so the entry is filled through pygit2's cffi layer.
    Without that layer (`INDEX_STAT_DATA` false: a pygit2 that changed it), entries go without
    stat data, which costs git one re-hash of those files; the tests fail then, so that an upgrade
    of pygit2 that breaks it is noticed.
    """
    entry = pygit2.IndexEntry(path, blob_id, FileMode.BLOB)
    if not INDEX_STAT_DATA:
        index.add(entry)
        return
    centry, _keep = entry._to_c()
    centry.ctime.seconds, centry.ctime.nanoseconds = _split_ns(stat.st_ctime_ns)
    centry.mtime.seconds, centry.mtime.nanoseconds = _split_ns(stat.st_mtime_ns)
    for name in ("dev", "ino", "uid", "gid"):
        setattr(centry, name, getattr(stat, f"st_{name}") & 0xFFFFFFFF)
    centry.file_size = stat.st_size & 0xFFFFFFFF
    _check_error(_lib.git_index_add(index._index, centry), io=True)


def _split_ns(ns: int) -> tuple[int, int]:
    return (ns // 1_000_000_000) & 0x7FFFFFFF, ns % 1_000_000_000


def _entry_header(kind: int, size: int) -> bytes:
    """Type and size of a pack entry: 3 bits of type, then the size 4 + 7×n bits, little-endian."""
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte, size = size & 0x7F, size >> 7
    out.append(byte)
    return bytes(out)


def make_delta(base: bytes, target: bytes) -> bytes:
    """A git delta that rebuilds `target` from `base`: copy their common start and end, insert the rest.

    That is the whole difference between two versions of a tree that differ by one entry.
    """
    prefix = _common_prefix(base, target, min(len(base), len(target)))
    suffix = _common_suffix(base, target, min(len(base), len(target)) - prefix)
    out = bytearray(_varint(len(base)) + _varint(len(target)))
    _copy(out, 0, prefix)
    middle = target[prefix : len(target) - suffix]
    for start in range(0, len(middle), 127):
        chunk = middle[start : start + 127]
        out.append(len(chunk))
        out += chunk
    _copy(out, len(base) - suffix, suffix)
    return bytes(out)


def _common_prefix(a: bytes, b: bytes, limit: int) -> int:
    """How many first bytes `a` and `b` share, up to `limit`: blocks compared in C, then halving."""
    start = 0
    while start < limit:
        step = min(_BLOCK, limit - start)
        if a[start : start + step] != b[start : start + step]:
            break
        start += step
    else:
        return limit
    low, high = start, start + step - 1  # the block differs: the answer is in there
    while low < high:
        middle = (low + high + 1) // 2
        if a[start:middle] == b[start:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """How many last bytes `a` and `b` share, up to `limit`."""
    end_a, end_b, start = len(a), len(b), 0
    while start < limit:
        step = min(_BLOCK, limit - start)
        if a[end_a - start - step : end_a - start] != b[end_b - start - step : end_b - start]:
            break
        start += step
    else:
        return limit
    low, high = start, start + step - 1
    while low < high:
        middle = (low + high + 1) // 2
        if a[end_a - middle : end_a - start] == b[end_b - middle : end_b - start]:
            low = middle
        else:
            high = middle - 1
    return low


def _copy(out: bytearray, offset: int, size: int) -> None:
    """Append copy instructions for `size` bytes of the base from `offset`."""
    while size > 0:
        step = min(size, _COPY_MAX)
        command, arguments = 0x80, bytearray()
        for bit, value, count in ((0, offset, 4), (4, step if step != _COPY_MAX else 0, 3)):
            for i in range(count):
                byte = (value >> (8 * i)) & 0xFF
                if byte:
                    command |= 1 << (bit + i)
                    arguments.append(byte)
        out.append(command)
        out += arguments
        offset += step
        size -= step


def _varint(value: int) -> bytes:
    """A size in a delta header: 7 bits a byte, least significant first."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _negative_offset(distance: int) -> bytes:
    """How far back the base of an OFS_DELTA entry is, in git's encoding (big-endian, offset by one)."""
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


def _index(entries: list[tuple[bytes, int, int]], pack_sum: bytes) -> bytes:
    """A version 2 pack index: fan-out table, sorted ids, CRCs, offsets, checksums."""
    entries = sorted(entries)
    counts = [0] * 256
    for raw, _, _ in entries:
        counts[raw[0]] += 1
    fanout, total = [], 0
    for count in counts:
        total += count
        fanout.append(total)
    offsets: list[int] = []
    large: list[int] = []
    for _, _, offset in entries:
        if offset < _LARGE_OFFSET:
            offsets.append(offset)
        else:
            offsets.append(_LARGE_OFFSET | len(large))
            large.append(offset)
    parts = [
        b"\377tOc" + struct.pack(">I", 2),
        struct.pack(">256I", *fanout),
        b"".join(raw for raw, _, _ in entries),
        struct.pack(f">{len(entries)}I", *(crc for _, crc, _ in entries)),
        struct.pack(f">{len(offsets)}I", *offsets),
        struct.pack(f">{len(large)}Q", *large),
        pack_sum,
    ]
    body = b"".join(parts)
    return body + hashlib.sha1(body, usedforsecurity=False).digest()
