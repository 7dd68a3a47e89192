"""`python -m ota`: the `ota` command."""

from ota.cli import app

app(prog_name="ota")
