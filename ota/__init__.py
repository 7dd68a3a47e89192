"""ota: track the terms of online services and keep every change as evidence."""

import sys

__version__ = "0.1.0"

# httpx imports its command-line client (click, rich, pygments: a fifth of the modules `ota track`
# loads) whenever those happen to be installed, as typer's and uvicorn's dependencies are; ota never
# runs it. An entry of None makes that one import fail, and httpx then defines a stub instead.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "not importable"
