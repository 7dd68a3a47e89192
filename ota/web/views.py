"""The viewer's pages: the collection, a terms' timeline, a version (its permalink), a diff, and
snapshots as raw text. Server-rendered; they work without JavaScript.

Every service ID, terms type and version ID from a URL is looked up in the collection or the index
before anything is read; snapshots are served as text under `Content-Security-Policy: sandbox`
(or as downloads), never as pages of this origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ota.store.records import cited_snapshot_ids
from ota.web.archive import Archive
from ota.web.cite import Citation, site_url
from ota.web.dates import IN_FORCE_RULE, moment_label, parse_date
from ota.web.rows import REAL_KINDS, SIGNIFICANCE_FILTERS, Version
from ota.web.search import highlight

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHORT = re.compile(r"^[0-9a-f]{7,40}$")
KIND_LABELS = {"first": "First record", "change": "Change", "upgrade": "Technical upgrade"}


def url(*parts: str, **query: str) -> str:
    """A path of the viewer from its parts, each percent-encoded (service IDs hold any character)."""
    path = "/" + "/".join(quote(part, safe="") for part in parts)
    return path + ("?" + urlencode(query) if query else "")


def _archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(request, template, context, status_code=status)
    return response


def _message(request: Request, status: int, title: str, text: str) -> Response:
    return _page(request, "message.html", status, title=title, text=text)


def _shown(request: Request) -> str:
    """The `?significance=` filter asked for (`all` when none or an unknown one)."""
    wanted = request.query_params.get("significance", "all")
    return wanted if wanted in SIGNIFICANCE_FILTERS else "all"


def _flips(timeline: list[Version]) -> dict[str, int]:
    """How many changes restore an earlier text, out of how many, among how many texts."""
    changes = [v for v in timeline if v.kind == "change"]
    return {
        "changes": len(changes),
        "restored": sum(v.recurrent_of is not None for v in changes),
        "texts": len({v.blob for v in timeline}),
    }


# -- the collection ---------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    archive = _archive(request)
    query = request.query_params.get("q", "").strip()
    wanted_type = request.query_params.get("type", "")
    directory = archive.derived("directory", lambda: _directory(archive))
    wanted = query.casefold()
    services = []
    for service in directory.services:
        if wanted and wanted not in service["search"]:
            continue
        if wanted_type:
            terms = [terms for terms in service["terms"] if terms["type"] == wanted_type]
            if not terms:
                continue
            service = {**service, "terms": terms}
        services.append(service)
    shown = _shown(request)
    latest = archive.derived(f"latest-{shown}", lambda: _latest_rows(archive, SIGNIFICANCE_FILTERS[shown]))
    return _page(
        request,
        "home.html",
        title=archive.metadata.get("name") or "Terms",
        tagline=archive.metadata.get("tagline"),
        query=query,
        wanted_type=wanted_type,
        types=directory.types,
        services=services,
        latest=latest,
        shown=shown,
        total=len(archive.services),
        health=_health_rows(archive),
    )


def _health_rows(archive: Archive) -> dict[str, Any]:
    """The home page's tracking health: whether tracking runs, and the terms failing or held back."""
    health = archive.health()
    names = {service_id: service.name for service_id, service in archive.services.items()}
    problems = [
        {
            "health": terms,
            "service": names.get(terms.service_id, terms.service_id),
            "url": url("services", terms.service_id, terms.terms_type) if terms.terms_type else None,
        }
        for terms in health.problems()
    ]
    return {"status": health, "problems": problems}


