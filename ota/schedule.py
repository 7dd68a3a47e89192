"""`ota track --schedule`: track at start, then on a cron schedule (APScheduler), never two runs at
once, until SIGTERM or Ctrl-C.

A run still going when the next tick comes is not doubled (the tick is skipped); ticks missed
while the machine slept are coalesced into one run when it wakes. SIGTERM or Ctrl-C stops the run
in progress cleanly (what was recorded is published, the terms in progress are abandoned), then
the scheduler; a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterable
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.background import BackgroundScheduler

from ota.cron import CronError, cron_trigger, time_zone
from ota.errors import OtaError, SettingsError
from ota.settings import Settings

if TYPE_CHECKING:
    from ota.run import StopRequest

log = logging.getLogger("ota.schedule")


def run_once(
    settings: Settings,
    services: Iterable[str],
    terms_types: Iterable[str],
    stop: StopRequest | None = None,
) -> None:
    """One scheduled run: its events and summary are logged; a failure is logged and the schedule
    goes on. `stop` is what a signal sets to end the run early."""
    from ota.report.deliver import deliver, deliver_run_error
    from ota.report.logs import log_outcome, log_run_end, log_run_error, log_run_start
    from ota.run import run_tracking

    started = datetime.now().astimezone()
    log_run_start({"services": list(services), "terms types": list(terms_types)})
    try:
        report = asyncio.run(
            run_tracking(
                settings,
                services=services,
                terms_types=terms_types,
                on_outcome=log_outcome,
                stop=stop,
            )
        )
    except OtaError as error:
        deliver_run_error(error, settings, started=started)
        log_run_error(error)
        return
    except Exception:  # a bug: logged with its traceback, and the schedule goes on
        log.exception("the run failed with an error of ota")
        return
    log_run_end(report)
    deliver(report, settings, services=services, terms_types=terms_types, started=started)


def run_on_schedule(
    settings: Settings,
    *,
    services: Iterable[str] = (),
    terms_types: Iterable[str] = (),
    initial_run: bool = True,
) -> str | None:
    """Track now (unless `initial_run` is false), then at every tick of `settings.schedule`, until a
    signal; return the signal's name (None if the scheduler stopped by itself)."""
    from ota.report.deliver import scheduler_started, scheduler_stopped
    from ota.run import StopRequest

    try:
        trigger = cron_trigger(settings.schedule, settings.timezone)
        zone = time_zone(settings.timezone)
    except CronError as error:
        raise SettingsError(f"[track] schedule: {error}") from error
    stop = StopRequest()
    stopped = threading.Event()
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

    def on_signal(number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if stop.requested:  # a second signal: the user insists
            log.warning("%s again: stopping at once", name)
            raise SystemExit(128 + number)
        log.warning("%s: stopping (the run in progress, if any, ends cleanly first)", name)
        stop.request(name)
        stopped.set()

    def on_skipped(event: object) -> None:
        log.info("a tick came while a run was still going: skipped (never two runs at once)")

    scheduler.add_listener(on_skipped, EVENT_JOB_MAX_INSTANCES)
    # APScheduler says the same at WARNING, and more (jobs added, run, done) at INFO: ota's own
    # lines say what matters.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    log.info(
        "tracking on schedule '%s' (%s)%s; then at %s",
        settings.schedule,
        settings.timezone,
        ", starting now" if initial_run else "",
        trigger.get_next_fire_time(None, datetime.now(zone)),
    )
    scheduler_started(settings, settings.schedule)
    scheduler.start()
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        scheduler.shutdown(wait=True)  # waits for the run in progress, which the stop request ends
        for number, handler in previous.items():
            signal.signal(number, handler)
        scheduler_stopped(settings, stop.reason)
    log.info("scheduler stopped by %s", stop.reason)
    return stop.reason
