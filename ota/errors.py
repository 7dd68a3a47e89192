"""The exceptions ota raises, one family per layer.

    OtaError
    ├── SettingsError        a bad setting (ota.toml, environment, command-line option)
    │   └── MissingExtra     a feature needs an optional dependency not installed (ota.extras)
    ├── DeclarationError     a declaration file that cannot be read or is invalid (path, field)
    ├── FetchError           a page that could not be fetched (url, status, transient)
    ├── ExtractError         a page from which no terms could be extracted (message in OTA's words)
    ├── SuspectChange        a new version that looks wrong, awaiting confirmation
    └── RecordError          a git repository that could not be read or written (repo)
        └── RepositoryInUse  another ota process holds the repository

Third-party exceptions (httpx, pygit2, lexbor, pdfminer) are translated at the module that calls
the library, so nothing above an edge handles them.
"""

from __future__ import annotations

from pathlib import Path


class OtaError(Exception):
    """Base of every error ota raises on purpose."""


class SettingsError(OtaError):
    """A setting has a value ota cannot use."""


class MissingExtra(SettingsError):
    """A feature asked for needs an optional dependency that is not installed; the message names the
    extra that installs it (`notifications need apprise: pip install 'ota[notify]'`)."""


class DeclarationError(OtaError):
    """A declaration file is unreadable or invalid.

    The message reads `declarations/Foo.json: terms › Privacy Policy › select: <what is wrong>`.
    """

    def __init__(self, path: Path | str, message: str, field: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.field = field
        self.reason = message
        location = f"{self.path}: " + (" › ".join(field) + ": " if field else "")
        super().__init__(location + message)

    def __reduce__(self) -> tuple[type, tuple[Path, str, tuple[str, ...]]]:
        return type(self), (self.path, self.reason, self.field)  # errors cross process boundaries


class FetchError(OtaError):
    """A page could not be fetched; the message uses OTA's words, which reports match on."""

    def __init__(self, url: str, message: str, *, status: int | None = None, transient: bool = False) -> None:
        self.url = url
        self.status = status
        self.transient = transient
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return _rebuild_fetch_error, (self.url, str(self), self.status, self.transient)


class ExtractError(OtaError):
    """No Markdown could be extracted from a snapshot; the message uses OTA's words."""


class SuspectChange(OtaError):
    """A new version that looks wrong (a block page, most of the text gone), not recorded until a
    second fetch confirms it; the message says why."""


class RecordError(OtaError):
    """A snapshots or versions repository could not be read or written."""

    def __init__(self, repo: Path | str, message: str) -> None:
        self.repo = Path(repo)
        self.reason = message
        super().__init__(f"{self.repo}: {message}")

    def __reduce__(self) -> tuple[type, tuple[Path, str]]:
        return type(self), (self.repo, self.reason)


class RepositoryInUse(RecordError):
    """Another ota process holds the repository's lock: a run overlapping another, not a fault."""


def _rebuild_fetch_error(url: str, message: str, status: int | None, transient: bool) -> FetchError:
    return FetchError(url, message, status=status, transient=transient)
