"""The `ota` command: each subcommand parses, calls one library function, prints, and exits.

Exit codes: 0 when everything asked was done, 1 when some of it failed (the rest was done),
2 when nothing could run (bad settings, no declarations folder, unwritable repository).
"""

from __future__ import annotations

# Modules are imported by the commands that use them (asyncio, httpx, pygit2, Playwright…), so that
# `ota --version` and `ota status` start in a few tens of milliseconds.
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ota import __version__
from ota.errors import DeclarationError, ExtractError, FetchError, OtaError, RecordError, SettingsError
from ota.outcome import EXIT_CANNOT_RUN, EXIT_FAILURES, EXIT_OK

if TYPE_CHECKING:
    from ota.fetch import Page
    from ota.outcome import Report
    from ota.settings import Settings

app = typer.Typer(
    name="ota",
    help="Track the terms of online services and keep every change as evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: typer's rich help shows every flag as taking a `<bool>` value.
    rich_markup_mode=None,
)


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

    from ota.launch import Selection, signal_exit, stop_on_signals, track_once
    from ota.report.logs import configure_logging
    from ota.report.summary import summary_lines
    from ota.run import StopRequest

    settings = _settings(
        config,
        {
            "declarations": declarations,
            "snapshots": snapshots,
            "versions": versions,
            "fetch.concurrency": concurrency,
            "fetch.per_host": per_host,
            "fetch.host_delay": host_delay,
            "publish": publish,
            "log_format": log_format,
            "log_file": log_file,
        },
    )
    if schedule and json_summary is not None:
        raise _fail("--json-summary is written for one run; with --schedule, read the status file")
    try:
        configure_logging(
            format="json" if settings.log_format == "json" else "text",
            file=settings.log_file,
            level=getattr(logging, settings.log_level.upper()),
        )
    except OSError as error:
        raise _fail(f"{settings.log_file}: cannot be written: {error.strerror}") from error
    if schedule:
        from ota.schedule import run_on_schedule

        try:
            stopped_by = run_on_schedule(
                settings, services=service or (), terms_types=terms_type or (), initial_run=initial_run
            )
        except OtaError as error:
            raise _fail(str(error)) from error
        raise typer.Exit(signal_exit(stopped_by))
    bar = _ProgressBar() if progress and sys.stderr.isatty() else None
    if bar is not None:  # the bar shows progress: the log keeps to problems until the end
        logging.getLogger("ota.track").setLevel(logging.WARNING)

    def print_summary(report: Report) -> None:
        if bar is not None:
            bar.stop()
            logging.getLogger("ota.track").setLevel(logging.NOTSET)
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
            logging.getLogger("ota.track").setLevel(logging.NOTSET)
    if result.report is None:
        failure = result.error
        raise _fail(str(failure) if isinstance(failure, OtaError) else f"an error of ota: {failure!r}")
    for fatal in result.report.fatal:
        typer.echo(f"ota: {fatal}", err=True)
    raise typer.Exit(result.exit_code)


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
    from datetime import timedelta

    from ota.report.health import check_status, default_max_age, status_lines
    from ota.report.status import StatusError, read_status
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

    def __init__(self, label: str = "tracking") -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
        )
        self._task = self._progress.add_task(label, total=None)
        self._progress.start()

    def set_total(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def advance(self, _outcome: object) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()


@app.command()
def verify(
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service", "-s", metavar="SERVICE_ID", help="Check only this service ID (repeatable)."
        ),
    ] = None,
    terms_type: Annotated[
        list[str] | None,
        typer.Option(
            "--terms-type", "-t", metavar="TERMS_TYPE", help="Check only this terms type (repeatable)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE", help="Check only the versions dated from this date (YYYY-MM-DD[THH:MM:SS])."
        ),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write every finding to this file.")
    ] = None,
    declarations: Annotated[Path | None, typer.Option(help="Declarations folder [./declarations].")] = None,
    snapshots: Annotated[Path | None, typer.Option(help="Snapshots repository [./snapshots].")] = None,
    versions: Annotated[Path | None, typer.Option(help="Versions repository [./versions].")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
    config: ConfigOption = None,
) -> None:
    """Check every version against the snapshots it cites and the declaration then in force."""

    from ota.settings import load_settings
    from ota.verify import Selection, verify_archive

    try:
        settings = load_settings(
            config, overrides={"declarations": declarations, "snapshots": snapshots, "versions": versions}
        )
        start = None
        if since is not None:
            try:
                start = datetime.fromisoformat(since)
            except ValueError:
                raise SettingsError(
                    f"--since {since}: not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)"
                ) from None
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
    except SettingsError as error:
        raise _fail(str(error)) from error
    selection = Selection(frozenset(service or ()), frozenset(terms_type or ()), start)
    bar = _ProgressBar("verifying") if progress and sys.stderr.isatty() else None
    try:
        import asyncio

        report = asyncio.run(
            verify_archive(
                settings,
                selection=selection,
                on_total=bar.set_total if bar else None,
                on_progress=(lambda: bar.advance(None)) if bar else None,
            )
        )
    except (SettingsError, DeclarationError, RecordError) as error:
        raise _fail(str(error)) from error
    finally:
        if bar is not None:
            bar.stop()
    for line in report.summary_lines():
        typer.echo(line)
    if json_file is not None:
        try:
            report.write_json(json_file)
        except OSError as error:
            raise _fail(f"{json_file}: cannot be written: {error.strerror}") from error
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FAILURES)


