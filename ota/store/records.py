"""Snapshots and versions, recorded in git exactly as Open Terms Archive records them.

This module owns OTA's formats (OTA-FORMATS §6): file paths, commit subjects, bodies and trailers,
both ways: it writes them, and it parses them again for every reader (the viewer's index, verify,
the dataset export), ota's and OTA's older engines' formats alike. The messages are built the way
OTA's engine builds them and then stored the way `git commit -m` stores them (paragraphs separated
by one blank line, a final newline), so `git log` shows the same text for a record written by
either engine. Git itself is driven by `ota.store.repository.Repository`.

    SERVICE_ID/TERMS TYPE.html                 snapshot of a single source document (.pdf…)
    SERVICE_ID/TERMS TYPE #DOCUMENT_ID.html    snapshot of one source document of combined terms
    SERVICE_ID/TERMS TYPE.md                   version
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from ota.declarations import SourceDocument, Terms
from ota.outcome import Kind, Recorded
from ota.settings import DEFAULT_LINK_TEMPLATE, SNAPSHOT_ID_MARKER

if TYPE_CHECKING:  # the tracking process names these functions; git runs in the recording process
    from ota.store.repository import Repository

FIRST_RECORD = "First record of"
CHANGE = "Record new changes of"
#: The trailer of a snapshot's commit that says the HTTP status its page was served with (ota's).
FETCH_STATUS = "x-fetch-status"
TECHNICAL_UPGRADE = "Apply technical or declaration upgrade on"
_SINGLE_SOURCE = "This version was recorded after extracting from snapshot"
_MULTIPLE_SOURCES = (
    "This version was recorded after extracting from and assembling the following snapshots "
    "from {count} source documents:"
)
_DOCUMENT_ID_SEPARATOR = " #"
_SOURCES_PREFIX = "This version was recorded after extracting from"
_COMMIT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])")
#: The paragraph naming the snapshots, in every engine's words ("extracting from", "filtering").
_ANY_SOURCES_PREFIX = "This version was recorded after"
#: A cited snapshot: a full id, or an id (abbreviated by older engines) in a link to a commit.
_ANY_CITED = re.compile(r"/commit/([0-9a-f]{7,40})(?![0-9a-z])|(?<![0-9a-z])([0-9a-f]{40})(?![0-9a-z])")
_SOURCE_COUNT = re.compile(r"following snapshots from (\d+) source documents:")
_TRAILER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*): (.+)$")
_VERSION_EXTENSION = ".md"

# OTA uses the `mime` package (with `text/markdown` → `md`); XHTML is kept as `.html` so that a page
# served either way stays one file. Unknown types get a family default, never OTA's `*`.
_EXTENSIONS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/markdown": "md",
    "text/plain": "txt",
    "application/json": "json",
    "application/ld+json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
    "application/rtf": "rtf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
}

#: What a record commit is, as its subject says.
RecordKind = Literal["first", "change", "upgrade"]
#: Subject prefixes by the kind of record they announce; OTA's older engines' after ota's.
SUBJECT_PREFIXES: dict[str, RecordKind] = {
    FIRST_RECORD: "first",
    CHANGE: "change",
    TECHNICAL_UPGRADE: "upgrade",
    "Start tracking": "first",
    "Update": "change",
    "Refilter": "upgrade",
}
Fetcher = Literal["htmlOnly", "fullDom"]


@dataclass(frozen=True)
class Recording:
    """How versions are written: the engine named in their trailers and the snapshot links."""

    engine_version: str
    link_template: str = DEFAULT_LINK_TEMPLATE


def extension_for(mime_type: str) -> str:
    """The file extension OTA gives a MIME type (parameters such as `; charset=…` are ignored)."""
    essence = mime_type.split(";", 1)[0].strip().lower()
    if essence in _EXTENSIONS:
        return _EXTENSIONS[essence]
    if essence.endswith("+xml"):
        return "xml"
    if essence.endswith("+json"):
        return "json"
    return "txt" if essence.startswith("text/") else "bin"


def snapshot_path(terms: Terms, document: SourceDocument, mime_type: str) -> str:
    """`SERVICE_ID/TERMS TYPE.ext`, with ` #DOCUMENT_ID` before the extension for combined terms."""
    document_id = _document_id(terms, document)
    suffix = f"{_DOCUMENT_ID_SEPARATOR}{document_id}" if document_id else ""
    return f"{terms.service_id}/{terms.type}{suffix}.{extension_for(mime_type)}"


def version_path(terms: Terms) -> str:
    """`SERVICE_ID/TERMS TYPE.md`."""
    return version_path_for(terms.service_id, terms.type)


def version_path_for(service_id: str, terms_type: str) -> str:
    """`SERVICE_ID/TERMS TYPE.md`: the file of a terms in the versions repository."""
    return f"{service_id}/{terms_type}{_VERSION_EXTENSION}"


def parse_version_path(path: str) -> tuple[str, str] | None:
    """(service ID, terms type) of a version file `SERVICE_ID/TERMS TYPE.md`, or None for another file."""
    service_id, slash, name = path.partition("/")
    if not slash or "/" in name or not name.endswith(_VERSION_EXTENSION) or name == _VERSION_EXTENSION:
        return None
    return service_id, name[: -len(_VERSION_EXTENSION)]


def parse_snapshot_path(path: str) -> tuple[str, str] | None:
    """(service ID, terms type) of a snapshot file (`SERVICE_ID/TERMS TYPE[ #DOCUMENT_ID].ext`), or None."""
    service_id, _, name = path.partition("/")
    if not name or "/" in name:
        return None
    if _DOCUMENT_ID_SEPARATOR in name:
        return service_id, name.split(_DOCUMENT_ID_SEPARATOR, 1)[0]
    return service_id, name.rsplit(".", 1)[0]


def subject(terms: Terms, *, first_record: bool, technical_upgrade: bool = False) -> str:
    """The commit subject; a first record is never called an upgrade (as in OTA)."""
    prefix = FIRST_RECORD if first_record else TECHNICAL_UPGRADE if technical_upgrade else CHANGE
    return f"{prefix} {terms.service_id} {terms.type}"


def snapshot_message(
    terms: Terms,
    document: SourceDocument,
    *,
    first_record: bool,
    engine_version: str,
    fetcher: Fetcher | str,
    status: int | None = None,
) -> str:
    """The commit message of a snapshot: subject, `Document ID` (combined terms only), trailers.

    After OTA's three trailers, ota adds `X-fetch-status: 200`, the HTTP status the page was served
    with, when it is known: OTA reads a commit's trailers into its record's metadata and uses none
    but its own, so its tools read these snapshots as their own."""
    document_id = _document_id(terms, document)
    trailers = {
        "x-engine-version": engine_version,
        "x-fetcher": fetcher,
        "x-source-document-location": document.location,
        FETCH_STATUS: "" if status is None else str(status),
    }
    return _message(
        subject(terms, first_record=first_record),
        f"Document ID {document_id}" if document_id else "",
        _trailers(trailers),
    )


def version_message(
    terms: Terms,
    *,
    first_record: bool,
    snapshot_ids: Sequence[str],
    engine_version: str,
    link_template: str = DEFAULT_LINK_TEMPLATE,
    technical_upgrade: bool = False,
    note: str = "",
) -> str:
    """The commit message of a version: subject, the snapshots it was extracted from, trailers.

    One snapshot gives one sentence; several (combined terms) give a list, in declaration order.
    A `note` (what a reader of this version should know) is a paragraph before the trailers.
    """
    links = [link_template.replace(SNAPSHOT_ID_MARKER, snapshot_id) for snapshot_id in snapshot_ids]
    if len(links) == 1:
        sources = f"{_SINGLE_SOURCE} {links[0]}"
    elif links:
        sources = "\n".join([_MULTIPLE_SOURCES.format(count=len(links)), *(f"- {link}" for link in links)])
    else:
        sources = ""
    return _message(
        subject(terms, first_record=first_record, technical_upgrade=technical_upgrade),
        sources,
        note,
        _trailers({"x-engine-version": engine_version}),
    )


def record_snapshot(
    repo: Repository,
    terms: Terms,
    document: SourceDocument,
    content: bytes,
    *,
    mime_type: str,
    fetch_date: datetime,
    fetcher: Fetcher | str,
    engine_version: str,
    status: int | None = None,
) -> Recorded:
    """Commit the snapshot of one source document, dated `fetch_date`, unless its bytes are unchanged;
    `status` is the HTTP status it was served with (a trailer), when known."""
    path = snapshot_path(terms, document, mime_type)
    first = path not in repo
    message = snapshot_message(
        terms, document, first_record=first, engine_version=engine_version, fetcher=fetcher, status=status
    )
    commit_id = repo.commit(path, content, message=message, date=fetch_date)
    return _recorded(repo, path, commit_id, fetch_date, first=first, technical_upgrade=False)


def record_version(
    repo: Repository,
    terms: Terms,
    markdown: str,
    *,
    snapshot_ids: Sequence[str],
    date: datetime,
    engine_version: str,
    link_template: str = DEFAULT_LINK_TEMPLATE,
    technical_upgrade: bool = False,
    note: str = "",
) -> Recorded:
    """Commit the version of `terms` extracted from `snapshot_ids`, unless its text is unchanged.

    `date` is the fetch date of the newest cited snapshot (OTA dated combined terms' versions with an
    older one); a technical upgrade is dated like any version, by the snapshots it comes from.
    """
    path = version_path(terms)
    first = path not in repo
    message = version_message(
        terms,
        first_record=first,
        snapshot_ids=snapshot_ids,
        engine_version=engine_version,
        link_template=link_template,
        technical_upgrade=technical_upgrade,
        note=note,
    )
    commit_id = repo.commit(path, markdown.encode("utf-8"), message=message, date=date)
    return _recorded(repo, path, commit_id, date, first=first, technical_upgrade=technical_upgrade)


def cited_snapshot_ids(message: str) -> list[str]:
    """The snapshot commit ids a version's message cites, in order (ota's and OTA's formats).

    They are found in the paragraph that names the snapshots, whatever the link template around
    each id: a bare id, or a link to the snapshots repository's commit page.
    """
    for paragraph in message.split("\n\n"):
        if paragraph.lstrip().startswith(_SOURCES_PREFIX):
            return _COMMIT_ID.findall(paragraph)
    return []


def cited_snapshots_any_engine(message: str) -> list[str]:
    """The snapshot ids a version's message cites in ota's or any OTA engine's format, whatever the
    link around them (older engines cite abbreviated ids, in links to other repositories' commits)."""
    found = cited_snapshot_ids(message)
    if found:
        return found
    for paragraph in message.split("\n\n"):
        if paragraph.lstrip().startswith(_ANY_SOURCES_PREFIX):
            return [match.group(1) or match.group(2) for match in _ANY_CITED.finditer(paragraph)]
    return []


def declared_source_count(message: str) -> int | None:
    """How many source documents a version's message says it was assembled from (None: it does not say)."""
    count = _SOURCE_COUNT.search(message)
    return int(count.group(1)) if count is not None else None


def kind_of(subject: str) -> RecordKind | None:
    """The kind of record a commit subject announces (ota's and OTA's older subjects), None for another."""
    for prefix, kind in SUBJECT_PREFIXES.items():
        if subject.startswith(f"{prefix} "):
            return kind
    return None


def record_kind(subject: str, service_id: str, terms_type: str) -> RecordKind | None:
    """The kind of record a subject announces if it is exactly a record's subject for these terms."""
    for prefix, kind in SUBJECT_PREFIXES.items():
        if subject == f"{prefix} {service_id} {terms_type}":
            return kind
    return None


def trailers(message: str) -> dict[str, str]:
    """The trailers of a message's last paragraph (`Key: value` lines), keys lowercased; {} when none."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    matches = [_TRAILER.match(line) for line in paragraphs[-1].strip().splitlines()]
    if not all(matches):
        return {}
    return {m.group(1).lower(): m.group(2).strip() for m in matches if m is not None}


def _document_id(terms: Terms, document: SourceDocument) -> str:
    # Only documents of combined terms are told apart in file names and messages (as in OTA).
    return (document.id or "") if terms.combined else ""


def _recorded(
    repo: Repository,
    path: str,
    commit_id: str | None,
    date: datetime,
    *,
    first: bool,
    technical_upgrade: bool,
) -> Recorded:
    if commit_id is not None:
        kind: Kind = "first" if first else "upgrade" if technical_upgrade else "change"
        return Recorded(kind, commit_id, path, date.astimezone(UTC).replace(microsecond=0))
    current = repo.last_change(path)
    assert current is not None  # unchanged bytes: the path has a record
    return Recorded("unchanged", current[0], path, current[1])


def fetch_status(message: str) -> int | None:
    """The HTTP status a snapshot's page was served with (its `X-fetch-status` trailer), or None
    when its commit does not say it (OTA's snapshots, and ota's before it recorded it)."""
    value = trailers(message).get(FETCH_STATUS, "")
    return int(value) if value.isdigit() and len(value) == 3 else None


def _trailers(values: dict[str, str]) -> str:
    """`Key: value` lines as OTA's formatTrailers writes them (`X-engine-version`); empty values dropped."""
    lines = []
    for key, value in values.items():
        value = " ".join(str(value).split())  # a trailer is one line
        if value:
            lines.append(f"{key[:1].upper()}{key[1:].lower()}: {value}")
    return "\n".join(lines)


def _message(*paragraphs: str) -> str:
    """Non-empty paragraphs, one blank line apart, with a final newline.

    OTA joins its paragraphs with blank lines whether they are empty or not, and `git commit -m`
    then strips trailing spaces and collapses the runs of blank lines: this is what git stores.
    """
    kept = ["\n".join(line.rstrip() for line in p.strip("\n").splitlines()) for p in paragraphs]
    return "\n\n".join(p for p in kept if p.strip()) + "\n"
