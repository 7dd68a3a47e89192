"""The loader: ota.toml, the environment and the command-line options → one `Settings` value.

Everything is derived from the keys declared in `ota.settings.sections`: a section of ota.toml is
a field of `Settings`, a key a keyed field of that section, and its converter, variables, option
and paths come with it. Precedence: options, then the environment, then the file, then defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ota.errors import SettingsError
from ota.settings.convert import Invalid, shown
from ota.settings.keys import Key, keys_of, option_name
from ota.settings.sections import Settings

CONFIG_FILE = "ota.toml"

#: Section name → its dataclass, in the order of `Settings` (the order errors list them in).
SECTIONS: dict[str, Any] = {item.name: item.default_factory for item in fields(Settings)}
#: (section, key name) → key, for every field declared with a `Key` (ota.toml's and others).
_ALL: dict[tuple[str, str], Key] = {
    (section, name): key for section, kind in SECTIONS.items() for name, key in keys_of(kind)
}


def settings_keys() -> dict[str, list[str]]:
    """The keys `ota.toml` accepts, by section (for documentation and its tests)."""
    return {section: list(_toml_keys(section)) for section in SECTIONS}


def settings_variables() -> dict[str, str]:
    """The environment variables ota reads for its settings → the `[section] key` each sets."""
    return {variable: f"[{section}] {name}" for (section, name), key in _ALL.items() for variable in key.env}


def settings_reference() -> str:
    """Every key of ota.toml with its default and what it does, as an ota.toml; a key whose
    default cannot be written (None: unset, or derived) is commented out."""
    lines: list[str] = []
    for section, kind in SECTIONS.items():
        lines.append(f"[{section}]")
        defaults = kind()
        for name, key in _toml_keys(section).items():
            default = getattr(defaults, name)
            line = f"{name} = {_toml(default)}" if _writable(key, default) else f"# {name} ="
            lines.append(f"{line}  # {key.doc}")
        lines.append("")
    return "\n".join(lines)


def _writable(key: Key, default: Any) -> bool:
    if default is None:
        return False
    try:
        key.convert(str(default) if isinstance(default, Path) else _as_toml(default))
    except Invalid:
        return False  # e.g. [report] forge: empty by default, meaning "the forge whose token is set"
    return True


def _as_toml(value: Any) -> Any:
    """A default as TOML would give it (a list for a tuple)."""
    return list(value) if isinstance(value, tuple) else value


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    import json  # only for the documentation

    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def _toml_keys(section: str) -> dict[str, Key]:
    return {name: key for name, key in keys_of(SECTIONS[section]) if key.toml}


def load_settings(
    config: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """The settings for this run; raises `SettingsError` naming what is wrong.

    `config` is an `ota.toml` to read (default: `OTA_CONFIG`, else `./ota.toml` when present);
    `environ` the environment (default: `os.environ`); `overrides` the command-line values, by
    `"section.key"` (`collection.declarations`, `fetch.concurrency`…), None values being ignored.
    Relative paths in a config file are relative to it.
    """
    environ = os.environ if environ is None else environ
    if config is None and environ.get("OTA_CONFIG"):
        config = Path(environ["OTA_CONFIG"])
    if config is None and Path(CONFIG_FILE).is_file():
        config = Path(CONFIG_FILE)
    values: dict[tuple[str, str], Any] = {}
    if config is not None:
        values.update(_file_values(config))
    values.update(_environment_values(environ, values))
    for target, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, name = target.partition(".")
        key = _ALL.get((section, name))
        if key is None or not key.toml:
            raise SettingsError(f"unknown setting {target!r}")
        where = f"{option_name(name, key)} (setting [{section}] {name})"
        values[section, name] = _converted(key, value, where)
    return _build(values)


def _file_values(config: Path) -> dict[tuple[str, str], Any]:
    try:
        with config.open("rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{config}: is not valid TOML: {error}") from error
    except OSError as error:
        raise SettingsError(f"{config}: cannot be read: {error.strerror}") from error
    base = config.parent
    # The folders of a collection (and its status file) sit beside its ota.toml unless it says otherwise.
    values: dict[tuple[str, str], Any] = {
        (section, name): base / default for section, name, default in _relative_defaults()
    }
    for section, content in data.items():
        if section not in SECTIONS:
            raise SettingsError(f"{config}: unknown section [{section}]; known: {', '.join(SECTIONS)}")
        if not isinstance(content, dict):
            raise SettingsError(f"{config}: [{section}] must be a table of keys, not {shown(content)}")
        keys = _toml_keys(section)
        for name, value in content.items():
            key = keys.get(name)
            if key is None:
                raise SettingsError(
                    f"{config}: [{section}] {name}: unknown setting; known: {', '.join(keys)}"
                )
            converted = _converted(key, value, f"{config}: [{section}] {name}")
            values[section, name] = base / converted if key.relative else converted
    return values


def _relative_defaults() -> Iterator[tuple[str, str, Path]]:
    for section, kind in SECTIONS.items():
        defaults = kind()
        for name, key in keys_of(kind):
            default = getattr(defaults, name)
            if key.relative and isinstance(default, Path):
                yield section, name, default


def _converted(key: Key, value: Any, where: str) -> Any:
    try:
        return key.convert(value)
    except Invalid as error:
        raise SettingsError(f"{where}: {error}") from None


def _environment_values(
    environ: Mapping[str, str], earlier: Mapping[tuple[str, str], Any]
) -> dict[tuple[str, str], Any]:
    values: dict[tuple[str, str], Any] = {}
    for (section, name), key in _ALL.items():
        variable = next((variable for variable in key.env if environ.get(variable, "").strip()), None)
        if variable is None:
            continue
        text = environ[variable]
        try:
            value = key.env_convert(text) if key.env_convert else text
        except Invalid as error:
            raise SettingsError(f"{variable}={text}: {error}") from None
        if key.env_adds:
            value = (*earlier.get((section, name), ()), *value)
        values[section, name] = value
    values["fetch", "proxy_environment"] = {
        name: value for name, value in environ.items() if name.lower().endswith("_proxy") and value
    }
    return values


def _check_readable(section: str, name: str, path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise SettingsError(f"[{section}] {name}: {path}: cannot be read: {error.strerror}") from error


def _build(values: Mapping[tuple[str, str], Any]) -> Settings:
    by_section: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for (section, name), value in values.items():
        key = _ALL.get((section, name))
        if key is not None and key.readable and value is not None:
            _check_readable(section, name, value)
        by_section[section][name] = value
    return replace(
        Settings(), **{section: SECTIONS[section](**given) for section, given in by_section.items()}
    )
