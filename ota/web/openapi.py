"""The Collection API described in OpenAPI 3.1 (`/openapi.json`) and as a page (`/docs`).

`/docs` asked for JSON (an `Accept` naming json) answers the description, as the engine's does.

The page is rendered here from the same description, on the server: it needs no script and no
other origin (OTA serves Swagger UI; its assets would have to come from a CDN or be vendored).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ota import __version__
from ota.web.api import JSONAnswer


def _path_parameter(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "in": "path",
        "name": name,
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


_SERVICE = _path_parameter("serviceId", "The ID of the service (its declaration's file name).", "Example")
_TYPE = _path_parameter("termsType", "The terms type.", "Terms of Service")
_VERSION = _path_parameter(
    "versionId", "The ID of a version: its commit in the versions repository (7 to 40 hex digits).", "0123abc"
)
_PAGE = [
    {
        "in": "query",
        "name": "limit",
        "description": "The maximum number of versions to return.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
    },
    {
        "in": "query",
        "name": "offset",
        "description": "The number of versions to skip, newest first.",
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
]


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema}}}}


#: ota's extension: leave out the changes that do not matter (`ota.significance`).
_SIGNIFICANCE = {
    "in": "query",
    "name": "significance",
    "description": (
        "ota's extension: `substantive` leaves out cosmetic and editorial changes, `editorial` leaves out "
        "cosmetic ones (first records, technical upgrades and changes not classified yet stay); `all`, "
        "the default, leaves out nothing."
    ),
    "schema": {"type": "string", "enum": ["all", "cosmetic", "editorial", "substantive"], "default": "all"},
}
_ERROR = _json("#/components/schemas/Error", "Not found.")
_BAD = _json("#/components/schemas/Error", "Invalid pagination parameters.")
_ATOM = {"description": "An Atom 1.0 feed, newest entry first.", "content": {"application/atom+xml": {}}}

_ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The ID of the version."},
        "serviceId": {"type": "string"},
        "termsType": {"type": "string"},
        "fetchDate": {"type": "string", "format": "date-time", "description": "When it was recorded."},
        "isFirstRecord": {"type": "boolean"},
        "isTechnicalUpgrade": {
            "type": "boolean",
            "description": "Re-extracted after a change of the declaration or of ota, not of the page.",
        },
    },
}
_STATS = {
    "additions": {"type": ["integer", "null"], "description": "Lines added by the version's commit."},
    "deletions": {"type": ["integer", "null"], "description": "Lines deleted by the version's commit."},
}


@functools.cache
def description(api_prefix: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI document of the API mounted at `api_prefix`."""
    paths: dict[str, Any] = {
        "/services": {
            "get": {
                "summary": "Enumerate all services.",
                "tags": ["Services"],
                "responses": {"200": _json("#/components/schemas/ServiceList", "All services.")},
            }
        },
        "/service/{serviceId}": {
            "get": {
                "summary": "A service's declaration.",
                "tags": ["Services"],
                "parameters": [_SERVICE],
                "responses": {"200": _json("#/components/schemas/Service", "The service."), "404": _ERROR},
            }
        },
        "/versions": {
            "get": {
                "summary": "All versions, newest first.",
                "tags": ["Versions"],
                "parameters": [*_PAGE, _SIGNIFICANCE],
                "responses": {"200": _json("#/components/schemas/Page", "A page of versions."), "400": _BAD},
            }
        },
        "/versions/{serviceId}": {
            "get": {
                "summary": "A service's versions, newest first.",
                "tags": ["Versions"],
                "parameters": [_SERVICE, *_PAGE, _SIGNIFICANCE],
                "responses": {
                    "200": _json("#/components/schemas/Page", "A page of versions."),
                    "400": _BAD,
                    "404": _ERROR,
                },
            }
        },
        "/versions/{serviceId}/{termsType}": {
            "get": {
                "summary": "The versions of some terms, newest first, with line counts.",
                "tags": ["Versions"],
                "parameters": [_SERVICE, _TYPE, *_PAGE, _SIGNIFICANCE],
                "responses": {
                    "200": _json("#/components/schemas/PageWithStats", "A page of versions."),
                    "400": _BAD,
                    "404": _ERROR,
                },
            }
        },
        "/version/{versionId}": {
            "get": {
                "summary": "A version by its ID, with links to the first, previous, next and last.",
                "tags": ["Versions"],
                "parameters": [_VERSION],
                "responses": {
                    "200": _json("#/components/schemas/VersionWithLinks", "The version."),
                    "404": _ERROR,
                },
            }
        },
        "/version/{serviceId}/{termsType}/latest": {
            "get": {
                "summary": "The latest version of some terms.",
                "tags": ["Versions"],
                "parameters": [_SERVICE, _TYPE],
                "responses": {
                    "200": _json("#/components/schemas/VersionWithLinks", "The version."),
                    "404": _ERROR,
                },
            }
        },
        "/version/{serviceId}/{termsType}/{date}": {
            "get": {
                "summary": "The version of some terms in force at a date.",
                "description": "The last version recorded at or before the date (ISO 8601; UTC when "
                "no offset is given).",
                "tags": ["Versions"],
                "parameters": [
                    _SERVICE,
                    _TYPE,
                    {
                        **_path_parameter("date", "An ISO 8601 date and time.", "2024-01-31T12:00:00Z"),
                        "schema": {"type": "string", "format": "date-time"},
                    },
                ],
                "responses": {
                    "200": _json("#/components/schemas/Version", "The version in force then."),
                    "400": _json("#/components/schemas/Error", "Not a date."),
                    "404": _ERROR,
                    "416": _json("#/components/schemas/Error", "The date is in the future."),
                },
            }
        },
        "/diff/{versionId}": {
            "get": {
                "summary": "What a version changed: a word-level diff against the version before it (ota).",
                "tags": ["Diffs"],
                "parameters": [
                    _VERSION,
                    {
                        "in": "query",
                        "name": "context",
                        "description": "Unchanged blocks kept around each change.",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1},
                    },
                ],
                "responses": {"200": _json("#/components/schemas/Diff", "The diff."), "404": _ERROR},
            }
        },
        "/diff/{fromId}/{toId}": {
            "get": {
                "summary": "A word-level diff between two versions of the same terms (ota).",
                "tags": ["Diffs"],
                "parameters": [
                    {**_VERSION, "name": "fromId", "description": "The older version."},
                    {**_VERSION, "name": "toId", "description": "The newer version."},
                ],
                "responses": {"200": _json("#/components/schemas/Diff", "The diff."), "404": _ERROR},
            }
        },
        "/search": {
            "get": {
                "summary": "Terms whose versions ever contained a phrase: where it appeared, was last seen, "
                "disappeared (ota).",
                "tags": ["Search"],
                "description": "The phrase is looked for inside one paragraph of each version, its words in "
                "order (case, accents and punctuation ignored). `complete` is false while the history is "
                "still being indexed.",
                "parameters": [
                    {"in": "query", "name": "q", "required": True, "schema": {"type": "string"}},
                    {"in": "query", "name": "service", "schema": {"type": "string"}},
                    {"in": "query", "name": "type", "schema": {"type": "string"}},
                    {"in": "query", "name": "from", "schema": {"type": "string", "format": "date-time"}},
                    {"in": "query", "name": "to", "schema": {"type": "string", "format": "date-time"}},
                ],
                "responses": {
                    "200": {
                        "description": "`{query, complete, count, results: [{service, terms_type, "
                        "first_seen, last_seen, disappeared, present, excerpt}]}`; "
                        "each version seen is `{id, fetchDate}`.",
                        "content": {"application/json": {}},
                    },
                    "400": _ERROR,
                },
            }
        },
        "/significance/{versionId}": {
            "get": {
                "summary": "Whether a change matters: cosmetic, editorial or substantive, and why (ota).",
                "tags": ["Diffs"],
                "description": (
                    "ota's extension, computed by the ruleset it names (README: Which changes matter). "
                    "`significance` is null for a first record and until the version is classified; "
                    "`recurrentOf` names the earlier version whose text this one restores."
                ),
                "parameters": [_VERSION],
                "responses": {
                    "200": _json("#/components/schemas/Significance", "The classification."),
                    "404": _ERROR,
                },
            }
        },
        "/metadata": {
            "get": {
                "summary": "The collection's metadata (metadata.yml), with totals and the engine version.",
                "tags": ["Metadata"],
                "responses": {"200": {"description": "The metadata.", "content": {"application/json": {}}}},
            }
        },
        "/feed": {
            "get": {
                "summary": "Atom feed of the latest changes of the collection (technical upgrades left out).",
                "tags": ["Feeds"],
                "description": "Sends Last-Modified; answers 304 to an If-Modified-Since that is not older.",
                "parameters": [_SIGNIFICANCE],
                "responses": {"200": _ATOM, "304": {"description": "Not modified."}},
            }
        },
        "/feed/{serviceId}": {
            "get": {
                "summary": "Atom feed of a service's latest changes.",
                "tags": ["Feeds"],
                "parameters": [_SERVICE, _SIGNIFICANCE],
                "responses": {
                    "200": _ATOM,
                    "304": {"description": "Not modified."},
                    "404": {"description": "No such service."},
                },
            }
        },
        "/feed/{serviceId}/{termsType}": {
            "get": {
                "summary": "Atom feed of the latest changes of some terms.",
                "tags": ["Feeds"],
                "parameters": [_SERVICE, _TYPE, _SIGNIFICANCE],
                "responses": {
                    "200": _ATOM,
                    "304": {"description": "Not modified."},
                    "404": {"description": "No such service, or it declares no such terms type."},
                },
            }
        },
    }
    version = {
        "allOf": [
            {"$ref": "#/components/schemas/VersionListItem"},
            {"type": "object", "properties": {"content": {"type": "string", "description": "The Markdown."}}},
        ]
    }
    link = {"type": ["string", "null"]}
    schemas = {
        "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
        "ServiceList": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "terms": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"type": {"type": "string"}}},
                    },
                },
            },
        },
        "Service": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "terms": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string"},
                            "sourceDocuments": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "location": {"type": "string", "format": "uri"},
                                        "contentSelectors": {},
                                        "insignificantContentSelectors": {},
                                        "executeClientScripts": {"type": "boolean"},
                                        "filters": {"type": "array", "items": {"type": "string"}},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
        "Version": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "fetchDate": {"type": "string", "format": "date-time"},
                "content": {"type": "string"},
            },
        },
        "VersionListItem": _ITEM,
        "VersionWithLinks": {
            "allOf": [
                version,
                {
                    "type": "object",
                    "properties": {
                        **_STATS,
                        "links": {
                            "type": "object",
                            "properties": {"first": link, "prev": link, "next": link, "last": link},
                        },
                    },
                },
            ]
        },
        "Page": {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": {"$ref": "#/components/schemas/VersionListItem"}},
                "count": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        },
        "PageWithStats": {
            "type": "object",
            "properties": {
                "data": {
                    "type": "array",
                    "items": {"allOf": [_ITEM, {"type": "object", "properties": _STATS}]},
                },
                "count": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
            },
        },
        "Diff": {
            "type": "object",
            "properties": {
                "serviceId": {"type": "string"},
                "termsType": {"type": "string"},
                "from": {"type": ["object", "null"]},
                "to": {"type": "object"},
                "wordsAdded": {"type": "integer"},
                "wordsRemoved": {"type": "integer"},
                "significance": {"type": "object", "description": "The classification of this change."},
                "hunks": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Significance": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "serviceId": {"type": "string"},
                "termsType": {"type": "string"},
                "fetchDate": {"type": "string", "format": "date-time"},
                "significance": {"enum": ["cosmetic", "editorial", "substantive", None]},
                "minor": {"type": "boolean", "description": "A substantive change of a few words."},
                "recurrent": {"type": "boolean"},
                "recurrentOf": {"type": ["string", "null"]},
                "reasons": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "rule": {"type": "string"},
                            "significance": {"type": "string"},
                            "count": {"type": "integer"},
                            "examples": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
                "ruleset": {"type": ["string", "null"]},
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Open Terms Archive Collection API (ota)",
            "version": __version__,
            "description": (
                "The versions of the terms this collection tracks: as JSON, and as Atom feeds. Every answer "
                "carries an ETag (a 304 answers an If-None-Match naming it); every path also answers with a "
                "trailing slash."
            ),
        },
        "servers": [{"url": api_prefix}],
        "paths": paths,
        "components": {"schemas": schemas},
    }


async def openapi(request: Request) -> Response:
    return JSONAnswer(description(request.app.state.api_prefix))


async def docs(request: Request) -> Response:
    """The page for people; the description for machines (the engine's test: `Accept` matches json)."""
    document = description(request.app.state.api_prefix)
    if "json" in request.headers.get("accept", ""):
        return JSONAnswer(document)
    operations = [
        {
            "path": path,
            "method": method.upper(),
            "summary": operation.get("summary", ""),
            "description": operation.get("description", ""),
            "tag": (operation.get("tags") or [""])[0],
            "parameters": operation.get("parameters", []),
            "responses": [
                (code, answer.get("description", "")) for code, answer in operation["responses"].items()
            ],
        }
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "docs.html",
        {
            "title": "API",
            "prefix": request.app.state.api_prefix,
            "operations": operations,
            "schemas": json.dumps(document["components"]["schemas"], indent=2),
        },
    )
    return response
