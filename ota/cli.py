"""The `ota` command: each subcommand parses, calls one library function, prints, and exits.

Exit codes: 0 when everything asked was done, 1 when some of it failed (the rest was done),
2 when nothing could run (bad settings, no declarations folder, unwritable repository).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ota import __version__
from ota.errors import DeclarationError, ExtractError, OtaError, RecordError, SettingsError

app = typer.Typer(
    name="ota",
    help="Track the terms of online services and keep every change as evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2


def _fail(message: str, code: int = EXIT_CANNOT_RUN) -> typer.Exit:
    typer.echo(f"ota: {message}", err=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ota {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Track the terms of online services and keep every change as evidence."""


ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="ota.toml to read (default: OTA_CONFIG, else ./ota.toml).")
]


@app.command()
def track(
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Track only this service ID (repeatable).")
    ] = None,
    terms_type: Annotated[
        list[str] | None, typer.Option("--terms-type", "-t", help="Track only this terms type (repeatable).")
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
        bool, typer.Option("--schedule", help="Keep running, tracking on the configured cron schedule.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
    publish: Annotated[
        bool | None,
        typer.Option("--publish/--no-publish", help="Push both repositories to origin after the run."),
    ] = None,
    json_summary: Annotated[
        Path | None, typer.Option("--json-summary", help="Write the run's summary as JSON to this file.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Fetch every declared terms, record new snapshots and versions, and summarise the run."""
    from datetime import UTC, datetime

    from ota.report.deliver import deliver, deliver_run_error
    from ota.report.summary import summary_lines
    from ota.run import run_tracking
    from ota.settings import load_settings

    try:
        settings = load_settings(
            config,
            overrides={
                "declarations": declarations,
                "snapshots": snapshots,
                "versions": versions,
                "fetch.concurrency": concurrency,
                "fetch.per_host": per_host,
                "fetch.host_delay": host_delay,
                "publish": publish,
            },
        )
    except SettingsError as error:
        raise _fail(str(error)) from error
    if schedule and json_summary is not None:
        raise _fail("--json-summary is written for one run; with --schedule, read the status file")
    if schedule:
        from ota.schedule import run_on_schedule

        try:
            run_on_schedule(settings, services=service or (), terms_types=terms_type or ())
        except OtaError as error:
            raise _fail(str(error)) from error
        return
    started = datetime.now(UTC)
    bar = _ProgressBar() if progress and sys.stderr.isatty() else None
    try:
        report = asyncio.run(
            run_tracking(
                settings,
                services=service or (),
                terms_types=terms_type or (),
                on_outcome=bar.advance if bar else None,
                on_total=bar.set_total if bar else None,
            )
        )
    except (SettingsError, DeclarationError, RecordError) as error:
        deliver_run_error(error, settings, started=started)
        raise _fail(str(error)) from error
    finally:
        if bar is not None:
            bar.stop()
    for line in summary_lines(report):
        typer.echo(line)
    deliver(
        report,
        settings,
        services=service or (),
        terms_types=terms_type or (),
        json_summary=json_summary,
        started=started,
    )
    raise typer.Exit(EXIT_FAILURES if report.failed else EXIT_OK)


@app.command()
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
    from datetime import UTC, datetime, timedelta

    from ota.report.status import StatusError, check_status, default_max_age, read_status, status_lines
    from ota.settings import load_settings

    try:
        settings = load_settings(config, overrides={"status.max_age": max_age})
        current = read_status(settings.status.file)
    except (SettingsError, StatusError) as error:
        raise _fail(str(error)) from error
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
        else default_max_age(settings.schedule, now)
    )
    problems = check_status(current, now=now, max_age=limit)
    for problem in problems:
        typer.echo(f"unhealthy: {problem}", err=True)
    raise typer.Exit(EXIT_FAILURES if problems else EXIT_OK)


class _ProgressBar:
    """A progress bar on the terminal: it counts terms, against a total once one is known."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("tracking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
        )
        self._task = self._progress.add_task("tracking", total=None)
        self._progress.start()

    def set_total(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def advance(self, _outcome: object) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()


@app.command()
def extract(
    declaration: Annotated[Path, typer.Argument(help="The service declaration (SERVICE_ID.json).")],
    terms_type: Annotated[str, typer.Argument(help='The terms type, e.g. "Privacy Policy".')],
    snapshot: Annotated[
        list[Path], typer.Argument(help="Snapshot file(s), one per source document, in declaration order.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the Markdown to this file.")
    ] = None,
) -> None:
    """Print the Markdown ota would record for these snapshots (to test selectors on a saved page)."""
    from ota.declarations import parse_service
    from ota.extract import PDF_MIME_TYPE, extract_terms
    from ota.service_filters import load_service_filters

    try:
        data = json.loads(declaration.read_text("utf-8"))
        service_id = declaration.name.removesuffix(".json")
        service = parse_service(
            service_id, data, path=declaration, terms_types=_all_types(data), strict=False
        )
    except OSError as error:
        raise _fail(f"{declaration}: cannot be read: {error.strerror}") from error
    except ValueError as error:
        raise _fail(f"{declaration}: invalid JSON: {error}") from error
    except DeclarationError as error:
        raise _fail(str(error)) from error
    if terms_type in service.invalid:
        raise _fail("; ".join(str(error) for error in service.invalid[terms_type]))
    terms = service.terms.get(terms_type)
    if terms is None:
        raise _fail(
            f"{declaration} declares no '{terms_type}'; it declares: {', '.join(sorted(service.terms))}"
        )
    if len(snapshot) != len(terms.documents):
        raise _fail(
            f"'{terms_type}' has {len(terms.documents)} source document(s) "
            f"but {len(snapshot)} snapshot(s) were given"
        )
    filters_path = declaration.with_name(f"{service_id}.filters.py")
    try:
        filters = load_service_filters(filters_path) if filters_path.is_file() else None
        sources = [
            (document, path.read_bytes(), PDF_MIME_TYPE if path.suffix.lower() == ".pdf" else "text/html")
            for document, path in zip(terms.documents, snapshot, strict=True)
        ]
        markdown = extract_terms(sources, filters)
    except OSError as error:
        raise _fail(f"{error.filename}: cannot be read: {error.strerror}") from error
    except (ExtractError, DeclarationError) as error:
        raise _fail(str(error), EXIT_FAILURES) from error
    if output is None:
        sys.stdout.write(markdown)
        if sys.stdout.isatty():
            sys.stdout.write("\n")
    else:
        output.write_text(markdown, "utf-8")


def _all_types(data: object) -> frozenset[str]:
    """`ota extract` checks one file: any terms type it declares is accepted."""
    from ota.declarations import STANDARD_TERMS_TYPES

    declared = (data.get("terms") or data.get("documents") or {}) if isinstance(data, dict) else {}
    return frozenset(STANDARD_TERMS_TYPES) | (
        frozenset(declared) if isinstance(declared, dict) else frozenset()
    )


if __name__ == "__main__":  # pragma: no cover
    app()
