"""Settings: one frozen value, built once by the CLI from `ota.toml`, the environment and options.

`ota.toml` (in the working folder, or the file named by `--config` or `OTA_CONFIG`):

    [collection]
    declarations = "declarations"      # folders, relative to the ota.toml file
    snapshots = "snapshots"
    versions = "versions"
    terms_types = []                   # terms types allowed besides OTA's standard list

    [fetch]
    accept_language = "en"             # sent as Accept-Language, e.g. "en-IE, en-GB, en"
    concurrency = 64                   # requests in flight at once
    per_host = 2                       # requests in flight to one host
    host_delay = 0.0                   # seconds between two requests to one host
    timeout = 30

    [recorder]
    snapshot_link_template = "%SNAPSHOT_ID"   # OTA's snapshotIdentiferTemplate
    author_name = "Open Terms Archive Bot"
    author_email = "bot@opentermsarchive.org"

    [track]
    schedule = "30 */12 * * *"

Precedence: command-line options, then environment (`OTA_ACCEPT_LANGUAGE`), then `ota.toml`,
then the defaults below.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ota import __version__
from ota.errors import SettingsError
from ota.fetch import FetchSettings

CONFIG_FILE = "ota.toml"
DEFAULT_SCHEDULE = "30 */12 * * *"
DEFAULT_LINK_TEMPLATE = "%SNAPSHOT_ID"
DEFAULT_AUTHOR_NAME = "Open Terms Archive Bot"
DEFAULT_AUTHOR_EMAIL = "bot@opentermsarchive.org"
#: What ota writes in the `X-engine-version` trailer of its commits.
ENGINE_VERSION = f"ota {__version__}"


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, resolved once."""

    declarations: Path = Path("declarations")
    snapshots: Path = Path("snapshots")
    versions: Path = Path("versions")
    extra_terms_types: tuple[str, ...] = ()
    fetch: FetchSettings = field(default_factory=FetchSettings)
    snapshot_link_template: str = DEFAULT_LINK_TEMPLATE
    author_name: str = DEFAULT_AUTHOR_NAME
    author_email: str = DEFAULT_AUTHOR_EMAIL
    schedule: str = DEFAULT_SCHEDULE
    #: Processes extracting Markdown; 0 extracts in the main process (tests, debugging).
    extract_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    engine_version: str = ENGINE_VERSION


_SECTIONS: dict[str, dict[str, str]] = {
    "collection": {
        "declarations": "declarations",
        "snapshots": "snapshots",
        "versions": "versions",
        "terms_types": "extra_terms_types",
    },
    "recorder": {
        "snapshot_link_template": "snapshot_link_template",
        "author_name": "author_name",
        "author_email": "author_email",
    },
    "track": {"schedule": "schedule", "extract_workers": "extract_workers"},
}
_FETCH_FIELDS = {f.name: f.type for f in dataclasses.fields(FetchSettings)}
_PATH_FIELDS = {"declarations", "snapshots", "versions"}


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: {error}") from error
    except OSError as error:
        raise SettingsError(f"{path}: cannot be read: {error.strerror}") from error


def _coerce_fetch(name: str, value: Any, source: str) -> Any:
    expected = _FETCH_FIELDS[name]
    try:
        if expected in ("int", int):
            return int(value)
        if expected in ("float", float):
            return float(value)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"{source}: fetch {name} must be a number, not {value!r}") from error
    return str(value)


def load_settings(
    config: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """The settings for this run.

    `config` is an `ota.toml` to read (default: `OTA_CONFIG`, else `./ota.toml` when present);
    `overrides` are command-line values (None values are ignored): top-level field names, or
    `fetch.NAME` for fetch settings. Relative folders in a config file are relative to it.
    """
    environ = os.environ if environ is None else environ
    if config is None and environ.get("OTA_CONFIG"):
        config = Path(environ["OTA_CONFIG"])
    if config is None and Path(CONFIG_FILE).is_file():
        config = Path(CONFIG_FILE)
    values: dict[str, Any] = {}
    fetch_values: dict[str, Any] = {}
    if config is not None:
        data = _read_config(config)
        base = config.parent
        # The folders of a collection sit beside its ota.toml unless it says otherwise.
        values.update({name: base / name for name in _PATH_FIELDS})
        for section, content in data.items():
            if not isinstance(content, dict):
                raise SettingsError(f"{config}: [{section}] must be a table")
            if section == "fetch":
                for key, value in content.items():
                    if key not in _FETCH_FIELDS:
                        raise SettingsError(
                            f"{config}: unknown setting fetch.{key}; known: {', '.join(_FETCH_FIELDS)}"
                        )
                    fetch_values[key] = _coerce_fetch(key, value, str(config))
                continue
            known = _SECTIONS.get(section)
            if known is None:
                raise SettingsError(
                    f"{config}: unknown section [{section}]; known: fetch, {', '.join(_SECTIONS)}"
                )
            for key, value in content.items():
                if key not in known:
                    raise SettingsError(
                        f"{config}: unknown setting {section}.{key}; known: {', '.join(known)}"
                    )
                target = known[key]
                if target in _PATH_FIELDS:
                    value = base / value
                elif target == "extra_terms_types":
                    value = tuple(value)
                values[target] = value
    if environ.get("OTA_ACCEPT_LANGUAGE"):
        fetch_values["accept_language"] = environ["OTA_ACCEPT_LANGUAGE"]
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key.startswith("fetch."):
            fetch_values[key.removeprefix("fetch.")] = value
        else:
            values[key] = Path(value) if key in _PATH_FIELDS else value
    try:
        return Settings(fetch=FetchSettings(**fetch_values), **values)
    except TypeError as error:
        raise SettingsError(str(error)) from error
