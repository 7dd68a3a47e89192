"""The `ota` command: each subcommand parses, calls one library function, prints, and exits.

tracking.py       ota track (once, or on a schedule), ota status
archive.py        ota verify, ota serve, ota dataset, ota compare
contributors.py   ota extract, ota validate, ota lint, ota new
common.py         what they share: options, failures in one line, settings, the progress bar

Exit codes: 0 when everything asked was done, 1 when some of it failed (the rest was done),
2 when nothing could run (bad settings, no declarations folder, unwritable repository).
"""

from __future__ import annotations

# Modules are imported by the commands that use them (asyncio, httpx, pygit2, Playwright…), so that
# `ota --version` and `ota status` start in a few tens of milliseconds.
from typing import Annotated

import typer

from ota import __version__
from ota.cli import archive, contributors, tracking

app = typer.Typer(
    name="ota",
    help="Track the terms of online services and keep every change as evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: typer's rich help shows every flag as taking a `<bool>` value.
    rich_markup_mode=None,
)


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


# Registered one by one, in the order `ota --help` lists them.
app.command()(tracking.track)
app.command()(tracking.status)
app.command()(archive.verify)
app.command()(contributors.extract)
app.command()(contributors.validate)
app.command()(contributors.lint)
app.command()(contributors.new)
app.command()(archive.serve)
app.command()(archive.dataset)
app.command()(archive.compare)
