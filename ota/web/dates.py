"""Dates as Open Terms Archive's API writes and reads them (JavaScript's `Date`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

# ISO 8601 as `new Date(string)` accepts it: a year, a month, a day, a time with optional seconds
# and fraction, an optional offset; a space may replace the T.
_ISO = re.compile(
    r"^(?P<year>[+-]\d{6}|\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def iso(date: datetime) -> str:
    """`2024-01-31T12:00:00Z`: OTA's `toISODateWithoutMilliseconds`."""
    return date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(date: datetime) -> str:
    """`2024-01-31T12:00:00.000Z`: JavaScript's `toISOString`."""
    return date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{date.microsecond // 1000:03d}Z"


def http_date(date: datetime) -> str:
    """`Wed, 31 Jan 2024 12:00:00 GMT`: JavaScript's `toUTCString`, HTTP's date format."""
    return format_datetime(date.astimezone(UTC), usegmt=True)


def parse_http_date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_date(text: str) -> datetime | None:
    """A date as `new Date(text)` reads it: ISO 8601 (without an offset: UTC; JavaScript would take
    the server's local time, which OTA's servers set to UTC) or an RFC 2822 date; None if invalid."""
    match = _ISO.match(text.strip())
    if match is None:
        return parse_http_date(text) if any(char.isalpha() for char in text) else None
    parts = match.groupdict()
    try:
        date = datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    zone = parts["zone"]
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        date -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return date


#: "The terms in force on DATE", read the same way by the viewer, the API and the feeds' links.
IN_FORCE_RULE = (
    "the version in force at a moment is the last one recorded at or before that instant; "
    "a date alone means 00:00 UTC, the start of that day; a time without an offset is UTC"
)


def moment_label(text: str, moment: datetime) -> str:
    """How a moment asked for is said back: `00:00 UTC on 2026-05-13`, `2026-05-13 21:30:05 UTC`."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        return f"00:00 UTC on {moment:%Y-%m-%d}"
    shown = moment.astimezone(UTC)
    return shown.strftime("%Y-%m-%d %H:%M:%S UTC" if shown.second else "%Y-%m-%d %H:%M UTC")
