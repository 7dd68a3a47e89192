"""`ota track` (once, or on a schedule) and `ota status`: running the tracker and watching it."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ota.cli.common import ConfigOption, ProgressBar, fail, settings_of
from ota.errors import OtaError, SettingsError
from ota.outcome import EXIT_FAILURES, EXIT_OK

if TYPE_CHECKING:
    from ota.outcome import Report


def track(
    service: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", metavar="SERVICE_ID", help="Track only this service (repeatable)."),
    ] = None,
    terms_type: Annotated[
        list[str] | None,
        typer.Option(
            "--terms-type", "-t", metavar="TERMS_TYPE", help="Track only this terms type (repeatable)."
        ),
    ] = None,
    declarations: Annotated[Path | None, typer.Option(help="Declarations folder [./declarations].")] = None,
    snapshots: Annotated[Path | None, typer.Option(help="Snapshots repository [./snapshots].")] = None,
    versions: Annotated[Path | None, typer.Option(help="Versions repository [./versions].")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight at once [64].")] = None,
    per_host: Annotated[int | None, typer.Option(help="Requests in flight to one host [2].")] = None,
    host_delay: Annotated[
        float | None, typer.Option(help="Minimum seconds between two requests to one host [0].")
    ] = None,
    schedule: Annotated[
        bool,
        typer.Option(
            "--schedule", help="Keep running: track now, then on the configured cron schedule, until stopped."
        ),
    ] = False,
    initial_run: Annotated[
        bool,
        typer.Option(
            "--initial-run/--no-initial-run", help="With --schedule: track at start, not only on ticks."
        ),
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
    publish: Annotated[
        bool | None,
        typer.Option("--publish/--no-publish", help="Push both repositories to origin after the run."),
    ] = None,
    json_summary: Annotated[
        Path | None, typer.Option("--json-summary", help="Write the run's summary as JSON to this file.")
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option("--log-format", metavar="text|json", help="Logs for people, or JSON lines [text]."),
    ] = None,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Append the logs to this file [stderr].")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Fetch every declared terms, record new snapshots and versions, and summarise the run."""
    import logging

    from ota.report.logs import configure_logging
    from ota.report.summary import summary_lines
    from ota.tracking.launch import Selection, signal_exit, stop_on_signals, track_once
    from ota.tracking.run import StopRequest

    settings = settings_of(
        config,
        {
            "collection.declarations": declarations,
            "collection.snapshots": snapshots,
            "collection.versions": versions,
            "fetch.concurrency": concurrency,
            "fetch.per_host": per_host,
            "fetch.host_delay": host_delay,
            "track.publish": publish,
            "log.format": log_format,
            "log.file": log_file,
        },
    )
    if schedule and json_summary is not None:
        raise fail("--json-summary is written for one run; with --schedule, read the status file")
    try:
        configure_logging(
            format="json" if settings.log.format == "json" else "text",
            file=settings.log.file,
            level=getattr(logging, settings.log.level.upper()),
        )
    except OSError as error:
        raise fail(f"{settings.log.file}: cannot be written: {error.strerror}") from error
    if schedule:
        from ota.schedule import run_on_schedule

        try:
            stopped_by = run_on_schedule(
                settings, services=service or (), terms_types=terms_type or (), initial_run=initial_run
            )
        except OtaError as error:
            raise fail(str(error)) from error
        raise typer.Exit(signal_exit(stopped_by))
    bar = ProgressBar() if progress and sys.stderr.isatty() else None
    if bar is not None:  # the bar shows progress: the log keeps to problems until the end
        logging.getLogger("ota.tracking.track").setLevel(logging.WARNING)

    def print_summary(report: Report) -> None:
        if bar is not None:
            bar.stop()
            logging.getLogger("ota.tracking.track").setLevel(logging.NOTSET)
        for line in summary_lines(report):
            typer.echo(line)

    try:
        with stop_on_signals(StopRequest()) as stop:
            result = track_once(
                settings,
                Selection(tuple(service or ()), tuple(terms_type or ())),
                stop=stop,
                on_outcome=bar.advance if bar else None,
                on_total=bar.set_total if bar else None,
                on_report=print_summary,
                json_summary=json_summary,
            )
    finally:
        if bar is not None:
            bar.stop()
            logging.getLogger("ota.tracking.track").setLevel(logging.NOTSET)
    if result.report is None:
        failure = result.error
        if isinstance(failure, OtaError):
            raise fail(str(failure))
        raise fail(
            f"a bug of ota stopped the run ({type(failure).__name__}: {failure}); the log has its traceback"
        )
    for fatal in result.report.fatal:
        typer.echo(f"ota: {fatal}", err=True)
    raise typer.Exit(result.exit_code)


def status(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Exit 1 when the last run is too old or failed entirely (for health checks)."
        ),
    ] = False,
    max_age: Annotated[
        float | None,
        typer.Option(help="Seconds after which the last run is too old [twice the schedule's interval]."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status file as it is (JSON).")] = False,
    config: ConfigOption = None,
) -> None:
    """Print the last run, the terms that changed and the terms failing (and since when)."""
    from datetime import timedelta

    from ota.report.health import check_status, default_max_age, status_lines
    from ota.report.status import StatusError, read_status
    from ota.settings import load_settings

    try:
        settings = load_settings(config, overrides={"status.max_age": max_age})
        current = read_status(settings.status.file)
    except (SettingsError, StatusError) as error:
        raise fail(str(error)) from error
    now = datetime.now(UTC)
    if as_json:
        typer.echo(json.dumps(current, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"status file: {settings.status.file}")
        for line in status_lines(current, now=now):
            typer.echo(line)
    if not check:
        return
    limit = (
        timedelta(seconds=settings.status.max_age)
        if settings.status.max_age
        else default_max_age(settings.track.schedule, now)
    )
    problems = check_status(current, now=now, max_age=limit)
    for problem in problems:
        typer.echo(f"unhealthy: {problem}", err=True)
    raise typer.Exit(EXIT_FAILURES if problems else EXIT_OK)
