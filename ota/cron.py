"""Cron expressions for `[track] schedule`: five fields (minute hour day month weekday), as Open
Terms Archive's engine takes them, or six with seconds first (`*/10 * * * * *`: every 10 s)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:  # APScheduler is imported only when a schedule is used or checked
    from apscheduler.triggers.cron import CronTrigger


class CronError(ValueError):
    """An expression or a time zone that cannot be used; the message says why."""


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`UTC`, `Europe/Paris`), or CronError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"{name!r} is not a time zone such as 'UTC' or 'Europe/Paris'") from None


def cron_trigger(expression: str, timezone: str = "UTC") -> CronTrigger:
    """The APScheduler trigger of a five- or six-field cron expression in `timezone`, or CronError."""
    from apscheduler.triggers.cron import CronTrigger

    zone = time_zone(timezone)
    fields = expression.split()
    try:
        if len(fields) == 6:
            second, minute, hour, day, month, weekday = fields
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=weekday,
                timezone=zone,
            )
        if len(fields) == 5:
            return CronTrigger.from_crontab(expression, timezone=zone)
    except ValueError as error:
        raise CronError(f"{expression!r} is not a cron expression: {error}") from None
    raise CronError(
        f"{expression!r} is not a cron expression: it needs 5 fields (minute hour day month weekday), "
        "or 6 with seconds first"
    )
