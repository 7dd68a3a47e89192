"""`ota extract`, `ota validate`, `ota lint` and `ota new`: the tools of contributors who write
declarations. None of them writes into the snapshots or versions repository."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ota.cli.common import ConfigOption, DeclarationsOption, fail, settings_of
from ota.errors import DeclarationError, ExtractError, FetchError, OtaError, RecordError, SettingsError
from ota.outcome import EXIT_FAILURES, EXIT_OK

if TYPE_CHECKING:
    from ota.fetch import Page
    from ota.settings import Settings


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
        raise fail(str(error)) from error
    given = snapshot or declared_pages(terms)
    try:
        # Saved files only need no settings: an ota.toml with an error does not stop them.
        settings = load_settings(config) if any(is_url(item) for item in given) else _quiet_settings(config)
    except SettingsError as error:
        raise fail(str(error)) from error
    if save is not None:
        _refuse_repositories(save, settings)
    try:
        import asyncio

        extracted = asyncio.run(
            extract_terms_of(terms, files, given, settings=settings, save=save, readable=readable)
        )
    except SettingsError as error:
        raise fail(str(error)) from error
    except OSError as error:
        raise fail(f"{error.filename}: cannot be read or written: {error.strerror}") from error
    except OtaError as error:  # FetchError, ExtractError, DeclarationError of a filters file
        raise fail(str(error), EXIT_FAILURES) from error
    if output is None:
        sys.stdout.write(extracted.markdown)
        if sys.stdout.isatty():
            sys.stdout.write("\n")
    else:
        try:
            output.write_text(extracted.markdown, "utf-8")
        except OSError as error:
            raise fail(f"{output}: cannot be written: {error.strerror}") from error


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
    for name, repository in (
        ("snapshots", settings.collection.snapshots),
        ("versions", settings.collection.versions),
    ):
        if target == repository.resolve() or repository.resolve() in target.parents:
            raise fail(
                f"{folder}: is in the {name} repository, which only `ota track` writes; choose another folder"
            )


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

    settings = settings_of(config, {"collection.declarations": declarations})

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
        raise fail(str(error)) from error
    if modified and not report.services:
        typer.echo("no declaration changed since the main branch: nothing to check")
    typer.echo(report.summary())
    if json_report is not None:
        try:
            json_report.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")
        except OSError as error:
            raise fail(f"{json_report}: cannot be written: {error.strerror}") from error
    raise typer.Exit(EXIT_FAILURES if report.errors else EXIT_OK)


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

    settings = settings_of(config, {"collection.declarations": declarations})
    folder = settings.collection.declarations
    if not folder.is_dir():
        raise fail(f"{folder}: no such folder: expected the collection's declarations here")
    services = list(service or ())
    if services:
        from ota.contrib.modified import declared_service_ids
        from ota.declarations.collection import declaration_folder_files, unknown_service

        try:
            known = declared_service_ids(declaration_folder_files(folder))
        except DeclarationError as error:
            raise fail(str(error)) from error
        for service_id in services:
            if service_id not in known:
                raise fail(unknown_service(service_id, known, folder))
    if modified:
        from ota.contrib.modified import modified_terms

        try:
            changed = modified_terms(folder)
        except RecordError as error:
            raise fail(str(error)) from error
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
    from ota.contrib.lint import format_json
    from ota.contrib.propose import propose
    from ota.declarations import STANDARD_TERMS_TYPES, declaration_errors
    from ota.declarations.collection import service_id_problem
    from ota.declarations.schema.terms_types import suggest_terms_type

    settings = settings_of(config, {"collection.declarations": declarations})
    from ota.contrib.extracting import is_url, web_address_problem
    from ota.extras import require

    try:
        require("new")
    except SettingsError as error:
        raise fail(str(error)) from error
    if not is_url(url):
        raise fail(f"'{url}' is not a web address: it must start with http:// or https://")
    if problem := web_address_problem(url):
        raise fail(f"'{url}' is not a web address: {problem}")
    if service is not None and (problem := service_id_problem(service)):
        raise fail(f"--service: {problem}")
    allowed = (*STANDARD_TERMS_TYPES, *settings.collection.terms_types)
    if terms_type is not None and terms_type not in allowed:
        close = suggest_terms_type(terms_type, allowed)
        hint = f" (did you mean '{close}'?)" if close else ""
        raise fail(f"unknown terms type '{terms_type}'{hint}; valid types are: {', '.join(sorted(allowed))}")
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
        raise fail(f"not written: {problem}; choose another --service")
    path = settings.collection.declarations / f"{proposal.service_id}.json"
    errors = declaration_errors(proposal.service_id, proposal.declaration(), path=path, terms_types=allowed)
    if errors:
        raise fail(f"not written, the proposal needs correcting first: {errors[0]}", EXIT_FAILURES)
    if path.exists():
        raise fail(
            f"{path}: exists, not overwritten; add the terms above to it by hand, "
            "or choose another --service",
            EXIT_FAILURES,
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:  # "x": never over a file created meanwhile
            file.write(text)
    except OSError as error:
        raise fail(f"{path}: cannot be written: {error.strerror}") from error
    typer.echo(f"ota: wrote {path}", err=True)


def _fetched_page(settings: Settings, url: str, browser: bool) -> tuple[Page, bytes | ExtractError | None]:
    """The page at `url`, and for a PDF its text as pdf.js reads it in tracking (or why not)."""
    from ota.declarations import SourceDocument
    from ota.declarations.collection import FilterFiles
    from ota.extract import PDF_MIME_TYPE
    from ota.fetch import Fetcher, FetchMode

    async def fetch() -> tuple[Page, bytes | ExtractError | None]:
        async with Fetcher(settings.fetch) as fetcher:
            page = await fetcher.fetch(url, mode=FetchMode.BROWSER if browser else FetchMode.AUTO)
            if page.mime_type != PDF_MIME_TYPE:
                return page, None
            try:
                prefilter = fetcher.prefilter(timeout=settings.track.extract_timeout)
                sources = [(SourceDocument(url), page.content, page.mime_type)]
                ((_, text, _),) = await prefilter(sources, FilterFiles())
            except ExtractError as error:
                return page, error
            return page, text

    try:
        import asyncio

        return asyncio.run(fetch())
    except FetchError as error:
        raise fail(str(error), EXIT_FAILURES) from error
