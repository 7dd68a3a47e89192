"""`ota dataset`: every version of the collection in Open Terms Archive's dataset layout, as a ZIP.

    TITLE-YYYY-MM-DD/README.md
    TITLE-YYYY-MM-DD/LICENSE                              the ODbL 1.0, as OTA ships it
    TITLE-YYYY-MM-DD/SERVICE_ID/TERMS TYPE/YYYY-MM-DDTHH-MM-SSZ.md

As OTA's engine (14.1) does: every record is exported, technical upgrades included, oldest first;
services and terms types are renamed by the engine's rules (`renaming.py`: Grok's versions are filed
under `xAI/`, OpenAI's under both `ChatGPT/` and `DALL·E/`); files are named by the version's date
and readable by all (0644); the README counts the (renamed) services and gives the first and last
dates. The archive is written as the history is read, one version at a time, so memory does not
grow with the history; it is written beside its destination and renamed when complete.

Where ota differs on purpose: two versions filed under one name (one terms' versions dated the same
second, a technical upgrade and the change right after it, README's "How records are dated"; or
two old names renamed into one) would be two ZIP entries with one name. The engine writes both,
the newer first (it sorts `git log`'s newest-first list by date, a stable sort), so unpacking its
archive leaves the older one; ota writes one, the newer, which is the version in force at that
date. A commit that is not a record (its subject is not one of OTA's) is not exported (OTA selects
records with `git log --grep`, which matches those words anywhere in a message). Without a versions
repository URL (metadata.yml's `versions`), the README leaves out the sentence linking to it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from ota.dataset.renaming import Rules, engine_rules, rename
from ota.declarations.collection import Collection, load_collection
from ota.errors import DeclarationError, RecordError
from ota.settings import Settings
from ota.store.reader import Change, RepositoryReader
from ota.store.records import kind_of, parse_version_path

_LICENSE = "ODbL-1.0.md"
#: Regular files readable by all (the engine's archiver writes 0644; zipfile's default is 0600).
_FILE_MODE = 0o100644 << 16


@dataclass(frozen=True)
class Exported:
    """What `export_dataset` wrote."""

    path: Path
    versions: int
    services: int
    first: datetime | None
    last: datetime | None


def long_date(date: datetime) -> str:
    """`November 3, 2025`, as OTA's `toLocaleDateString('en-EN', {month: 'long'…})` writes it."""
    return f"{date:%B} {date.day}, {date.year}"


def readme(
    *, title: str, release: datetime, services: int, first: datetime, last: datetime, versions_url: str
) -> str:
    """The dataset's README.md: OTA's text, with this dataset's figures."""
    explore = (
        "This dataset is tailored for datascientists and other analysts. You can also explore all these "
        f"versions interactively on [{versions_url}]({versions_url}).\n\n"
        if versions_url
        else "This dataset is tailored for datascientists and other analysts.\n\n"
    )
    return (
        f"# Open Terms Archive — {title} — {long_date(release)}\n\n"
        f"This dataset consolidates the contractual documents of {services} service providers, in all their "
        f"versions that were accessible online between {long_date(first)} and {long_date(last)}.\n\n"
        f"{explore}"
        "It has been generated with [Open Terms Archive](https://opentermsarchive.org).\n\n"
        "### Dataset format\n\n"
        "This dataset represents each version of a document as a separate "
        "[Markdown](https://spec.commonmark.org/0.30/) file, nested in a directory with the name of the "
        "service provider and in a directory with the name of the terms type. The filesystem layout will "
        "look like below.\n\n"
        "```\n"
        "├ README.md\n"
        "├┬ Service provider 1 (e.g. Facebook)\n"
        "│├┬ Terms type 1 (e.g. Terms of Service)\n"
        "││├ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2021-08-01T01-03-12Z.md)\n"
        "┆┆┆\n"
        "││└ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2021-10-03T08-12-25Z.md)\n"
        "┆┆\n"
        "│└┬ Terms type X (e.g. Privacy Policy)\n"
        "│ ├ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2021-05-02T03-02-15Z.md)\n"
        "┆ ┆\n"
        "│ └ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2021-11-14T12-36-45Z.md)\n"
        "┆\n"
        "└┬ Service provider Y (e.g. Google)\n"
        " ├┬ Terms type 1 (e.g. Developer Terms)\n"
        " │├ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2019-03-12T04-18-22Z.md)\n"
        " ┆┆\n"
        " │└ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2021-12-04T22-47-05Z.md)\n"
        " └┬ Terms type Z (e.g. Privacy Policy)\n"
        "  ┆\n"
        "  ├ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2021-05-02T03-02-15Z.md)\n"
        "  ┆\n"
        "  └ YYYY-DD-MMTHH-MM-SSZ.md (e.g. 2021-11-14T12-36-45Z.md)\n"
        "```\n\n"
        "### License\n\n"
        "This dataset is made available under an [Open Database (OdBL) License]"
        "(https://opendatacommons.org/licenses/odbl/1.0/) by Open Terms Archive Contributors.\n"
    )


