"""The evidence behind the versions, as a reader downloads and checks it: snapshots with their
context (fetched when, from which address, by which fetcher, which versions cite them), short
snapshot ids resolved, and downloads named `SERVICE - TYPE - DATE.ext`.

A snapshot is never rendered as a page: its source is shown as text in a page of this origin
(escaped), served as plain text under `Content-Security-Policy: sandbox`, or downloaded.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ota.store.records import cited_snapshot_ids, fetch_status, trailers, version_path_for
from ota.web.archive import Archive
from ota.web.rows import Version
from ota.web.views import _COMMIT, _SHORT, _archive, _message, _page, _version_or_none, url

#: A snapshot page shows this much of the page's source; the rest is in the raw text.
SNAPSHOT_SHOWN = 200_000


async def snapshot(request: Request) -> Response:
    """A snapshot with its context (fetched when, from where, by which fetcher, the versions that
    cite it) and its source as text; `?raw=1` the page as text in a sandbox, `?download=1` a file.
    Never rendered as a page."""
    archive = _archive(request)
    snapshot_id = request.path_params["snapshot_id"]
    reader = archive.snapshots
    missing = _message(request, 404, "No such snapshot", "This archive has no snapshot with that ID.")
    if reader is None or not _SHORT.match(snapshot_id):
        return missing
    full = snapshot_id if _COMMIT.match(snapshot_id) else reader.resolve(snapshot_id)
    if full is None:
        return missing
    paths = [p for p in reader.changed_paths(full) if _known_snapshot(archive, p)]
    record = reader.record(full, paths[0]) if paths else None
    if record is None:
        return missing
    if full != snapshot_id:
        return RedirectResponse(url("snapshots", full), status_code=301)
    service_id, _, name = record.path.partition("/")
    terms_type = name.rsplit(".", 1)[0].split(" #", 1)[0]
    extension = name[name.rfind(".") :] if "." in name else ""
    service = archive.services.get(service_id)
    service_name = service.name if service else service_id
    textual = extension in (".html", ".txt", ".md", ".xml", ".json", ".csv")
    headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
    if request.query_params.get("download") or (request.query_params.get("raw") and not textual):
        headers["Content-Disposition"] = _attachment(
            f"{service_name} - {terms_type} - {record.date:%Y-%m-%d}{extension}"
        )
        return Response(record.content, media_type="application/octet-stream", headers=headers)
    if request.query_params.get("raw"):
        return Response(record.content, media_type="text/plain; charset=utf-8", headers=headers)
    found = trailers(record.message)
    text = record.content[:SNAPSHOT_SHOWN].decode("utf-8", errors="replace") if textual else None
    return _page(
        request,
        "snapshot.html",
        title=f"{service_name} — {terms_type}: snapshot of {record.date:%Y-%m-%d}",
        snapshot_id=full,
        record=record,
        service_name=service_name,
        terms_url=url("services", service_id, terms_type),
        location=found.get("x-source-document-location", ""),
        fetcher=found.get("x-fetcher", ""),
        engine=found.get("x-engine-version", ""),
        fetch_status=fetch_status(record.message),
        size=len(record.content),
        text=text,
        truncated=textual and len(record.content) > SNAPSHOT_SHOWN,
        citing=_citing_versions(archive, version_path_for(service_id, terms_type), full, record.date),
        raw_url=url("snapshots", full, raw="1"),
        download_url=url("snapshots", full, download="1"),
    )


def _attachment(name: str) -> str:
    """A Content-Disposition naming a download (an ASCII fallback, the real name in UTF-8)."""
    fallback = re.sub(r"[^A-Za-z0-9 ._-]", "_", name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def _citing_versions(archive: Archive, path: str, snapshot_id: str, date: datetime) -> list[Version]:
    """The versions of `path` whose message cites the snapshot: those recorded from its date on
    (a version is dated by its newest snapshot, or later for a technical upgrade), a few at most."""
    found = []
    for version in [v for v in archive.index.timeline(path) if v.date >= date][:8]:
        if snapshot_id in cited_snapshot_ids(archive.versions.message(version.id)):
            found.append(version)
    return found


async def version_markdown(request: Request) -> Response:
    """A version's Markdown as a file named `SERVICE - TYPE - DATE.md`."""
    archive = _archive(request)
    version = _version_or_none(archive, request.path_params["version_id"])
    if version is None:
        return _message(request, 404, "No such version", "This archive has no version with that ID.")
    service = archive.services.get(version.service_id)
    service_name = service.name if service else version.service_id
    name = f"{service_name} - {version.terms_type} - {version.date:%Y-%m-%d}.md"
    headers = {"Content-Disposition": _attachment(name), "Content-Security-Policy": "sandbox"}
    return Response(archive.text(version.blob), media_type="text/markdown; charset=utf-8", headers=headers)


def _known_snapshot(archive: Archive, path: str) -> bool:
    service_id, _, name = path.partition("/")
    terms_type = name.rsplit(".", 1)[0].split(" #", 1)[0]
    return archive.terms(service_id, terms_type) is not None


async def history_zip(request: Request) -> Response:
    """Every version of a terms, as `SERVICE - TYPE/DATE.md` files in a ZIP (with a README that
    names each version's commit and kind), named `SERVICE - TYPE - history.zip`.

    Streamed: each version is read, compressed and sent before the next is read, so a history of
    thousands of versions never sits in memory (the ZIP says each file's size after it, in a data
    descriptor, as ZIPs written to a pipe do)."""
    archive = _archive(request)
    service_id, terms_type = request.path_params["service_id"], request.path_params["terms_type"]
    terms = archive.terms(service_id, terms_type)
    if terms is None:
        return _message(request, 404, "No such terms", f"{service_id!r} has no terms {terms_type!r} here.")
    service = archive.services.get(service_id)
    folder = f"{service.name if service else service_id} - {terms_type}"
    timeline = archive.index.timeline(terms.path)
    blobs = archive.versions

    async def chunks() -> AsyncIterator[bytes]:
        out = _Chunks()
        lines = [f"# {folder}", "", "Every version recorded, oldest first (date UTC, kind, commit):", ""]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive_file:
            for version in timeline:
                name = f"{version.date:%Y-%m-%dT%H-%M-%SZ}.md"
                info = zipfile.ZipInfo(f"{folder}/{name}", date_time=version.date.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                archive_file.writestr(info, blobs.blob(version.blob) if version.blob else b"")
                lines.append(f"- {name}: {version.kind}, {version.id}")
                yield out.take()
            archive_file.writestr(f"{folder}/README.md", "\n".join(lines) + "\n")
        yield out.take()

    headers = {"Content-Disposition": _attachment(f"{folder} - history.zip")}
    return StreamingResponse(chunks(), media_type="application/zip", headers=headers)


class _Chunks(io.RawIOBase):
    """A file the ZIP is written to, which keeps what was written until it is taken (and cannot
    seek: `zipfile` then writes each file's sizes after its data)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = bytes(data)
        self._parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        taken = b"".join(self._parts)
        self._parts.clear()
        return taken


def routes() -> list[Route]:
    return [
        Route("/services/{service_id}/{terms_type}/history.zip", history_zip),
        Route("/versions/{version_id}/markdown", version_markdown),
        Route("/snapshots/{snapshot_id}", snapshot),
    ]
