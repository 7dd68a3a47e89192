"""One tracking run as `ota track` and each tick of `ota track --schedule` make it: logged at its
start and end, delivered (status file, JSON summary, issues, notifications, publishing), its
errors handled the same way for both, and stopped by SIGINT or SIGTERM (`stop_on_signals`).

`track_once` returns a `RunResult`: the report, or the error that kept the run from running, and
the exit code that says so. The CLI prints it; the scheduler logs it and waits for the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType

from ota.errors import OtaError
from ota.outcome import EXIT_CANNOT_RUN, EXIT_FAILURES, EXIT_OK, Outcome, Report
from ota.settings import Settings
from ota.tracking.run import StopRequest, run_tracking
from ota.tracking.track import Clock, FixedClock, utc_now

log = logging.getLogger("ota.tracking.run")


@dataclass(frozen=True)
class Selection:
    """The terms a run tracks: these services, these terms types (empty: all of them)."""

    services: tuple[str, ...] = ()
    terms_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """What one run gave: its report, or the error that kept it from running (an `OtaError` said
    in one line, or a bug of ota, logged with its traceback)."""

    report: Report | None
    error: Exception | None = None

    @property
    def exit_code(self) -> int:
        """As shells expect it: 130 or 143 for a run stopped by SIGINT or SIGTERM."""
        report = self.report
        if report is None:
            return EXIT_CANNOT_RUN
        if report.interrupted:
            return signal_exit(report.interrupted)
        if report.fatal:
            return EXIT_CANNOT_RUN
        return EXIT_FAILURES if report.failed or report.count("suspect") else EXIT_OK


def signal_exit(name: str | None) -> int:
    """The exit code of a command stopped by a signal, as shells give it (130 for SIGINT, 143 SIGTERM)."""
    return 128 + signal.Signals[name].value if name else EXIT_OK


def track_once(
    settings: Settings,
    selection: Selection = Selection(),
    *,
    now: Clock | datetime = utc_now,
    stop: StopRequest | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    on_report: Callable[[Report], None] | None = None,
    json_summary: Path | None = None,
) -> RunResult:
    """Track the selection once, log and deliver the run; never raise for a run that failed.

    `now` gives every date the run records (commits, status file, reports): the clock, or one
    instant. `stop` ends the run early, cleanly. `on_outcome` is called with each terms' outcome
    as it is known (after it is logged), `on_total` with the number of terms once known,
    `on_report` with the report before it is delivered (the CLI prints its summary then).
    """
    from ota.report.logs import log_outcome, log_run_end, log_run_error, log_run_start

    clock: Clock = FixedClock(now) if isinstance(now, datetime) else now
    started = clock()

    def outcome_known(outcome: Outcome) -> None:
        log_outcome(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    log_run_start({"services": list(selection.services), "terms types": list(selection.terms_types)})
    try:
        report = asyncio.run(
            run_tracking(
                settings,
                services=selection.services,
                terms_types=selection.terms_types,
                on_outcome=outcome_known,
                on_total=on_total,
                stop=stop,
                now=clock,
            )
        )
    except OtaError as error:  # bad settings, no declarations folder, a repository that cannot open
        from ota.report.deliver import deliver_run_error

        deliver_run_error(error, settings, started=started, now=clock)
        log_run_error(error)
        return RunResult(None, error)
    except Exception as error:  # a bug of ota: logged with its traceback, said in one line
        log.exception("the run failed with an error of ota")
        return RunResult(None, error)
    log_run_end(report)
    if on_report is not None:
        on_report(report)
    # Imported once the run is over: delivering imports the network stack (httpx, for a forge),
    # which the run imports only after starting its recording process (`ota.tracking.run`).
    from ota.report.deliver import deliver

    deliver(
        report,
        settings,
        services=selection.services,
        terms_types=selection.terms_types,
        json_summary=json_summary,
        started=started,
        now=clock,
    )
    return RunResult(report)


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """While inside, SIGINT and SIGTERM request `stop` (the run in progress ends cleanly, what it
    recorded is published); a second signal exits at once. The previous handlers come back after."""

    def on_signal(number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if stop.requested:  # a second signal: the user insists
            log.warning("%s again: stopping at once", name)
            raise SystemExit(128 + number)
        log.warning("%s: stopping (the run in progress, if any, ends cleanly first)", name)
        stop.request(name)

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
