"""A collection's files, read with bounds: a declaration's JSON (at most `MAX_DECLARATION_SIZE`,
UTF-8, not nested past Python's recursion limit) and `metadata.yml` (a YAML mapping whose aliases
expand to at most `MAX_METADATA_VALUES` values). Each failure is a DeclarationError naming the
file. `ota.declarations.collection` reads the collection with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ota.errors import DeclarationError

#: Declaration files bigger than this are refused: a declaration is a few kilobytes.
MAX_DECLARATION_SIZE = 1024 * 1024


def read_json(path: Path) -> Any:
    """The parsed content of a declaration file, or a DeclarationError saying where it is broken."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DeclarationError(
            path, f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from error
    except RecursionError as error:  # a few kilobytes of [[[[…: nested deeper than any declaration
        raise DeclarationError(path, "is not a declaration: its JSON is nested too deeply") from error


def read_text(path: Path) -> str:
    """A declaration or filters file's text (UTF-8, a byte order mark allowed), or a
    DeclarationError saying why not: too large, not UTF-8, unreadable."""
    try:
        if path.stat().st_size > MAX_DECLARATION_SIZE:
            raise DeclarationError(
                path, f"is larger than {MAX_DECLARATION_SIZE // 1024} KiB: not a declaration"
            )
        # utf-8-sig: editors on Windows may add a byte order mark, which is no reason to fail.
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DeclarationError(path, "is not UTF-8 text") from error
    except OSError as error:
        raise DeclarationError(path, f"cannot be read: {error.strerror}") from error


#: Values `metadata.yml` may hold once its aliases are expanded: Open Terms Archive's have a few
#: hundred. Aliases are shared when loaded, but whoever walks the value (JSON for the API, the
#: dataset's README) expands them: ten levels of ten aliases are 10^10 values from 545 bytes.
MAX_METADATA_VALUES = 100_000


def read_metadata(declarations: Path) -> dict[str, Any] | None:
    """The `metadata.yml` of the collection whose declarations are in `declarations` (None when
    there is none). Raises DeclarationError naming the file when it cannot be read, is not YAML,
    is not a mapping, or is an alias bomb."""
    folder = Path(declarations)
    root = folder if (folder / "declarations").is_dir() else folder.parent
    return read_metadata_file(root / "metadata.yml")


def read_metadata_file(path: Path) -> dict[str, Any] | None:
    """The metadata at `path` (None when there is no such file); raises as `read_metadata`."""
    if not path.is_file():
        return None
    import yaml  # only collections with metadata need it, and tracking does not: 25 ms off start-up

    try:
        if path.stat().st_size > MAX_DECLARATION_SIZE:
            raise DeclarationError(path, f"is larger than {MAX_DECLARATION_SIZE // 1024} KiB: not metadata")
        metadata = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as error:
        raise DeclarationError(path, f"cannot be read: {error}") from error
    except RecursionError:
        raise DeclarationError(path, "is nested too deeply: not metadata") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DeclarationError(path, f"is not valid YAML: {problem}{where}") from error
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise DeclarationError(path, "must be a mapping of keys to values, such as `name: My collection`")
    _check_expansion(path, metadata)
    return metadata


def _check_expansion(path: Path, value: object) -> None:
    """Raise DeclarationError when `value`, its YAML aliases expanded, holds more than
    `MAX_METADATA_VALUES` values or holds itself; counted once per shared object, so in linear time."""
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()

    def size(item: object) -> int:
        if not isinstance(item, (dict, list)):
            return 1
        known = sizes.get(id(item))
        if known is not None:
            return known
        if id(item) in open_ids:
            raise DeclarationError(path, "holds itself (an alias inside its own anchor): not metadata")
        open_ids.add(id(item))
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_METADATA_VALUES:
                break
        open_ids.discard(id(item))
        sizes[id(item)] = total
        return total

    try:
        total = size(value)
    except RecursionError:
        raise DeclarationError(path, "is nested too deeply: not metadata") from None
    if total > MAX_METADATA_VALUES:
        raise DeclarationError(
            path,
            f"holds more than {MAX_METADATA_VALUES:,} values once its aliases are expanded (an alias bomb?): "
            "not metadata",
        )