@app.command()
def extract(
    declaration: Annotated[
        Path, typer.Argument(metavar="DECLARATION", help="The service declaration (SERVICE_ID.json).")
    ],
    terms_type: Annotated[
        str, typer.Argument(metavar="TERMS_TYPE", help='The terms type, e.g. "Privacy Policy".')
    ],
    snapshot: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PAGE",
            help="Saved page(s) or URL(s), one per source document, in declaration order "
            "(default: fetch the declared addresses).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the Markdown to this file.")
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option(help="Keep the fetched pages in this folder, named as ota names snapshots."),
    ] = None,
    readable: Annotated[
        bool,
        typer.Option(
            "--readable",
            help="For PDFs, readable text (pdfminer: words spaced, paragraphs by layout) instead of "
            "the engine's Markdown that ota records (pdf.js in Chromium).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print the Markdown ota would record for saved pages or live URLs (to test selectors)."""
    from ota.contrib.extracting import declared_pages, extract_terms_of, is_url, terms_of
    from ota.settings import load_settings

    try:
        terms, files = terms_of(declaration, terms_type)
    except (DeclarationError, SettingsError) as error:
        raise _fail(str(error)) from error
    given = snapshot or declared_pages(terms)
    try:
        # Saved files only need no settings: an ota.toml with an error does not stop them.
        settings = load_settings(config) if any(is_url(item) for item in given) else _quiet_settings(config)
    except SettingsError as error:
        raise _fail(str(error)) from error
    if save is not None:
        _refuse_repositories(save, settings)
    try:
        import asyncio

        extracted = asyncio.run(
            extract_terms_of(terms, files, given, settings=settings, save=save, readable=readable)
        )
    except SettingsError as error:
        raise _fail(str(error)) from error
    except OSError as error:
        raise _fail(f"{error.filename}: cannot be read or written: {error.strerror}") from error
    except OtaError as error:  # FetchError, ExtractError, DeclarationError of a filters file
        raise _fail(str(error), EXIT_FAILURES) from error
    if output is None:
        sys.stdout.write(extracted.markdown)
        if sys.stdout.isatty():
            sys.stdout.write("\n")
    else:
        try:
            output.write_text(extracted.markdown, "utf-8")
        except OSError as error:
            raise _fail(f"{output}: cannot be written: {error.strerror}") from error


def _quiet_settings(config: Path | None) -> Settings:
    """The settings when they matter little (extraction bounds only): the defaults if they are bad."""
    from ota.settings import Settings, load_settings

    try:
        return load_settings(config)
    except SettingsError:
        return Settings()


def _refuse_repositories(folder: Path, settings: Settings) -> None:
    """Contributor tools never write into the snapshots or versions repository."""
    target = folder.resolve()
    for name, repository in (("snapshots", settings.snapshots), ("versions", settings.versions)):
        if target == repository.resolve() or repository.resolve() in target.parents:
            raise _fail(
                f"{folder}: is in the {name} repository, which only `ota track` writes; choose another folder"
            )


DeclarationsOption = Annotated[
    Path | None, typer.Option(help="Declarations folder [./declarations, or as ota.toml says].")
]


@app.command()
def validate(
    service: Annotated[
        list[str] | None,
        typer.Argument(metavar="SERVICE_ID", help="Service IDs to check (default: every declaration)."),
    ] = None,
    terms_type: Annotated[
        list[str] | None,
        typer.Option(
            "--terms-type", "-t", metavar="TERMS_TYPE", help="Check only this terms type live (repeatable)."
        ),
    ] = None,
    schema_only: Annotated[
        bool, typer.Option("--schema-only", help="Check the files only; fetch nothing (much faster).")
    ] = False,
    modified: Annotated[
        bool,
        typer.Option(
            "--modified", help="Check only the declarations changed since the main branch, committed or not."
        ),
    ] = False,
    json_report: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON to this file (for CI).")
    ] = None,
    declarations: DeclarationsOption = None,
    config: ConfigOption = None,
) -> None:
    """Check declarations: every problem of every file at once, then each page live. Records nothing."""
    from ota.contrib.problems import Problem
    from ota.contrib.validate import validate as run_validation

    settings = _settings(config, {"declarations": declarations})

    def show(problem: Problem) -> None:
        typer.echo(f"{problem.severity}: {problem}")
        if problem.suggestion:
            typer.echo(f"  suggestion: {problem.suggestion}")

    try:
        import asyncio

        report = asyncio.run(
            run_validation(
                settings,
                services=service or (),
                terms_types=terms_type or (),
                schema_only=schema_only,
                modified=modified,
                on_problem=show,
            )
        )
    except (SettingsError, DeclarationError, RecordError) as error:
        raise _fail(str(error)) from error
    if modified and not report.services:
        typer.echo("no declaration changed since the main branch: nothing to check")
    typer.echo(report.summary())
    if json_report is not None:
        try:
            json_report.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")
        except OSError as error:
            raise _fail(f"{json_report}: cannot be written: {error.strerror}") from error
    raise typer.Exit(EXIT_FAILURES if report.errors else EXIT_OK)


@app.command()
def lint(
    service: Annotated[
        list[str] | None,
        typer.Argument(metavar="SERVICE_ID", help="Service IDs to lint (default: every declaration)."),
    ] = None,
    fix: Annotated[bool, typer.Option("--fix", help="Rewrite the files that are not formatted.")] = False,
    modified: Annotated[
        bool, typer.Option("--modified", help="Only the declarations changed since the main branch.")
    ] = False,
    declarations: DeclarationsOption = None,
    config: ConfigOption = None,
) -> None:
    """Check that declaration files are formatted as Open Terms Archive formats them (2 spaces…)."""
    from ota.contrib.lint import lint as lint_files

    settings = _settings(config, {"declarations": declarations})
    folder = settings.declarations
    if not folder.is_dir():
        raise _fail(f"{folder}: no such folder: expected the collection's declarations here")
    services = list(service or ())
    if services:
        from ota.collection import declaration_folder_files, unknown_service
        from ota.contrib.modified import declared_service_ids

        try:
            known = declared_service_ids(declaration_folder_files(folder))
        except DeclarationError as error:
            raise _fail(str(error)) from error
        for service_id in services:
            if service_id not in known:
                raise _fail(unknown_service(service_id, known, folder))
    if modified:
        from ota.contrib.modified import modified_terms

        try:
            changed = modified_terms(folder)
        except RecordError as error:
            raise _fail(str(error)) from error
        services = [name for name in changed if not services or name in services]
        if not services:
            typer.echo("no declaration changed since the main branch: nothing to lint")
            raise typer.Exit(EXIT_OK)
    results = lint_files(folder, services, fix=fix)
    for result in results:
        if result.status == "invalid":
            typer.echo(f"{result.path}: {result.reason}")
        elif result.status == "differs":
            typer.echo(f"{result.path}: not formatted as Open Terms Archive formats declarations")
        elif result.status == "fixed":
            typer.echo(f"{result.path}: formatted")
    differing = sum(1 for result in results if result.status == "differs")
    invalid = sum(1 for result in results if result.status == "invalid")
    fixed = sum(1 for result in results if result.status == "fixed")
    summary = f"{len(results)} file(s) checked: "
    summary += f"{fixed} formatted" if fix else f"{differing} to format (ota lint --fix formats them)"
    typer.echo(summary + (f", {invalid} not readable as JSON" if invalid else ""))
    raise typer.Exit(EXIT_FAILURES if differing or invalid else EXIT_OK)


@app.command()
def new(
    url: Annotated[str, typer.Argument(metavar="URL", help="The address of the page holding the terms.")],
    service: Annotated[
        str | None,
        typer.Option(
            "--service", metavar="SERVICE_ID", help="Service ID (default: from the page's site name)."
        ),
    ] = None,
    terms_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            metavar="TERMS_TYPE",
            help='Terms type (default: from the page\'s title), e.g. "Privacy Policy".',
        ),
    ] = None,
    browser: Annotated[
        bool, typer.Option("--browser", help="Render the page in a browser (executeClientScripts).")
    ] = False,
    write: Annotated[
        bool, typer.Option("--write", help="Write declarations/SERVICE_ID.json (never over an existing one).")
    ] = False,
    declarations: DeclarationsOption = None,
    config: ConfigOption = None,
) -> None:
    """Propose a declaration for a page: JSON on stdout, the Markdown ota would record on stderr."""
    from ota.collection import service_id_problem
    from ota.contrib.lint import format_json
    from ota.contrib.propose import propose
    from ota.declarations import STANDARD_TERMS_TYPES, declaration_errors
    from ota.schema.terms_types import suggest_terms_type

    settings = _settings(config, {"declarations": declarations})
    from ota.contrib.extracting import is_url, web_address_problem
    from ota.extras import require

    try:
        require("new")
    except SettingsError as error:
        raise _fail(str(error)) from error
    if not is_url(url):
        raise _fail(f"'{url}' is not a web address: it must start with http:// or https://")
    if problem := web_address_problem(url):
        raise _fail(f"'{url}' is not a web address: {problem}")
    if service is not None and (problem := service_id_problem(service)):
        raise _fail(f"--service: {problem}")
    allowed = (*STANDARD_TERMS_TYPES, *settings.extra_terms_types)
    if terms_type is not None and terms_type not in allowed:
        close = suggest_terms_type(terms_type, allowed)
        hint = f" (did you mean '{close}'?)" if close else ""
        raise _fail(f"unknown terms type '{terms_type}'{hint}; valid types are: {', '.join(sorted(allowed))}")
    page, pdf_text = _fetched_page(settings, url, browser)
    proposal = propose(
        page, url=url, service_id=service, terms_type=terms_type, browser=browser, pdf_text=pdf_text
    )
    text = format_json(proposal.declaration())
    sys.stdout.write(text)
    for note in proposal.notes:
        typer.echo(f"ota: {note}", err=True)
    if proposal.markdown is not None:
        typer.echo(proposal.markdown, err=True)
    if not write:
        return
    if problem := service_id_problem(proposal.service_id):
        raise _fail(f"not written: {problem}; choose another --service")
    path = settings.declarations / f"{proposal.service_id}.json"
    errors = declaration_errors(proposal.service_id, proposal.declaration(), path=path, terms_types=allowed)
    if errors:
        raise _fail(f"not written, the proposal needs correcting first: {errors[0]}", EXIT_FAILURES)
    if path.exists():
        raise _fail(
            f"{path}: exists, not overwritten; add the terms above to it by hand, "
            "or choose another --service",
            EXIT_FAILURES,
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:  # "x": never over a file created meanwhile
            file.write(text)
    except OSError as error:
        raise _fail(f"{path}: cannot be written: {error.strerror}") from error
    typer.echo(f"ota: wrote {path}", err=True)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Address to listen on [127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [3000].")] = None,
    declarations: Annotated[Path | None, typer.Option(help="Declarations folder [./declarations].")] = None,
    snapshots: Annotated[Path | None, typer.Option(help="Snapshots repository [./snapshots].")] = None,
    versions: Annotated[Path | None, typer.Option(help="Versions repository [./versions].")] = None,
    config: ConfigOption = None,
) -> None:
    """Serve the viewer, the Collection API and Atom feeds, read-only, while `ota track` runs."""
    from ota.web.app import serve as run_server

    settings = _settings(
        config,
        {
            "declarations": declarations,
            "snapshots": snapshots,
            "versions": versions,
            "serve.host": host,
            "serve.port": port,
        },
    )
    if settings.serve.host in ("0.0.0.0", "::", "[::]", ""):
        typer.echo(
            f"ota: warning: listening on every interface ({settings.serve.host or '*'}): whoever reaches "
            "this machine reaches the viewer; listen on 127.0.0.1 behind a reverse proxy to publish it",
            err=True,
        )
    try:
        run_server(
            settings,
            on_listening=lambda url: typer.echo(f"ota: serving {settings.versions} on {url}", err=True),
        )
    except RecordError as error:
        raise _fail(str(error)) from error
    except OSError as error:
        raise _fail(error.strerror or str(error)) from error


@app.command()
def dataset(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The ZIP file to write [TITLE-YYYY-MM-DD.zip, as OTA names it]."),
    ] = None,
    versions: Annotated[Path | None, typer.Option(help="Versions repository [./versions].")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
    config: ConfigOption = None,
) -> None:
    """Export every version as Open Terms Archive's dataset: a ZIP of Markdown files, README, LICENSE."""
    from ota.dataset import export_dataset

    settings = _settings(config, {"versions": versions})
    bar = _ProgressBar("exporting") if progress and sys.stderr.isatty() else None
    try:
        result = export_dataset(
            settings,
            output=output,
            on_total=bar.set_total if bar else None,
            on_version=bar.advance if bar else None,
        )
    except (RecordError, DeclarationError) as error:
        raise _fail(str(error)) from error
    except OSError as error:
        raise _fail(f"{error.filename or output}: cannot be written: {error.strerror}") from error
    finally:
        if bar is not None:
            bar.stop()
    typer.echo(f"{result.path}: {result.versions} versions of {result.services} services")


@app.command()
def compare(
    old: Annotated[Path, typer.Argument(help="The earlier version (Markdown).")],
    new: Annotated[Path, typer.Argument(help="The later version (Markdown).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the classification as JSON.")] = False,
) -> None:
    """Show what changed between two versions, word by word, and whether it matters (cosmetic,
    editorial or substantive, with the rules that fired)."""
    from ota.diff import diff_texts
    from ota.significance import classify, describe

    texts = []
    for path in (old, new):
        try:
            texts.append(path.read_bytes().decode("utf-8"))
        except OSError as error:
            raise _fail(f"{path}: cannot be read: {error.strerror}") from error
        except UnicodeDecodeError as error:
            raise _fail(f"{path}: is not UTF-8 text ({error.reason} at byte {error.start})") from error
    diff = diff_texts(texts[0], texts[1])
    result = classify(texts[0], texts[1])
    if as_json:
        body = {
            "significance": result.significance,
            "minor": result.minor,
            "reasons": [reason.to_dict() for reason in result.reasons],
            "words_added": diff.words_added,
            "words_removed": diff.words_removed,
            "words_changed": result.words_changed,
            "share": round(result.share, 4),
            "blocks": result.blocks,
            "ruleset": result.ruleset,
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    for hunk in diff.hunks():
        for block in hunk.blocks:
            if block.op == "equal":
                continue
            marked = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
            typer.echo("".join(marked[token.op].format(token.text) for token in block.tokens))
        typer.echo("")
    added, removed = diff.words_added, diff.words_removed
    typer.echo(f"+{added} word{'' if added == 1 else 's'}, -{removed} word{'' if removed == 1 else 's'}")
    typer.echo(describe(result))


def _fetched_page(settings: Settings, url: str, browser: bool) -> tuple[Page, bytes | ExtractError | None]:
    """The page at `url`, and for a PDF its text as pdf.js reads it in tracking (or why not)."""
    from ota.collection import FilterFiles
    from ota.declarations import SourceDocument
    from ota.extract import PDF_MIME_TYPE
    from ota.fetch import Fetcher

    async def fetch() -> tuple[Page, bytes | ExtractError | None]:
        async with Fetcher(settings.fetch) as fetcher:
            page = await fetcher.fetch(url, execute_client_scripts=True if browser else None)
            if page.mime_type != PDF_MIME_TYPE:
                return page, None
            try:
                prefilter = fetcher.prefilter(timeout=settings.extract_timeout)
                sources = [(SourceDocument(url), page.content, page.mime_type)]
                ((_, text, _),) = await prefilter(sources, FilterFiles())
            except ExtractError as error:
                return page, error
            return page, text

    try:
        import asyncio

        return asyncio.run(fetch())
    except FetchError as error:
        raise _fail(str(error), EXIT_FAILURES) from error


def _settings(config: Path | None, overrides: dict[str, Any]) -> Settings:
    """The settings (`overrides` by setting name, None for an option not given); a bad one is one
    line and exit 2."""
    from ota.settings import load_settings

    try:
        return load_settings(config, overrides=overrides)
    except SettingsError as error:
        raise _fail(str(error)) from error

