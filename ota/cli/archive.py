"""`ota verify`, `ota serve`, `ota dataset` and `ota compare`: reading what was recorded."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ota.cli.common import ConfigOption, ProgressBar, fail, settings_of
from ota.errors import DeclarationError, RecordError, SettingsError
from ota.outcome import EXIT_FAILURES, EXIT_OK


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
            config,
            overrides={
                "collection.declarations": declarations,
                "collection.snapshots": snapshots,
                "collection.versions": versions,
            },
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
        raise fail(str(error)) from error
    selection = Selection(frozenset(service or ()), frozenset(terms_type or ()), start)
    bar = ProgressBar("verifying") if progress and sys.stderr.isatty() else None
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
        raise fail(str(error)) from error
    finally:
        if bar is not None:
            bar.stop()
    for line in report.summary_lines():
        typer.echo(line)
    if json_file is not None:
        try:
            report.write_json(json_file)
        except OSError as error:
            raise fail(f"{json_file}: cannot be written: {error.strerror}") from error
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FAILURES)


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

    settings = settings_of(
        config,
        {
            "collection.declarations": declarations,
            "collection.snapshots": snapshots,
            "collection.versions": versions,
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
            on_listening=lambda url: typer.echo(
                f"ota: serving {settings.collection.versions} on {url}", err=True
            ),
        )
    except RecordError as error:
        raise fail(str(error)) from error
    except OSError as error:
        raise fail(error.strerror or str(error)) from error


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

    settings = settings_of(config, {"collection.versions": versions})
    bar = ProgressBar("exporting") if progress and sys.stderr.isatty() else None
    try:
        result = export_dataset(
            settings,
            output=output,
            on_total=bar.set_total if bar else None,
            on_version=bar.advance if bar else None,
        )
    except (RecordError, DeclarationError) as error:
        raise fail(str(error)) from error
    except OSError as error:
        raise fail(f"{error.filename or output}: cannot be written: {error.strerror}") from error
    finally:
        if bar is not None:
            bar.stop()
    typer.echo(f"{result.path}: {result.versions} versions of {result.services} services")


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
            raise fail(f"{path}: cannot be read: {error.strerror}") from error
        except UnicodeDecodeError as error:
            raise fail(f"{path}: is not UTF-8 text ({error.reason} at byte {error.start})") from error
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
