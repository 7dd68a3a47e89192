"""`ota lint`: declaration files in Open Terms Archive's formatting, so diffs show only real changes.

OTA's `lint` runs ESLint with `eslint-plugin-json-format` on `declarations/SERVICE_ID.*`: a JSON
file is rewritten as `JSON.stringify(value, null, 2)` followed by a newline. That is: two-space
indentation, one key or item per line, `"key": value` with one space, empty objects and lists as
`{}` and `[]`, characters kept as they are (not `\\u` escapes) except the control characters and
lone surrogates JavaScript escapes, numbers as JavaScript writes them (`1`, not `1.0`), and a
final newline. Keys keep their order: the plugin sorts only `package.json` files, and reordering
the keys of a collection's declarations would rewrite most of its files for nothing.

ota lints what it reads as JSON: `SERVICE_ID.json` and `SERVICE_ID.history.json`. Filters files
are code, left to the collection's own linters. A file that is not valid JSON, or that writes a
key twice in one object, is reported and left as it is: fixing it changes what it says, which is
the author's decision.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ota.declarations.collection import HISTORY_SUFFIX

Status = Literal["formatted", "differs", "fixed", "invalid"]
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: Beyond this, JavaScript writes integers in exponent notation (1e+21).
_JS_INTEGER_LIMIT = 1e21


@dataclass(frozen=True)
class Linted:
    """What linting one file found (and did)."""

    path: Path
    status: Status
    #: Why the file cannot be formatted, for an invalid one.
    reason: str = ""


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"writes the key '{key}' twice in one object: keep one, then lint again")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen.add(key)
    return dict(pairs)


def _javascript_numbers(value: Any) -> Any:
    """Floats that JavaScript writes as integers (1.0 → 1), so that they are written the same."""
    if isinstance(value, float) and value.is_integer() and abs(value) < _JS_INTEGER_LIMIT:
        return int(value)
    if isinstance(value, dict):
        return {key: _javascript_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_javascript_numbers(item) for item in value]
    return value


def format_json(value: Any) -> str:
    """`value` as OTA's lint writes it: `JSON.stringify(value, null, 2)` and a newline."""
    text = json.dumps(_javascript_numbers(value), indent=2, ensure_ascii=False, allow_nan=False)
    # JavaScript escapes a lone surrogate (well-formed JSON.stringify); Python would write it raw.
    text = _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text + "\n"


def formatted(text: str) -> str:
    """The content of a declaration file as OTA's lint writes it.

    Raises ValueError when `text` is not JSON, or writes a key twice in one object.
    """
    try:
        value = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_object)
    except _Duplicate:
        raise
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise ValueError(f"is not valid JSON: {error.msg} at {where}") from error
    except RecursionError as error:
        raise ValueError("is not valid JSON: nested too deeply") from error
    result = format_json(value)
    # Formatting never changes what a file says; a difference here would be a bug of this module.
    if json.loads(result) != value:
        raise AssertionError("formatting changed the content")
    return result


def lint_file(path: Path, *, fix: bool) -> Linted:
    """Check one file's formatting; with `fix`, rewrite it when it differs."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as error:
        return Linted(path, "invalid", f"cannot be read: {error.strerror}")
    except UnicodeDecodeError:
        return Linted(path, "invalid", "is not UTF-8 text")
    try:
        expected = formatted(text)
    except ValueError as error:
        return Linted(path, "invalid", str(error))
    if expected == text:
        return Linted(path, "formatted")
    if not fix:
        return Linted(path, "differs")
    temporary = path.with_name(f".{path.name}.ota-lint")
    try:
        temporary.write_text(expected, "utf-8")
        os.replace(temporary, path)  # whole or not at all: a declaration is never half-written
    except OSError as error:
        return Linted(path, "invalid", f"cannot be written: {error.strerror}")
    return Linted(path, "fixed")


def files_to_lint(folder: Path, services: Iterable[str] = ()) -> list[Path]:
    """The JSON files of the given services (all of them by default), in service order."""
    wanted = set(services)
    paths = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or not path.name.endswith(".json"):
            continue
        service_id = path.name.removesuffix(HISTORY_SUFFIX).removesuffix(".json")
        if not wanted or service_id in wanted:
            paths.append(path)
    return paths


def lint(folder: Path, services: Iterable[str] = (), *, fix: bool = False) -> list[Linted]:
    """Lint the declaration files of `folder` (those of `services` only, when given)."""
    return [lint_file(path, fix=fix) for path in files_to_lint(folder, services)]
