"""Schedules: cron expressions of five fields (or six, seconds first), in a time zone; bad ones
named clearly before anything runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ota.cron import CronError, cron_trigger
from ota.errors import SettingsError
from ota.settings import DEFAULT_SCHEDULE, load_settings


def test_the_default_schedule_runs_at_half_past_midnight_and_noon_utc() -> None:
    """OTA's default `30 */12 * * *`: the next run after 12:47 is 00:30 the next day."""
    trigger = cron_trigger(DEFAULT_SCHEDULE)
    after = datetime(2026, 11, 23, 12, 47, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, after) == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)


def test_six_fields_start_with_seconds_and_a_time_zone_applies() -> None:
    """`*/10 * * * * *` ticks every 10 s; `0 9 * * *` in Europe/Paris is 08:00 UTC in winter."""
    every_ten = cron_trigger("*/10 * * * * *")
    after = datetime(2026, 11, 23, 12, 47, 3, tzinfo=UTC)
    assert every_ten.get_next_fire_time(None, after) == datetime(2026, 11, 23, 12, 47, 10, tzinfo=UTC)
    paris = cron_trigger("0 9 * * *", "Europe/Paris")
    next_time = paris.get_next_fire_time(None, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert next_time == datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert next_time.astimezone(UTC).hour == 8


def test_an_invalid_schedule_or_time_zone_is_named() -> None:
    """A typo in the schedule or the time zone: a clear error naming it."""
    with pytest.raises(CronError, match="'30 \\*/12 \\* \\*' is not a cron expression: it needs 5 fields"):
        cron_trigger("30 */12 * *")
    with pytest.raises(CronError, match="'Mars/Olympus' is not a time zone"):
        cron_trigger("0 9 * * *", "Mars/Olympus")


def test_bad_schedule_settings_stop_before_anything_runs(tmp_path: Path) -> None:
    """In ota.toml, the schedule and the time zone are checked when the settings are read."""
    config = tmp_path / "ota.toml"
    config.write_text('[track]\nschedule = "61 * * * *"\n', "utf-8")
    with pytest.raises(SettingsError, match=r"\[track\] schedule: '61 \* \* \* \*' is not a cron expression"):
        load_settings(config, environ={})
    config.write_text('[track]\ntimezone = "Paris"\n', "utf-8")
    with pytest.raises(SettingsError, match=r"\[track\] timezone: 'Paris' is not a time zone"):
        load_settings(config, environ={})
