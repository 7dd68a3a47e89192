"""`ota track --schedule`: track at start, then on a cron schedule (APScheduler), never two runs at
once, until SIGTERM or Ctrl-C.

A run still going when the next tick comes is not doubled (the tick is skipped); ticks missed
while the machine slept are coalesced into one run when it wakes. SIGTERM or Ctrl-C stops the run
in progress cleanly (what was recorded is published, the terms in progress are abandoned), then
the scheduler; a second signal stops at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.background import BackgroundScheduler

from ota.cron import CronError, cron_trigger, time_zone
from ota.errors import SettingsError
from ota.settings import Settings

if TYPE_CHECKING:
    from ota.tracking.run import StopRequest

log = logging.getLogger("ota.schedule")


def run_once(
    settings: Settings,
    services: Iterable[str],
    terms_types: Iterable[str],
    stop: StopRequest | None = None,
) -> None:
    """One scheduled run (`ota.tracking.launch.track_once`): its events, summary and errors are logged, and
    the schedule goes on whatever happened. `stop` is what a signal sets to end the run early."""
    from ota.tracking.launch import Selection, track_once

    track_once(settings, Selection(tuple(services), tuple(terms_types)), stop=stop)


def run_on_schedule(
    settings: Settings,
    *,
    services: Iterable[str] = (),
    terms_types: Iterable[str] = (),
    initial_run: bool = True,
) -> str | None:
    """Track now (unless `initial_run` is false), then at every tick of `settings.track.schedule`, until a
    signal; return the signal's name (None if the scheduler stopped by itself)."""
    from ota.report.deliver import scheduler_started, scheduler_stopped
    from ota.tracking.launch import stop_on_signals
    from ota.tracking.run import StopRequest

    try:
        trigger = cron_trigger(settings.track.schedule, settings.track.timezone)
        zone = time_zone(settings.track.timezone)
    except CronError as error:
        raise SettingsError(f"[track] schedule: {error}") from error
    stop = StopRequest()
    scheduler = BackgroundScheduler(timezone=zone)
    scheduler.add_job(
        run_once,
        trigger,
        args=(settings, tuple(services), tuple(terms_types), stop),
        max_instances=1,  # never two runs at once: a tick during a run is skipped
        coalesce=True,  # ticks missed while asleep make one run
        misfire_grace_time=None,  # however late, a missed tick still runs (once)
        **({"next_run_time": datetime.now(zone)} if initial_run else {}),
    )

    def on_skipped(event: object) -> None:
        log.info("a tick came while a run was still going: skipped (never two runs at once)")

    scheduler.add_listener(on_skipped, EVENT_JOB_MAX_INSTANCES)
    # APScheduler says the same at WARNING, and more (jobs added, run, done) at INFO: ota's own
    # lines say what matters.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    log.info(
        "tracking on schedule '%s' (%s)%s; then at %s",
        settings.track.schedule,
        settings.track.timezone,
        ", starting now" if initial_run else "",
        trigger.get_next_fire_time(None, datetime.now(zone)),
    )
    with stop_on_signals(stop):
        scheduler_started(settings, settings.track.schedule)
        scheduler.start()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            scheduler.shutdown(wait=True)  # waits for the run in progress, which the stop request ends
            scheduler_stopped(settings, stop.reason)
    log.info("scheduler stopped by %s", stop.reason)
    return stop.reason
