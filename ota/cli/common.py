"""What the commands of `ota` share: their options, the one line and exit code of a failure, the
settings, the progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ota.errors import SettingsError
from ota.outcome import EXIT_CANNOT_RUN

if TYPE_CHECKING:
    from ota.settings import Settings

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="ota.toml to read (default: OTA_CONFIG, else ./ota.toml).")
]

DeclarationsOption = Annotated[
    Path | None, typer.Option(help="Declarations folder [./declarations, or as ota.toml says].")
]


def fail(message: str, code: int = EXIT_CANNOT_RUN) -> typer.Exit:
    """Say what went wrong in one line on stderr; the exit to raise."""
    typer.echo(f"ota: {message}", err=True)
    return typer.Exit(code)


def settings_of(config: Path | None, overrides: dict[str, Any]) -> Settings:
    """The settings (`overrides` by setting name, None for an option not given); a bad one is one
    line and exit 2."""
    from ota.settings import load_settings

    try:
        return load_settings(config, overrides=overrides)
    except SettingsError as error:
        raise fail(str(error)) from error


class ProgressBar:
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
