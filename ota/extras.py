"""Optional dependencies, installed as extras of the package (`pip install 'ota[notify]'`), and
the one line said when a feature needs one that is missing.

    notify       apprise           notifications ([notify] urls)
    new          readability-lxml  `ota new`, which finds a page's main content
    timestamps   rfc3161-client    trusted timestamps ([timestamps] authority, `ota verify`)

`require` only looks the module up (no import): callers import it where they use it.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Literal

from ota.errors import MissingExtra

Extra = Literal["notify", "new", "timestamps"]

#: extra → (the module it provides, the package that ships it, what needs it, as a subject with its verb)
EXTRAS: dict[Extra, tuple[str, str, str]] = {
    "notify": ("apprise", "apprise", "notifications need"),
    "new": ("readability", "readability-lxml", "`ota new` needs"),
    "timestamps": ("rfc3161_client", "rfc3161-client", "timestamps need"),
}


def require(extra: Extra) -> None:
    """Raise MissingExtra, naming the pip command that installs it, when `extra` is not installed."""
    module, package, needed_by = EXTRAS[extra]
    if find_spec(module) is None:
        raise MissingExtra(f"{needed_by} {package}: pip install 'ota[{extra}]'")
