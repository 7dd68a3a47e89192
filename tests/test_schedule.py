"""`ota track --schedule`: the cron expression, in UTC, and bad ones named clearly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ota.errors import SettingsError
from ota.schedule import cron_trigger
from ota.settings import DEFAULT_SCHEDULE


def test_the_default_schedule_runs_at_half_past_midnight_and_noon_utc() -> None:
    """OTA's default `30 */12 * * *`: the next run after 12:47 is 00:30 the next day."""
    trigger = cron_trigger(DEFAULT_SCHEDULE)
    after = datetime(2026, 11, 23, 12, 47, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, after) == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)


def test_an_invalid_schedule_is_a_settings_error_naming_it() -> None:
    """A typo in the schedule stops before anything runs, with the expression in the message."""
    with pytest.raises(SettingsError, match="invalid schedule '30 \\*/12 \\* \\*'"):
        cron_trigger("30 */12 * *")