def _latest_rows(archive: Archive, hide: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    versions = archive.index.recent(kinds=REAL_KINDS, limit=20, hide=hide)
    return [_row(archive, version) for version in versions]


@dataclass(frozen=True)
class Directory:
    """The collection's services as the home page lists them: each with its terms, their links and
    the date of their last real change; and every terms type found."""

    services: list[dict[str, Any]]
    types: list[str]


def _directory(archive: Archive) -> Directory:
    summaries = {summary.path: summary for summary in archive.index.summaries()}
    names = {service_id: service.name for service_id, service in archive.services.items()}
    declared = {(sid, t) for sid, s in archive.services.items() for t in s.terms}
    found = {(s.service_id, s.terms_type) for s in summaries.values()}
    # Terms with one real version were first recorded then, not changed.
    changes = dict(
        archive.index.db.execute(
            "SELECT path, COUNT(*) FROM versions WHERE kind IN ('first', 'change') GROUP BY path"
        ).fetchall()
    )
    services: dict[str, dict[str, Any]] = {}
    for service_id, terms_type in sorted(
        declared | found, key=lambda item: (names.get(item[0], item[0]).casefold(), item[1])
    ):
        name = names.get(service_id, service_id)
        summary = summaries.get(f"{service_id}/{terms_type}.md")
        entry = services.get(service_id)
        if entry is None:
            entry = services[service_id] = {
                "id": service_id,
                "name": name,
                "terms": [],
                "search": f"{name} {service_id}".casefold(),
            }
        last_change = summary.last_change if summary else None
        entry["terms"].append(
            {
                "type": terms_type,
                "url": url("services", service_id, terms_type),
                "last_change": last_change.isoformat() if last_change else None,
                "last_change_day": last_change.strftime("%Y-%m-%d") if last_change else None,
                "changed": changes.get(f"{service_id}/{terms_type}.md", 0) > 1,
                "versions": summary.versions if summary else 0,
            }
        )
    return Directory(list(services.values()), sorted({t for _, t in declared | found}))


def _row(archive: Archive, version: Version) -> dict[str, Any]:
    service = archive.services.get(version.service_id)
    return {
        "version": version,
        "service": service.name if service else version.service_id,
        "label": KIND_LABELS.get(version.kind, "Record"),
        "url": url("versions", version.id),
        "diff": url("versions", version.id, "diff") if version.base_blob else None,
        "terms_url": url("services", version.service_id, version.terms_type),
    }


async def service_page(request: Request) -> Response:
    service_id = request.path_params["service_id"]
    archive = _archive(request)
    if not archive.knows_service(service_id):
        return _message(request, 404, "No such service", f"This collection has no service {service_id!r}.")
    return RedirectResponse("/?" + urlencode({"q": service_id}), status_code=303)


# -- a terms ---------------------------------------------------------------------------------------


async def terms_page(request: Request) -> Response:
    archive = _archive(request)
    service_id, terms_type = request.path_params["service_id"], request.path_params["terms_type"]
    terms = archive.terms(service_id, terms_type)
    if terms is None:
        return _message(request, 404, "No such terms", f"{service_id!r} has no terms {terms_type!r} here.")
    timeline = archive.index.timeline(terms.path)
    if any(v.words_added is None for v in timeline) and sum(v.words_added is None for v in timeline) <= 50:
        from ota.web.counts import count_inline

        count_inline(archive.index, path=terms.path, limit=50)
        timeline = archive.index.timeline(terms.path)
    service = archive.services.get(service_id)
    declared = service.terms.get(terms_type) if service else None
    current = timeline[-1] if timeline else None
    real = [version for version in timeline if version.kind in REAL_KINDS]
    shown = _shown(request)
    flips = _flips(timeline)
    if shown != "all":
        hidden = SIGNIFICANCE_FILTERS[shown]
        timeline = [v for v in timeline if v.kind != "change" or v.significance not in hidden]
    return _page(
        request,
        "terms.html",
        title=f"{service.name if service else service_id} — {terms_type}",
        service_name=service.name if service else service_id,
        service_id=service_id,
        terms_type=terms_type,
        sources=[document.location for document in declared.documents] if declared else [],
        rows=[_row(archive, version) for version in reversed(timeline)],
        current=current,
        current_html=archive.html(current.blob) if current and current.blob else None,
        at_url=url("services", service_id, terms_type, "at"),
        today=datetime.now(UTC).date().isoformat(),
        rule=IN_FORCE_RULE,
        compare_url=url("services", service_id, terms_type, "compare"),
        history_url=url("services", service_id, terms_type, "history.zip"),
        health=archive.health().of(service_id, terms_type),
        last_change=real[-1] if len(real) > 1 else None,
        first_record=real[0] if real else None,
        feed_url=f"{request.app.state.api_prefix}{url('feed', service_id, terms_type)}"
        + (f"?significance={shown}" if shown != "all" else ""),
        terms_url=url("services", service_id, terms_type),
        shown=shown,
        flips=flips,
    )


async def terms_at(request: Request) -> Response:
    """The version in force at a moment, by the rule the API follows (`IN_FORCE_RULE`): a date alone
    is 00:00 UTC at its start; `time` (HH:MM, UTC) moves within that day."""
    archive = _archive(request)
    service_id, terms_type = request.path_params["service_id"], request.path_params["terms_type"]
    terms = archive.terms(service_id, terms_type)
    if terms is None:
        return _message(request, 404, "No such terms", f"{service_id!r} has no terms {terms_type!r} here.")
    text = _moment_text(request.query_params.get("date", ""), request.query_params.get("time", ""))
    date = parse_date(text)
    if date is None:
        return _message(request, 400, "Not a date", "Give a date such as 2024-01-31, and a time if you wish.")
    if date > datetime.now(UTC):
        return _message(request, 416, "A date to come", "The archive cannot tell what terms will say.")
    version = archive.index.in_force(terms.path, date)
    if version is None:
        label = moment_label(text, date)
        return _message(
            request, 404, "Nothing recorded yet", f"No version of these terms was recorded by {label}."
        )
    return RedirectResponse(url("versions", version.id, at=text), status_code=303)


async def terms_compare(request: Request) -> Response:
    """What changed between the versions in force at two moments (`from`, `to`; the rule of `at`)."""
    archive = _archive(request)
    service_id, terms_type = request.path_params["service_id"], request.path_params["terms_type"]
    terms = archive.terms(service_id, terms_type)
    if terms is None:
        return _message(request, 404, "No such terms", f"{service_id!r} has no terms {terms_type!r} here.")
    versions = []
    for name in ("from", "to"):
        text = request.query_params.get(name, "").strip()
        date = parse_date(text)
        if date is None:
            return _message(
                request, 400, "Not a date", f"Give two dates such as 2024-01-31 ({name}: {text!r})."
            )
        version = archive.index.in_force(terms.path, min(date, datetime.now(UTC)))
        if version is None:
            label = moment_label(text, date)
            return _message(request, 404, "Nothing recorded yet", f"No version was recorded by {label}.")
        versions.append(version)
    old, new = sorted(versions, key=lambda v: (v.date, v.seq))
    return RedirectResponse(url("versions", new.id, "diff", **{"from": old.id}), status_code=303)


def _moment_text(date: str, time_of_day: str) -> str:
    """The moment a date field and an optional time field (UTC) name, as the API would read it."""
    date, time_of_day = date.strip(), time_of_day.strip()
    if time_of_day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        return f"{date}T{time_of_day}Z"
    return date


# -- a version ----------------------------------------------------------------------------------------


def _version_or_none(archive: Archive, version_id: str) -> Version | None:
    if not _SHORT.match(version_id):
        return None
    version = archive.index.version(version_id)
    return version if version is not None and version.blob is not None else None


async def version_page(request: Request) -> Response:
    archive = _archive(request)
    version = _version_or_none(archive, request.path_params["version_id"])
    if version is None:
        return _message(request, 404, "No such version", "This archive has no version with that ID.")
    if version.id != request.path_params["version_id"]:
        return RedirectResponse(url("versions", version.id), status_code=301)
    timeline = archive.index.timeline(version.path)
    ids = [v.id for v in timeline]
    position = ids.index(version.id) if version.id in ids else -1
    service = archive.services.get(version.service_id)
    name = service.name if service else version.service_id
    highlighted = request.query_params.get("highlight", "").strip()
    permalink = site_url(request) + url("versions", version.id)
    until_version = timeline[position + 1] if 0 <= position < len(ids) - 1 else None
    until = until_version.date.strftime("%Y-%m-%d %H:%M UTC") if until_version else None
    snapshots = cited_snapshot_ids(archive.versions.message(version.id))
    citation = Citation(
        service=name,
        terms_type=version.terms_type,
        version_id=version.id,
        recorded=version.date,
        text_since=_text_since(timeline[: position + 1]) or version.date,
        until=until_version.date if until_version else None,
        archive=str(archive.metadata.get("name") or ""),
        permalink=permalink,
        snapshots=tuple(snapshots),
        accessed=datetime.now(UTC),
    )
    return _page(
        request,
        "version.html",
        title=f"{name} — {version.terms_type} — {version.date:%Y-%m-%d}",
        version=version,
        label=KIND_LABELS.get(version.kind, "Record"),
        service_name=name,
        terms_url=url("services", version.service_id, version.terms_type),
        html=highlight(archive.html(version.blob or ""), highlighted)
        if highlighted
        else archive.html(version.blob or ""),
        highlighted=highlighted,
        at=_at_label(request.query_params.get("at")),
        rule=IN_FORCE_RULE,
        previous=timeline[position - 1] if position > 0 else None,
        next=timeline[position + 1] if 0 <= position < len(ids) - 1 else None,
        until=until,
        diff_url=url("versions", version.id, "diff") if position > 0 else None,
        permalink=permalink,
        text_since=citation.text_since if citation.text_since != version.date else None,
        citation=citation.plain(),
        bibtex=citation.bibtex(),
        csl_json=citation.csl_json(),
        snapshots=[(snapshot, url("snapshots", snapshot)) for snapshot in snapshots],
        at_url=url("services", version.service_id, version.terms_type, "at"),
        today=datetime.now(UTC).date().isoformat(),
        url=url,
    )


def _text_since(timeline: list[Version]) -> datetime | None:
    """Since when the platform's terms of the last version of `timeline` were unchanged: technical
    upgrades record the same terms again (a changed declaration or ota), they do not date them."""
    for version in reversed(timeline):
        if version.kind != "upgrade":
            return version.date
    return None


def _at_label(text: str | None) -> str | None:
    moment = parse_date(text) if text else None
    return moment_label(text, moment) if text and moment else None


async def diff_page(request: Request) -> Response:
    archive = _archive(request)
    new = _version_or_none(archive, request.path_params["version_id"])
    if new is None:
        return _message(request, 404, "No such version", "This archive has no version with that ID.")
    timeline = archive.index.timeline(new.path)
    ids = [v.id for v in timeline]
    position = ids.index(new.id) if new.id in ids else -1
    wanted = request.query_params.get("from")
    if wanted:
        old = _version_or_none(archive, wanted)
        if old is None or old.path != new.path:
            return _message(request, 404, "No such version", "Compare two versions of the same terms.")
    else:
        old = timeline[position - 1] if position > 0 else None
    view = "side" if request.query_params.get("view") == "side" else "inline"
    text_diff = archive.diff(old.blob if old else None, new.blob or "")
    service = archive.services.get(new.service_id)
    name = service.name if service else new.service_id

    def snapshots_of(version: Version | None) -> list[tuple[str, str]]:
        if version is None:
            return []
        return [(s, url("snapshots", s)) for s in cited_snapshot_ids(archive.versions.message(version.id))]

    base_query = {"from": old.id} if wanted and old else {}
    return _page(
        request,
        "diff.html",
        title=f"{name} — {new.terms_type}: what changed on {new.date:%Y-%m-%d}",
        service_name=name,
        old=old,
        new=new,
        # The significance recorded for `new` is against the version before it: shown only then.
        compared=bool(wanted) and (position <= 0 or old is None or old.id != ids[position - 1]),
        terms_url=url("services", new.service_id, new.terms_type),
        rendered=archive.rendered_diff(old.blob if old else None, new.blob or "", side=view == "side"),
        changed=text_diff.changed,
        words_added=text_diff.words_added,
        words_removed=text_diff.words_removed,
        view=view,
        inline_url=url("versions", new.id, "diff", **base_query),
        side_url=url("versions", new.id, "diff", **base_query, view="side"),
        choices=[v for v in reversed(timeline) if v.id != new.id],
        compare_url=url("services", new.service_id, new.terms_type, "compare"),
        today=datetime.now(UTC).date().isoformat(),
        old_snapshots=snapshots_of(old),
        new_snapshots=snapshots_of(new),
        url=url,
    )


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/services/{service_id}", service_page),
        Route("/services/{service_id}/{terms_type}", terms_page),
        Route("/services/{service_id}/{terms_type}/at", terms_at),
        Route("/services/{service_id}/{terms_type}/compare", terms_compare),
        Route("/versions/{version_id}", version_page),
        Route("/versions/{version_id}/diff", diff_page),
    ]
