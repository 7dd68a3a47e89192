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
    config: ConfigOption = None,
) -> None:
    """Fetch every declared terms, record new snapshots and versions, and summarise the run."""
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
            },
        )
    except SettingsError as error:
        raise _fail(str(error)) from error
    if schedule:
        from ota.schedule import run_on_schedule

        try:
            run_on_schedule(settings, services=service or (), terms_types=terms_type or ())
        except OtaError as error:
            raise _fail(str(error)) from error
        return
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
        raise _fail(str(error)) from error
    finally:
        if bar is not None:
            bar.stop()
    for line in summary_lines(report):
        typer.echo(line)
    raise typer.Exit(EXIT_FAILURES if report.failed else EXIT_OK)


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
        list[str] | None, typer.Option("--service", "-s", help="Check only this service ID (repeatable).")
    ] = None,
    terms_type: Annotated[
        list[str] | None, typer.Option("--terms-type", "-t", help="Check only this terms type (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Check only the versions dated from this date (YYYY-MM-DD[THH:MM:SS]).")
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
    from datetime import UTC, datetime

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
