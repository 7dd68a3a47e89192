"""Keys: each setting is declared once, as a dataclass field whose metadata says how it is set.

`setting(default, convert, doc, …)` is a dataclass field carrying a `Key`: the converter of its
values, its documentation, and the other ways to set it (environment variables, a command-line
option, a path relative to the ota.toml file). The loader, the variables, the options and the
documentation are all derived from these fields (`sections`, `keys_of`), so a new key is one line
in `ota.settings.sections`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import Field, dataclass, field, fields
from typing import Any, TypeVar

from ota.settings.convert import Converter

T = TypeVar("T")


@dataclass(frozen=True)
class Key:
    """How one setting is given, besides its field's name (its key in its section) and default."""

    convert: Converter
    #: One line for people: what the setting does (shown by the documentation).
    doc: str
    #: False: not a key of ota.toml, only set by the environment (tokens, proxies) or the code.
    toml: bool = True
    #: Environment variables that set it, the first one set winning.
    env: tuple[str, ...] = ()
    #: Reads a variable's text (the converters take TOML values); None: the text as it is.
    env_convert: Callable[[str], Any] | None = None
    #: The variable's items come on top of the file's instead of replacing them.
    env_adds: bool = False
    #: The command-line option that overrides it, for messages; None: `--KEY-NAME`.
    option: str | None = None
    #: A path relative to the ota.toml file (and its default too, when there is a file).
    relative: bool = False
    #: A file that must be readable when it is set.
    readable: bool = False


def setting(
    default: T,
    convert: Converter,
    doc: str,
    *,
    secret: bool = False,
    toml: bool = True,
    env: tuple[str, ...] = (),
    env_convert: Callable[[str], Any] | None = None,
    env_adds: bool = False,
    option: str | None = None,
    relative: bool = False,
    readable: bool = False,
) -> T:
    """A settings field with its `Key`; `secret` keeps its value out of the `repr`."""
    key = Key(convert, doc, toml, env, env_convert, env_adds, option, relative, readable)
    return field(default=default, repr=not secret, metadata={"key": key})


def key_of(item: Field[Any]) -> Key | None:
    """The `Key` of a settings field, or None for a field that is set otherwise."""
    key = item.metadata.get("key")
    return key if isinstance(key, Key) else None


def keys_of(section: type) -> Iterator[tuple[str, Key]]:
    """The keyed fields of a section's dataclass, in their order: (name, key)."""
    for item in fields(section):
        key = key_of(item)
        if key is not None:
            yield item.name, key


def option_name(name: str, key: Key) -> str:
    """The command-line option of a key (ota's options are named after their key)."""
    return key.option or "--" + name.replace("_", "-")
