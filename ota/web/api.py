"""Open Terms Archive's Collection API (`BASE_PATH/v1`), answered from the index.

Routes and bodies are those of OTA's engine: 14.1's `/services`, `/service/ID`,
`/version/ID/TYPE/DATE`, `/metadata` and Atom feeds, and the later `/versions[/ID[/TYPE]]`,
`/version/VERSION_ID`, `/version/ID/TYPE/latest`, with JSON 404 bodies. ota adds `/diff/…` (a
word-level diff as JSON, with the change's significance), `/significance/VERSION_ID` (whether a
change matters: `ota.significance`), a `?significance=` filter on `/versions…` and the feeds (the
bodies stay the engine's), `/openapi.json` and `/docs`. As the engine's (Express): every route also
answers with one trailing slash, JSON is `application/json; charset=utf-8` with a weak ETag, and a
client that already has a 200's body (`If-None-Match`) gets a 304. Where ota differs on purpose, the
function says so. Nothing here runs git: lookups go to the index, contents are read by blob id.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ota import __version__
from ota.significance import RULESET, classify
from ota.store.records import version_path_for
from ota.web import feeds
from ota.web.archive import Archive
from ota.web.cite import site_url
from ota.web.dates import http_date, iso, iso_ms, parse_date, parse_http_date
from ota.web.rows import REAL_KINDS, RECORD_KINDS, SIGNIFICANCE_FILTERS, Version

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
_VERSION_ID = re.compile(r"^[0-9a-f]{7,40}$")
WELCOME = (
    "Welcome to an instance of the Open Terms Archive API. Documentation is available at /docs. "
    "Learn more on Open Terms Archive on https://opentermsarchive.org."
)


def etag(body: bytes | memoryview) -> str:
    """The weak ETag Express (the engine's server) gives a body: `W/"LENGTH-SHA1"`, the length in hex
    and the SHA-1 in base64 cut to 27 characters. A cache validator, not a signature."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode("ascii")[:27]
    return f'W/"{len(body):x}-{digest}"'


def fresh(if_none_match: str | None, tag: str) -> bool:
    """Whether a client's `If-None-Match` names `tag` (`*`, or weak comparison), as Express's `fresh`."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = tag.removeprefix("W/")
    return any(token.strip().removeprefix("W/") == bare for token in if_none_match.split(","))


class JSONAnswer(JSONResponse):
    """A JSON answer as the engine's: `application/json; charset=utf-8`, a weak ETag, and a 304
    (ETag only, no body) for a 2xx the client already has."""

    media_type = "application/json; charset=utf-8"

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> None:
        super().__init__(content, status_code=status_code, headers=headers)
        self.headers["ETag"] = etag(self.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tag = self.headers["ETag"]
        if 200 <= self.status_code < 300 and fresh(Headers(scope=scope).get("if-none-match"), tag):
            await Response(status_code=304, headers={"ETag": tag})(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def archive_of(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def api_base(request: Request) -> str:
    """The API's absolute URL as clients see it (`[serve] public_url`, or a local proxy's host)."""
    return f"{site_url(request)}{request.app.state.api_prefix}"


def error(status: int, message: str) -> JSONResponse:
    return JSONAnswer({"error": message}, status_code=status)


# -- services and metadata ----------------------------------------------------------------------------


async def welcome(request: Request) -> Response:
    return JSONAnswer({"message": WELCOME})


async def services(request: Request) -> Response:
    """`[{id, name, terms: [{type}]}]`, services by ID, terms as declared."""
    archive = archive_of(request)
    return JSONAnswer(
        [
            {"id": service.id, "name": service.name, "terms": [{"type": t} for t in service.terms]}
            for service in archive.services.values()
        ]
    )


async def service(request: Request) -> Response:
    """A service's declaration as OTA's API shows it (selectors as declared; the service ID is
    matched exactly, as OTA does since 12.0)."""
    archive = archive_of(request)
    service_id = request.path_params["service_id"]
    declared = archive.services.get(service_id)
    raw = archive.raw_declaration(service_id) if declared is not None else None
    if declared is None or raw is None:
        return error(404, "Service not found")
    entries = raw.get("terms") or raw.get("documents") or {}
    terms = []
    for terms_type in declared.terms:
        entry = entries.get(terms_type, {})
        documents = entry.get("combine") or [entry]
        terms.append({"type": terms_type, "sourceDocuments": [_source_document(d, entry) for d in documents]})
    return JSONAnswer({"id": declared.id, "name": declared.name, "terms": terms})


def _source_document(document: dict[str, Any], terms: dict[str, Any]) -> dict[str, Any]:
    """OTA's SourceDocument: each document's own values, else the terms-level ones; absent ones
    left out (as `JSON.stringify` leaves out undefined)."""

    def value(key: str) -> Any:
        found = document.get(key)
        return terms.get(key) if found is None else found

    result: dict[str, Any] = {"location": document.get("fetch")}
    for key, name in (("select", "contentSelectors"), ("remove", "insignificantContentSelectors")):
        if value(key) is not None:
            result[name] = value(key)
    if value("executeClientScripts") is not None:
        result["executeClientScripts"] = value("executeClientScripts")
    filters = value("filter")
    if filters is not None:
        result["filters"] = [f if isinstance(f, str) else next(iter(f), None) for f in filters]
    return result


async def metadata(request: Request) -> Response:
    """metadata.yml, with `totalServices`, `totalTerms` and `engineVersion` (ota's version)."""
    archive = archive_of(request)
    dynamic = {
        "totalServices": len(archive.services),
        "totalTerms": sum(len(s.terms) for s in archive.services.values()),
        "engineVersion": __version__,
    }
    return JSONAnswer({**_json_dates(archive.metadata), **dynamic})


def _json_dates(value: Any) -> Any:
    """YAML dates as js-yaml then JSON.stringify write them (`2024-01-31T00:00:00.000Z`)."""
    from datetime import date

    if isinstance(value, dict):
        return {str(k): _json_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_dates(v) for v in value]
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return iso_ms(value)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00.000Z"
    return value


# -- versions -------------------------------------------------------------------------------------------


def _item(version: Version) -> dict[str, Any]:
    return {
        "id": version.id,
        "serviceId": version.service_id,
        "termsType": version.terms_type,
        "fetchDate": iso(version.date),
        "isFirstRecord": version.is_first_record,
        "isTechnicalUpgrade": version.is_technical_upgrade,
    }


def _stats(version: Version) -> dict[str, int | None]:
    """Lines added and deleted by the commit, as `git show --numstat` counts them."""
    return {"additions": version.lines_added, "deletions": version.lines_removed}


def _detail(archive: Archive, version: Version) -> dict[str, Any]:
    timeline = archive.index.timeline(version.path)
    ids = [v.id for v in timeline]
    position = ids.index(version.id) if version.id in ids else -1
    return {
        "id": version.id,
        "serviceId": version.service_id,
        "termsType": version.terms_type,
        "fetchDate": iso(version.date),
        "content": archive.text(version.blob),
        "isFirstRecord": version.is_first_record,
        "isTechnicalUpgrade": version.is_technical_upgrade,
        "links": {
            "first": ids[0] if ids else None,
            "prev": ids[position - 1] if position > 0 else None,
            "next": ids[position + 1] if 0 <= position < len(ids) - 1 else None,
            "last": ids[-1] if ids else None,
        },
    }


def _pagination(request: Request) -> tuple[int, int] | JSONResponse:
    """OTA's `limit` (1–500, default 100) and `offset` (default 0), parsed as `parseInt` does."""
    limit = _parse_int(request.query_params.get("limit"), DEFAULT_LIMIT)
    offset = _parse_int(request.query_params.get("offset"), 0)
    if limit is None or limit < 1:
        return error(400, "Invalid limit parameter. Must be a positive integer.")
    if limit > MAX_LIMIT:
        return error(400, "Invalid limit parameter. Must not exceed 500.")
    if offset is None or offset < 0:
        return error(400, "Invalid offset parameter. Must be a non-negative integer.")
    return limit, offset


def _hidden(request: Request) -> tuple[str, ...] | JSONResponse:
    """ota's `?significance=substantive|editorial|all` filter: the classes of changes to leave out."""
    wanted = request.query_params.get("significance")
    if wanted is None:
        return ()
    if wanted not in SIGNIFICANCE_FILTERS:
        choices = ", ".join(SIGNIFICANCE_FILTERS)
        return error(400, f"Invalid significance parameter {wanted!r}. Must be one of: {choices}.")
    return SIGNIFICANCE_FILTERS[wanted]


def _significance(version: Version) -> dict[str, Any]:
    """ota's extension: the stored classification of a version's change (`ota.significance`)."""
    return {
        "id": version.id,
        "serviceId": version.service_id,
        "termsType": version.terms_type,
        "fetchDate": iso(version.date),
        "significance": version.significance,
        "minor": version.minor,
        "recurrent": version.recurrent_of is not None,
        "recurrentOf": version.recurrent_of,
        "reasons": version.reasons,
        "ruleset": RULESET if version.significance is not None else None,
    }


def _parse_int(text: str | None, default: int) -> int | None:
    if not text:
        return default
    match = re.match(r"^\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


async def versions(request: Request) -> Response:
    """Every version (technical upgrades too), newest first, paginated. ota orders strictly by date
    (then commit order); OTA pages in git's topological order, then sorts each page by date."""
    archive = archive_of(request)
    page = _pagination(request)
    if isinstance(page, JSONResponse):
        return page
    limit, offset = page
    hide = _hidden(request)
    if isinstance(hide, JSONResponse):
        return hide
    service_id = request.path_params.get("service_id")
    terms_type = request.path_params.get("terms_type")
    path = version_path_for(service_id, terms_type) if service_id and terms_type else None
    service_scope = service_id if path is None else None
    total = archive.index.count(service_id=service_scope, path=path, hide=hide)
    if total == 0 and service_id is not None:
        if terms_type is not None:
            return error(404, f'No versions found for service "{service_id}" and terms type "{terms_type}"')
        return error(404, f'No versions found for service "{service_id}"')
    found = archive.index.recent(limit=limit, offset=offset, service_id=service_scope, path=path, hide=hide)
    data = [{**_item(v), **_stats(v)} if path else _item(v) for v in found]
    return JSONAnswer({"data": data, "count": total, "limit": limit, "offset": offset})


async def version_by_id(request: Request) -> Response:
    archive = archive_of(request)
    version_id = request.path_params["version_id"]
    version = archive.index.version(version_id) if _VERSION_ID.match(version_id) else None
    if version is None or version.kind not in RECORD_KINDS:
        return error(404, f'No version found with ID "{version_id}"')
    return JSONAnswer({**_detail(archive, version), **_stats(version)})


async def latest_version(request: Request) -> Response:
    archive = archive_of(request)
    service_id, terms_type = request.path_params["service_id"], request.path_params["terms_type"]
    terms = archive.terms(service_id, terms_type)
    version = archive.index.latest(terms.path) if terms is not None else None
    if version is None:
        return error(404, f'No version found for service "{service_id}" and terms type "{terms_type}"')
    return JSONAnswer(_detail(archive, version))


async def version_at(request: Request) -> Response:
    """The version in force at a date: `{id, fetchDate, content}` as in OTA 14.1. A date that is not
    one gets a 400 (OTA's engine fails on it with a 500)."""
    archive = archive_of(request)
    service_id, terms_type = request.path_params["service_id"], request.path_params["terms_type"]
    text = request.path_params["date"]
    date = parse_date(text)
    if date is None:
        return error(400, f"Invalid date {text}: expected an ISO 8601 date such as 2024-01-31T12:00:00Z")
    if date > datetime.now(UTC):
        return error(416, "Requested version is in the future")
    terms = archive.terms(service_id, terms_type)
    version = archive.index.in_force(terms.path, date) if terms is not None else None
    if version is None:
        return error(404, f"No version found for date {text}")
    return JSONAnswer(
        {"id": version.id, "fetchDate": iso(version.date), "content": archive.text(version.blob)}
    )


# -- ota's diff ---------------------------------------------------------------------------------------


async def diff(request: Request) -> Response:
    """A word-level diff of two versions of a terms (`/diff/TO` against the previous version)."""
    archive = archive_of(request)
    ids = [request.path_params.get("from_id"), request.path_params["to_id"]]
    if not all(_VERSION_ID.match(i) for i in ids if i is not None):
        return error(404, "No version found with these IDs")
    new = archive.index.version(ids[1] or "")
    old = archive.index.version(ids[0]) if ids[0] else None
    if new is None or (ids[0] and (old is None or old.path != new.path)):
        return error(404, "No version found with these IDs (both must be versions of the same terms)")
    old_blob = old.blob if old is not None else new.base_blob
    context = _parse_int(request.query_params.get("context"), 1)
    if context is None or not 0 <= context <= 100:
        return error(400, "Invalid context parameter. Must be an integer from 0 to 100.")
    text_diff = archive.diff(old_blob, new.blob or "")
    hunks = [
        {
            "start": hunk.start,
            "foldedBefore": hunk.folded_before,
            "foldedAfter": hunk.folded_after,
            "blocks": [
                {
                    "op": block.op,
                    "kind": block.kind,
                    "moved": block.moved,
                    "wordsAdded": block.words_added,
                    "wordsRemoved": block.words_removed,
                    "tokens": [{"op": token.op, "text": token.text} for token in block.tokens],
                }
                for block in hunk.blocks
            ],
        }
        for hunk in text_diff.hunks(context)
    ]
    before = {"id": old.id, "fetchDate": iso(old.date)} if old is not None else None
    if old is None and new.base_blob is not None:
        previous = [
            v for v in archive.index.timeline(new.path) if v.blob == new.base_blob and v.date <= new.date
        ]
        before = {"id": previous[-1].id, "fetchDate": iso(previous[-1].date)} if previous else None
    return JSONAnswer(
        {
            "serviceId": new.service_id,
            "termsType": new.terms_type,
            "from": before,
            "to": {"id": new.id, "fetchDate": iso(new.date)},
            "wordsAdded": text_diff.words_added,
            "wordsRemoved": text_diff.words_removed,
            "significance": classify(archive.text(old_blob), archive.text(new.blob)).to_dict(),
            "hunks": hunks,
        }
    )


async def significance(request: Request) -> Response:
    """ota's extension: whether a version's change matters (cosmetic, editorial, substantive), why,
    and the earlier version it restores, if any."""
    archive = archive_of(request)
    version_id = request.path_params["version_id"]
    version = archive.index.version(version_id) if _VERSION_ID.match(version_id) else None
    if version is None or version.kind not in RECORD_KINDS:
        return error(404, f'No version found with ID "{version_id}"')
    return JSONAnswer(_significance(version))


# -- feeds -----------------------------------------------------------------------------------------


async def feed(request: Request) -> Response:
    archive = archive_of(request)
    service_id = request.path_params.get("service_id")
    terms_type = request.path_params.get("terms_type")
    declared = archive.services.get(service_id) if service_id is not None else None
    if service_id is not None and declared is None:
        return error(404, "Service not found")
    if terms_type is not None and declared is not None and terms_type not in declared.terms:
        return error(404, "Terms type not found for this service")
    hide = _hidden(request)
    if isinstance(hide, JSONResponse):
        return hide
    limit = request.app.state.feed_limit
    path = version_path_for(service_id, terms_type) if service_id and terms_type else None
    service_scope = service_id if path is None else None
    entries = archive.index.recent(
        kinds=REAL_KINDS, limit=limit, service_id=service_scope, path=path, hide=hide
    )
    modified = feeds.last_modified(entries)
    headers = {"Last-Modified": http_date(modified)}
    since = request.headers.get("if-modified-since")
    if since and "if-none-match" not in request.headers:
        since_date = parse_http_date(since)
        if since_date is not None and modified.replace(microsecond=0) <= since_date:
            return Response(status_code=304, headers=headers)
    meta = archive.metadata
    collection_id = str(meta.get("id") or archive.settings.collection.declarations.resolve().parent.name)
    description = feeds.Feed(
        collection_id=collection_id,
        name=str(meta.get("name") or meta.get("id") or collection_id),
        tagline=meta.get("tagline"),
        logo=meta.get("logo"),
        base_url=api_base(request),
        service_id=service_id,
        terms_type=terms_type,
        version_url_template=archive.settings.serve.version_url_template,
        viewer_url=site_url(request),
    )
    body = feeds.atom(description, entries).encode("utf-8")
    headers["ETag"] = etag(body)
    if fresh(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)


async def not_found(request: Request) -> Response:
    return error(404, "Not found")


def routes() -> list[Route]:
    """The API's routes, relative to its prefix (`BASE_PATH/v1`), each also with a trailing slash
    (Express's non-strict routing: `/services/` is `/services`)."""
    from ota.web.openapi import docs, openapi

    table: list[tuple[str, Callable[[Request], Awaitable[Response]]]] = [
        ("/services", services),
        ("/service/{service_id}", service),
        ("/metadata", metadata),
        ("/versions", versions),
        ("/versions/{service_id}", versions),
        ("/versions/{service_id}/{terms_type}", versions),
        ("/version/{version_id}", version_by_id),
        ("/version/{service_id}/{terms_type}/latest", latest_version),
        ("/version/{service_id}/{terms_type}/{date}", version_at),
        ("/diff/{to_id}", diff),
        ("/diff/{from_id}/{to_id}", diff),
        ("/significance/{version_id}", significance),
        ("/feed", feed),
        ("/feed/{service_id}", feed),
        ("/feed/{service_id}/{terms_type}", feed),
        ("/openapi.json", openapi),
        ("/docs", docs),
    ]
    return [
        Route("/", welcome),
        *(Route(path + slash, endpoint) for path, endpoint in table for slash in ("", "/")),
        Route("/{rest:path}", not_found),
    ]
