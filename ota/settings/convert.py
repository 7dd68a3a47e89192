"""Converters: a value of ota.toml, an option or a variable → its typed setting, or `Invalid`.

Each converter takes what TOML (or typer, or the environment) gives and returns the value of
the setting, or raises `Invalid` whose message says what was expected; the loader adds where
the value came from (file, section and key; option; variable).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ota.cron import CronError, cron_trigger, time_zone

Converter = Callable[[Any], Any]


class Invalid(ValueError):
    """A value of the wrong type or out of range; the message says what was expected."""


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, not {shown(value)}")
    return value


def one_line(value: Any) -> str:
    text = string(value)
    if any(char in text for char in "<>\n\r\0"):
        raise Invalid(f"cannot contain <, >, a line break or a NUL character: {text!r}")
    return text


def integer(minimum: int) -> Converter:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"must be a whole number, not {shown(value)}")
        if value < minimum:
            raise Invalid(f"must be at least {minimum}, not {value}")
        return value

    return convert


def number(minimum: float, *, exclusive: bool = False) -> Converter:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"must be a number, not {shown(value)}")
        if value < minimum or (exclusive and value == minimum):
            bound = "more than" if exclusive else "at least"
            raise Invalid(f"must be {bound} {minimum:g}, not {value:g}")
        return float(value)

    return convert


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, not {shown(value)}")
    return value


def strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Invalid(f'must be a list of strings such as ["Example Policy"], not {shown(value)}')
    return tuple(value)


def cron_expression(value: Any) -> str:
    expression = string(value)
    try:
        cron_trigger(expression)
    except CronError as error:
        raise Invalid(str(error)) from None
    return expression


def zone_name(value: Any) -> str:
    name = string(value)
    try:
        time_zone(name)
    except CronError as error:
        raise Invalid(str(error)) from None
    return name


def log_format(value: Any) -> str:
    text = string(value)
    if text not in ("text", "json"):
        raise Invalid(f'must be "text" or "json", not {text!r}')
    return text


def log_level(value: Any) -> str:
    text = string(value).lower()
    if text not in ("debug", "info", "warning", "error"):
        raise Invalid(f'must be "debug", "info", "warning" or "error", not {text!r}')
    return text


def networks(value: Any) -> tuple[str, ...]:
    import ipaddress  # only when the key is set

    networks = strings(value)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise Invalid(f'{network!r} is not a network such as "10.1.0.0/16" or "fd00::/8"') from None
    return networks


def terms_types(value: Any) -> tuple[str, ...]:
    names = strings(value)
    for name in names:
        if (
            not name.strip()
            or name != name.strip()
            or "/" in name
            or name.startswith(".")
            or any(ord(char) < 32 for char in name)
        ):
            raise Invalid(
                f"{name!r} cannot be a terms type: it names files, so no '/', no leading dot or space, "
                "no control character"
            )
    return names


def host(value: Any) -> str:
    host = string(value).strip()
    if not host or any(char.isspace() or char in "/@" for char in host):
        raise Invalid(f'must be an address to listen on, such as "127.0.0.1" or "::1", not {value!r}')
    return host


def base_path(value: Any) -> str:
    path = "/" + string(value).strip().strip("/")
    if any(char in path for char in "?#%\\ ") or "/." in path:
        raise Invalid(f'must be a URL path such as "/api", not {value!r}')
    return "" if path == "/" else path


def port(value: Any) -> int:
    port: int = integer(1)(value)
    if port > 65535:
        raise Invalid(f"must be a port number up to 65535, not {port}")
    return port


def folder(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value:
        raise Invalid(f"must be a folder path, not {shown(value)}")
    return Path(value)


def file(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value:
        raise Invalid(f"must be a file path, not {shown(value)}")
    return Path(value)


def url(value: Any) -> str:
    text = string(value)
    if not text.startswith(("http://", "https://")):
        raise Invalid(f"must be an http:// or https:// URL, not {text!r}")
    return text


def http_url(value: Any) -> str:
    text = string(value)
    if text and not text.startswith(("http://", "https://")):
        raise Invalid(f"must be an http:// or https:// URL, not {text!r}")
    return text.rstrip("/")


def repository_name(value: Any) -> str:
    text = string(value)
    if text and ("/" not in text.strip("/") or "://" in text or " " in text):
        raise Invalid(f'must name a repository as "owner/name", not {text!r}')
    return text.strip("/")


def choice(*choices: str) -> Converter:
    def convert(value: Any) -> str:
        text = string(value)
        if text not in choices:
            raise Invalid(f"must be one of {', '.join(choices)}, not {text!r}")
        return text

    return convert


def choices(*choices: str) -> Converter:
    def convert(value: Any) -> tuple[str, ...]:
        items = strings(value)
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise Invalid(f"{', '.join(map(repr, unknown))}: unknown; known: {', '.join(choices)}")
        return items

    return convert


def max_age(value: Any) -> float | None:
    seconds: float = number(0)(value)
    return seconds or None  # 0: derived from the schedule


def shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    return f"{kind.get(type(value), type(value).__name__)} ({value!r})"


# -- the environment's values are strings: these read them -----------------------------------------

_BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def flag(value: str) -> bool:
    """`OTA_ALLOW_PRIVATE_ADDRESSES`: 1 or true, 0 or false."""
    if value not in ("0", "1", "true", "false"):
        raise Invalid("must be 1 (allow) or 0")
    return value in ("1", "true")


def boolean_word(value: str) -> bool:
    """`OTA_BROWSER_SANDBOX`: true, false, yes, no, 1, 0, in any case."""
    word = value.strip().lower()
    if word not in _BOOLEAN_WORDS:
        raise Invalid("must be true or false")
    return _BOOLEAN_WORDS[word]


def existing_file(value: str) -> Path:
    """`SSL_CERT_FILE`: a file that exists."""
    if not Path(value).is_file():
        raise Invalid("no such file (it names the certificate authorities to trust)")
    return Path(value)


def existing_folder(value: str) -> Path:
    """`SSL_CERT_DIR`: a folder that exists."""
    if not Path(value).is_dir():
        raise Invalid("no such folder (it names the certificate authorities to trust)")
    return Path(value)


def words(value: str) -> tuple[str, ...]:
    """`OTA_NOTIFY_URLS`: items separated by white space."""
    return tuple(value.split())