def license_text() -> bytes:
    """The Open Database License 1.0 (Open Data Commons' text)."""
    return resources.files("ota.dataset").joinpath(_LICENSE).read_bytes()


def version_file(service_id: str, terms_type: str, date: datetime) -> str:
    """`SERVICE_ID/TERMS TYPE/2024-01-31T12-00-00Z.md`."""
    return f"{service_id}/{terms_type}/{date.astimezone(UTC):%Y-%m-%dT%H-%M-%SZ}.md"


def default_name(title: str, release: datetime) -> str:
    """OTA's archive name: `TITLE-YYYY-MM-DD.zip`, the title lowercased and any character but ASCII
    letters, digits, `.`, `-` and `_` written `-` (one per UTF-16 unit, as JavaScript's `replace`)."""
    lowered = title.lower()
    kept = {char for char in lowered if char.isascii() and (char.isalnum() or char in ".-_")}
    sanitized = "".join(char if char in kept else "-" * (2 if ord(char) > 0xFFFF else 1) for char in lowered)
    return f"{sanitized}-{release.astimezone(UTC):%Y-%m-%d}.zip"


def export_dataset(
    settings: Settings,
    *,
    output: Path | None = None,
    release: datetime | None = None,
    on_total: Callable[[int], None] | None = None,
    on_version: Callable[[object], None] | None = None,
) -> Exported:
    """Write the dataset of `settings.collection.versions` to `output` (default: OTA's name, here).

    Raises `RecordError` when there is no versions repository or it has no versions yet, `OSError`
    when the file cannot be written (nothing is left behind then)."""
    release = release or datetime.now(UTC)
    reader = RepositoryReader.open(settings.collection.versions)
    metadata = _metadata(settings)
    title = settings.dataset.title or str(metadata.get("name") or metadata.get("id") or "ota")
    path = output if output is not None else Path(default_name(title, release))
    folder = path.name[: -len(".zip")] if path.name.endswith(".zip") else path.name
    records = _entries(reader, engine_rules())
    if not records:
        raise RecordError(settings.collection.versions, "has no versions yet: no dataset written")
    if on_total is not None:
        on_total(len(records))
    services: set[str] = set()
    first = last = None
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for service_id, name, change in records:
                services.add(service_id)
                first = change.date if first is None or change.date < first else first
                last = change.date if last is None or change.date > last else last
                entry = _info(f"{folder}/{name}", change.date.timetuple())
                archive.writestr(entry, reader.blob(change.blob_id))  # type: ignore[arg-type]
                if on_version is not None:
                    on_version(change)
            now = release.timetuple()[:6]
            text = readme(
                title=title,
                release=release,
                services=len(services),
                first=first or release,
                last=last or datetime(1970, 1, 1, tzinfo=UTC),
                versions_url=str(metadata.get("versions") or ""),
            )
            archive.writestr(_info(f"{folder}/README.md", now), text.encode("utf-8"))
            archive.writestr(_info(f"{folder}/LICENSE", now), license_text())
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename == str(temporary):
            # the user named the archive, not our temporary file beside it
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise
    return Exported(path, len(records), len(services), first, last)


def _entries(reader: RepositoryReader, rules: Rules) -> list[tuple[str, str, Change]]:
    """(service ID, file name, version) to export, named and ordered as the engine does: records
    only, renamed by `rules`, by date, versions of one second newest first (the engine sorts `git
    log`'s newest-first list by date, a stable sort); one per file name (the newest commit)."""
    chosen: dict[str, tuple[str, str, Change]] = {}
    for change in reader.log():
        terms = parse_version_path(change.path)
        if change.blob_id is None or terms is None or kind_of(change.subject) is None:
            continue
        for service_id, terms_type in rename(*terms, rules):
            name = version_file(service_id, terms_type, change.date)
            chosen[name] = (service_id, name, change)  # a later commit wins
    return sorted(chosen.values(), key=lambda entry: (entry[2].date, -entry[2].order))


def _info(name: str, date_time: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time[:6])  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = _FILE_MODE
    return info


def _metadata(settings: Settings) -> dict[str, object]:
    """metadata.yml; DeclarationError when it is there but cannot be used (one line naming it)."""
    try:
        collection: Collection = load_collection(settings.collection.declarations, services=())
    except DeclarationError:
        return {}
    for error in collection.errors:
        if error.path.name == "metadata.yml":
            raise error
    return dict(collection.metadata or {})
