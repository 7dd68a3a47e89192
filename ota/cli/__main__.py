"""`python -m ota.cli`: the `ota` command."""

from ota.cli import app

app()
