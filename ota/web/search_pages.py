"""Search through history, as a page of the viewer (`/search`) and in the API (`/search`, an
extension of the Collection API): which terms ever contained a phrase, since when, and whether
they still do (`ota.web.search`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ota.web.api import JSONAnswer
from ota.web.archive import Archive
from ota.web.dates import iso, parse_date
from ota.web.search import Filters, Found, Seen
from ota.web.views import url


def _filters(request: Request) -> Filters | str:
    """The filters a request asks for, or what is wrong with them."""
    params = request.query_params
    dates = {}
    for name in ("from", "to"):
        text = params.get(name, "").strip()
        if not text:
            continue
        date = parse_date(text)
        if date is None:
            return f"{name}: {text!r} is not a date such as 2024-01-31"
        dates[name] = date
    return Filters(params.get("service", ""), params.get("type", ""), dates.get("from"), dates.get("to"))


async def search_page(request: Request) -> Response:
    archive: Archive = request.app.state.archive
    query = request.query_params.get("q", "").strip()
    filters = _filters(request)
    problem = filters if isinstance(filters, str) else None
    results = archive.search.search(query, filters) if query and isinstance(filters, Filters) else None
    names = {service_id: service.name for service_id, service in archive.services.items()}
    rows = []
    for found in results.found if results else []:
        rows.append(
            {
                "found": found,
                "service": names.get(found.service_id, found.service_id),
                "terms_url": url("services", found.service_id, found.terms_type),
                "first_url": url("versions", found.first_seen.id, highlight=query),
                "last_url": url("versions", found.last_seen.id, highlight=query),
                "gone_url": url("versions", found.disappeared.id) if found.disappeared else None,
            }
        )
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "search.html",
        {
            "title": f"“{query}” in the terms" if query else "Search the terms",
            "query": query,
            "problem": problem,
            "rows": rows,
            "complete": results.complete if results else True,
            "search_services": sorted(names.items(), key=lambda item: item[1].casefold()),
            "types": sorted({t for s in archive.services.values() for t in s.terms}),
            "params": request.query_params,
        },
        status_code=400 if problem else 200,
    )
    return response


def _seen(seen: Seen | None) -> dict[str, str] | None:
    return {"id": seen.id, "fetchDate": iso(seen.date)} if seen else None


def _found(found: Found) -> dict[str, Any]:
    return {
        "service": found.service_id,
        "terms_type": found.terms_type,
        "first_seen": _seen(found.first_seen),
        "last_seen": _seen(found.last_seen),
        "disappeared": _seen(found.disappeared),
        "present": found.present,
        "excerpt": found.excerpt.replace("\x02", "").replace("\x03", ""),
    }


async def search_api(request: Request) -> Response:
    """`GET /search?q=PHRASE[&service=ID][&type=TYPE][&from=DATE][&to=DATE]`."""
    archive: Archive = request.app.state.archive
    query = request.query_params.get("q", "").strip()
    if not query:
        return JSONAnswer({"error": "Give a phrase to look for: ?q=PHRASE"}, status_code=400)
    filters = _filters(request)
    if isinstance(filters, str):
        return JSONAnswer({"error": filters}, status_code=400)
    results = archive.search.search(query, filters)
    return JSONAnswer(
        {
            "query": query,
            "complete": results.complete,
            "count": len(results.found),
            "results": [_found(found) for found in results.found],
        }
    )


def page_routes() -> list[Route]:
    return [Route("/search", search_page)]


def api_routes(prefix: str) -> list[Route]:
    """The API's search route, with one trailing slash too (as every API route)."""
    return [Route(f"{prefix}/search{slash}", search_api) for slash in ("", "/")]
