"""`ota track --schedule`: run tracking on a cron schedule (APScheduler), never two runs at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from ota.errors import OtaError, SettingsError
from ota.settings import Settings

log = logging.getLogger("ota.schedule")


def cron_trigger(expression: str) -> CronTrigger:
    """A trigger from a five-field cron expression (UTC), or SettingsError naming it."""
    try:
        return CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as error:
        raise SettingsError(f"invalid schedule '{expression}': {error}") from error


def run_once(settings: Settings, services: Iterable[str], terms_types: Iterable[str]) -> None:
    """One scheduled run: its summary is logged; a failure is logged and the schedule goes on."""
    from ota.report.deliver import deliver, deliver_run_error
    from ota.report.summary import summary_lines
    from ota.run import run_tracking

    started = datetime.now(UTC)
    try:
        report = asyncio.run(run_tracking(settings, services=services, terms_types=terms_types))
    except OtaError as error:
        log.error("run failed: %s", error)
        deliver_run_error(error, settings, started=started)
        return
    for line in summary_lines(report):
        log.info("%s", line)
    deliver(report, settings, services=services, terms_types=terms_types, started=started)


def run_on_schedule(
    settings: Settings, *, services: Iterable[str] = (), terms_types: Iterable[str] = ()
) -> None:
    """Block forever, tracking at every tick of `settings.schedule`.

    A run still going when the next tick comes is not doubled: the tick is skipped
    (max_instances=1, coalesce).
    """
    trigger = cron_trigger(settings.schedule)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        run_once,
        trigger,
        args=(settings, tuple(services), tuple(terms_types)),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    log.info(
        "tracking on schedule '%s' (UTC); next run at %s",
        settings.schedule,
        trigger.get_next_fire_time(None, datetime.now(UTC)),
    )
    from ota.report.deliver import scheduler_started

    scheduler_started(settings, settings.schedule)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
