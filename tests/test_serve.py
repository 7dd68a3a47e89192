"""`ota serve` end to end: a collection tracked by the real `ota track` (pages served on 127.0.0.1),
served by the real server, asked over HTTP: the Collection API, the feeds, the pages, the guards."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pytest_httpserver import HTTPServer

from ota.web.app import CONTENT_SECURITY_POLICY
from tests.conftest import past_instants
from tests.serving import Collection, free_port, make_collection, served

ATOM = "{http://www.w3.org/2005/Atom}"
TOS = "Example/Terms%20of%20Service"


@pytest.fixture(scope="module")
def collection(make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Collection:
    """Three runs of `ota track`: first records, then changes, then a technical upgrade (the
    declaration changed, not the page), each at its own date."""
    tracked = make_collection(tmp_path_factory.mktemp("collection"), make_httpserver)
    first, second = past_instants(2)
    tracked.serve("the rules", days=30)
    tracked.track(at=first)
    tracked.serve("the new rules", days=90, what="your email and your phone number")
    tracked.track(at=second)
    declaration_path = tracked.root / "declarations" / "Example.json"
    declaration = json.loads(declaration_path.read_text("utf-8"))
    declaration["terms"]["Terms of Service"]["remove"] = "p:nth-of-type(4)"
    declaration_path.write_text(json.dumps(declaration, indent=2), "utf-8")
    output = tracked.track()
    assert "1 technical upgrade" in output, output
    return tracked


@pytest.fixture(scope="module")
def base(collection: Collection) -> Iterator[str]:
    with served(collection.settings()) as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as http:
        yield http


def get_json(client: httpx.Client, path: str, status: int = 200) -> Any:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


# -- services and metadata --------------------------------------------------------------------------


def test_services_list_every_declared_service_with_its_terms_types(client: httpx.Client) -> None:
    """GET /services answers OTA's `[{id, name, terms: [{type}]}]`, services by ID, terms as declared."""
    assert get_json(client, "/api/v1/services") == [
        {
            "id": "Example",
            "name": "Example",
            "terms": [{"type": "Terms of Service"}, {"type": "Privacy Policy"}],
        },
        {"id": "Service B!", "name": "Service B!", "terms": [{"type": "Privacy Policy"}]},
    ]


def test_a_service_shows_its_source_documents_as_declared(
    client: httpx.Client, collection: Collection
) -> None:
    """GET /service/ID gives each terms' source documents with selectors as written; unknown: JSON 404."""
    body = get_json(client, f"/api/v1/service/{quote('Service B!')}")
    assert body == {
        "id": "Service B!",
        "name": "Service B!",
        "terms": [
            {
                "type": "Privacy Policy",
                "sourceDocuments": [
                    {"location": collection.site.url_for("/privacy"), "contentSelectors": "h1, p"}
                ],
            }
        ],
    }
    example = get_json(client, "/api/v1/service/Example")
    privacy = example["terms"][1]["sourceDocuments"][0]
    assert privacy["contentSelectors"] == ["article"] and privacy["insignificantContentSelectors"] == ".ad"
    assert get_json(client, "/api/v1/service/example", 404) == {"error": "Service not found"}


def test_metadata_adds_totals_and_the_engine_version_to_metadata_yml(client: httpx.Client) -> None:
    """GET /metadata is metadata.yml (dates as JavaScript writes them) with totals and the engine version."""
    body = get_json(client, "/api/v1/metadata")
    assert body["id"] == "demo" and body["name"] == "Demo & Co collection"
    assert body["trackingPeriods"][0]["startDate"] == "2024-01-01T00:00:00.000Z"
    assert (body["totalServices"], body["totalTerms"]) == (2, 3)
    assert body["engineVersion"].count(".") == 2


# -- versions ---------------------------------------------------------------------------------------------


def test_versions_are_listed_newest_first_with_their_kinds_and_a_total(client: httpx.Client) -> None:
    """GET /versions lists every record, technical upgrades too, newest first, with count, limit, offset."""
    body = get_json(client, "/api/v1/versions")
    assert (body["count"], body["limit"], body["offset"]) == (7, 100, 0)
    dates = [item["fetchDate"] for item in body["data"]]
    assert dates == sorted(dates, reverse=True)
    newest = body["data"][0]
    assert newest["serviceId"] == "Example" and newest["termsType"] == "Terms of Service"
    assert newest["isTechnicalUpgrade"] is True and newest["isFirstRecord"] is False
    assert sum(item["isFirstRecord"] for item in body["data"]) == 3
    assert set(newest) == {"id", "serviceId", "termsType", "fetchDate", "isFirstRecord", "isTechnicalUpgrade"}


def test_versions_are_paginated_by_limit_and_offset(client: httpx.Client) -> None:
    """`limit` and `offset` page through the same order; out-of-range values answer OTA's 400s."""
    every = [item["id"] for item in get_json(client, "/api/v1/versions")["data"]]
    pages = [get_json(client, f"/api/v1/versions?limit=3&offset={offset}") for offset in (0, 3, 6)]
    assert [item["id"] for page in pages for item in page["data"]] == every
    assert [len(page["data"]) for page in pages] == [3, 3, 1] and pages[2]["count"] == 7
    assert get_json(client, "/api/v1/versions?offset=50")["data"] == []
    for query, message in (
        ("limit=0", "Invalid limit parameter. Must be a positive integer."),
        ("limit=abc", "Invalid limit parameter. Must be a positive integer."),
        ("limit=501", "Invalid limit parameter. Must not exceed 500."),
        ("offset=-1", "Invalid offset parameter. Must be a non-negative integer."),
    ):
        assert get_json(client, f"/api/v1/versions?{query}", 400) == {"error": message}


def test_versions_of_a_service_and_of_a_terms_with_line_counts(client: httpx.Client) -> None:
    """GET /versions/ID and /versions/ID/TYPE scope the list; the latter adds lines added and deleted."""
    service = get_json(client, "/api/v1/versions/Example")
    assert service["count"] == 5 and {item["serviceId"] for item in service["data"]} == {"Example"}
    terms = get_json(client, f"/api/v1/versions/{TOS}")
    assert terms["count"] == 3
    first = terms["data"][-1]
    assert first["isFirstRecord"] and first["additions"] > 0 and first["deletions"] == 0
    assert terms["data"][1]["additions"] == 2 and terms["data"][1]["deletions"] == 2
    assert get_json(client, "/api/v1/versions/Nobody", 404) == {
        "error": 'No versions found for service "Nobody"'
    }
    assert get_json(client, "/api/v1/versions/Example/Imprint", 404) == {
        "error": 'No versions found for service "Example" and terms type "Imprint"'
    }


def test_a_version_by_id_links_to_the_first_previous_next_and_last(client: httpx.Client) -> None:
    """GET /version/VERSION_ID gives the content, OTA's fields, navigation links and line counts;
    an abbreviated ID works, anything else is a JSON 404."""
    ids = [item["id"] for item in get_json(client, f"/api/v1/versions/{TOS}")["data"]][::-1]
    body = get_json(client, f"/api/v1/version/{ids[1]}")
    assert body["links"] == {"first": ids[0], "prev": ids[0], "next": ids[2], "last": ids[2]}
    assert "You agree to the new rules." in body["content"]
    assert body["serviceId"] == "Example" and body["termsType"] == "Terms of Service"
    assert body["isFirstRecord"] is False and body["isTechnicalUpgrade"] is False
    assert (body["additions"], body["deletions"]) == (2, 2)
    assert get_json(client, f"/api/v1/version/{ids[1][:10]}")["id"] == ids[1]
    for bad in ("0" * 40, "--output=x", "abc..def", "zzzzzzz"):
        assert get_json(client, f"/api/v1/version/{quote(bad)}", 404) == {
            "error": f'No version found with ID "{bad}"'
        }


def test_the_latest_version_of_a_terms(client: httpx.Client) -> None:
    """GET /version/ID/TYPE/latest is the newest version (here the technical upgrade), with links."""
    body = get_json(client, f"/api/v1/version/{TOS}/latest")
    assert body["isTechnicalUpgrade"] is True and body["links"]["next"] is None
    assert "Contact us by mail." not in body["content"]
    assert get_json(client, "/api/v1/version/Example/Imprint/latest", 404) == {
        "error": 'No version found for service "Example" and terms type "Imprint"'
    }


def test_the_version_in_force_at_a_date(client: httpx.Client) -> None:
    """GET /version/ID/TYPE/DATE: the last version dated at or before DATE, in OTA 14.1's body;
    404 before the first, 416 for a future date, 400 for something that is not a date."""
    versions = get_json(client, f"/api/v1/versions/{TOS}")["data"][::-1]
    first_date = datetime.fromisoformat(versions[0]["fetchDate"])
    body = get_json(client, f"/api/v1/version/{TOS}/{versions[0]['fetchDate']}")
    assert set(body) == {"id", "fetchDate", "content"} and body["id"] == versions[0]["id"]
    assert "You agree to the rules." in body["content"]
    between = (first_date + timedelta(milliseconds=500)).isoformat()
    assert get_json(client, f"/api/v1/version/{TOS}/{quote(between)}")["id"] == versions[0]["id"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert get_json(client, f"/api/v1/version/{TOS}/{now}")["id"] == versions[-1]["id"]
    assert get_json(client, f"/api/v1/version/{TOS}/2001-01-01", 404) == {
        "error": "No version found for date 2001-01-01"
    }
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    assert get_json(client, f"/api/v1/version/{TOS}/{future}", 416) == {
        "error": "Requested version is in the future"
    }
    assert "error" in get_json(client, f"/api/v1/version/{TOS}/yesterday", 400)
    assert get_json(client, f"/api/v1/version/Nobody/Imprint/{now}", 404) == {
        "error": f"No version found for date {now}"
    }


def test_the_diff_endpoint_gives_the_words_that_changed(client: httpx.Client) -> None:
    """GET /diff/VERSION_ID diffs a version with the previous one, word by word; /diff/A/B any two."""
    ids = [item["id"] for item in get_json(client, f"/api/v1/versions/{TOS}")["data"]][::-1]
    body = get_json(client, f"/api/v1/diff/{ids[1]}")
    assert body["from"]["id"] == ids[0] and body["to"]["id"] == ids[1]
    inserted = [
        t["text"] for h in body["hunks"] for b in h["blocks"] for t in b["tokens"] if t["op"] == "insert"
    ]
    deleted = [
        t["text"] for h in body["hunks"] for b in h["blocks"] for t in b["tokens"] if t["op"] == "delete"
    ]
    assert "new" in "".join(inserted) and "90" in "".join(inserted) and "30" in "".join(deleted)
    assert body["wordsAdded"] == 2 and body["wordsRemoved"] == 1
    both = get_json(client, f"/api/v1/diff/{ids[0]}/{ids[2]}")
    assert both["from"]["id"] == ids[0] and "Contact" in "".join(
        t["text"] for h in both["hunks"] for b in h["blocks"] for t in b["tokens"] if t["op"] == "delete"
    )
    other = get_json(client, "/api/v1/versions/Service%20B%21")["data"][0]["id"]
    assert "error" in get_json(client, f"/api/v1/diff/{other}/{ids[2]}", 404)


# -- feeds ---------------------------------------------------------------------------------------------


def entries(xml: str) -> list[ET.Element]:
    return ET.fromstring(xml).findall(f"{ATOM}entry")


def test_the_feed_lists_real_changes_newest_first_as_otas_feed_does(client: httpx.Client, base: str) -> None:
    """GET /feed: Atom with OTA's tag ids and layout; first records and changes, no technical upgrade."""
    response = client.get("/api/v1/feed")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.text.startswith(
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        "  <title>Demo &amp; Co collection</title>\n  <id>tag:opentermsarchive.org,2026:feed:demo</id>"
    )
    feed = ET.fromstring(response.text)
    assert feed.find(f"{ATOM}link").attrib == {
        "rel": "self",
        "type": "application/atom+xml",
        "href": f"{base}/api/v1/feed",
    }
    found = entries(response.text)
    assert len(found) == 6
    titles = [entry.find(f"{ATOM}title").text for entry in found]
    assert not any(title.startswith("Apply technical") for title in titles)
    assert sum(title.startswith("First record of") for title in titles) == 3
    updated = [entry.find(f"{ATOM}updated").text for entry in found]
    assert updated == sorted(updated, reverse=True) and updated[0].endswith(".000Z")
    first = found[0]
    version_id = first.find(f"{ATOM}id").text.rsplit(":", 1)[1]
    assert first.find(f"{ATOM}id").text == f"tag:opentermsarchive.org,2026:version:demo:git:{version_id}"
    links = {link.attrib["rel"]: link.attrib for link in first.findall(f"{ATOM}link")}
    assert links["alternate"]["type"] == "text/html"  # the viewer's page of what changed
    assert links["alternate"]["href"].startswith(f"{base}/versions/{version_id}")
    assert httpx.get(links["alternate"]["href"]).status_code == 200
    assert links["related"]["type"] == "application/json"  # OTA's link, to the API
    assert httpx.get(links["related"]["href"]).json()["id"] == version_id
    summaries = [entry.find(f"{ATOM}summary").text for entry in found]
    assert any("Changed on" in text and "words added" in text for text in summaries)
    schemes = {
        c.attrib["scheme"].rsplit(":", 1)[1]: c.attrib["term"] for c in first.findall(f"{ATOM}category")
    }
    assert schemes["record-type"] in ("Change", "First record") and set(schemes) == {
        "service",
        "terms-type",
        "record-type",
    }


def test_a_feed_entry_says_what_changed_by_section_and_quotes_the_words_changed(
    client: httpx.Client, base: str
) -> None:
    """A change's entry: its summary says what changed by section (as the diff page's top does),
    its content quotes the words changed, removed ones struck, and links to the viewer's diff page."""
    feed = client.get(f"/api/v1/feed/{TOS}")
    change = next(
        e for e in entries(feed.text) if e.find(f"{ATOM}title").text.startswith("Record new changes")
    )
    summary = change.find(f"{ATOM}summary").text
    assert summary.endswith("; 2 words added, 1 removed. “Terms of Service” reworded."), summary
    content = change.find(f"{ATOM}content")
    assert content.attrib["type"] == "html"
    html = content.text
    assert "<p>“Terms of Service” reworded</p>" in html
    assert "You agree to the <ins>new </ins>rules" in html and "<del>30</del><ins>90</ins> days" in html
    diff = next(
        link.attrib["href"] for link in change.findall(f"{ATOM}link") if link.attrib["rel"] == "alternate"
    )
    assert diff.endswith("/diff") and f'<a href="{diff}">' in html
    page = httpx.get(diff)
    assert page.status_code == 200 and "“Terms of Service”" in page.text and "reworded" in page.text
    first = next(e for e in entries(feed.text) if e.find(f"{ATOM}title").text.startswith("First record"))
    assert first.find(f"{ATOM}content") is None  # nothing changed yet: nothing to quote


def test_feeds_of_a_service_and_of_a_terms(client: httpx.Client) -> None:
    """/feed/ID and /feed/ID/TYPE keep their scope; an undeclared service or terms type is a 404."""
    service = client.get(f"/api/v1/feed/{quote('Service B!')}")
    assert (
        ET.fromstring(service.text).find(f"{ATOM}id").text
        == "tag:opentermsarchive.org,2026:feed:demo:Service B!"
    )
    assert len(entries(service.text)) == 2
    terms = client.get(f"/api/v1/feed/{TOS}")
    assert len(entries(terms.text)) == 2 and "Terms%20of%20Service" in terms.text
    nobody = client.get("/api/v1/feed/Nobody")
    assert nobody.status_code == 404 and nobody.json() == {"error": "Service not found"}  # as other 404s
    imprint = client.get("/api/v1/feed/Example/Imprint")
    assert imprint.status_code == 404 and imprint.headers["content-type"] == "application/json; charset=utf-8"
    assert imprint.json() == {"error": "Terms type not found for this service"}


def test_feeds_answer_304_when_nothing_changed_since(client: httpx.Client) -> None:
    """Last-Modified is the newest entry's date; If-Modified-Since not older gets a 304, older a 200."""
    response = client.get("/api/v1/feed")
    modified = response.headers["last-modified"]
    assert modified.endswith(" GMT")
    again = client.get("/api/v1/feed", headers={"If-Modified-Since": modified})
    assert again.status_code == 304 and again.content == b""
    earlier = datetime.strptime(modified, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC) - timedelta(
        seconds=1
    )
    older = client.get("/api/v1/feed", headers={"If-Modified-Since": format_datetime(earlier, usegmt=True)})
    assert older.status_code == 200
    tagged = client.get("/api/v1/feed", headers={"If-None-Match": response.headers["etag"]})
    assert tagged.status_code == 304


# -- HTTP as the engine's server (Express) answers ---------------------------------------------------------


def test_json_answers_carry_an_etag_and_a_client_that_has_them_gets_a_304(client: httpx.Client) -> None:
    """Every JSON answer is `application/json; charset=utf-8` with Express's weak ETag (length in hex,
    SHA-1 in base64); If-None-Match naming it (weakly, or `*`) gets an empty 304; errors never do."""
    for path in ("/api/v1/services", "/api/v1/service/Example", f"/api/v1/versions/{TOS}", "/api/v1/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        digest = base64.b64encode(hashlib.sha1(response.content).digest()).decode()[:27]
        tag = response.headers["etag"]
        assert tag == f'W/"{len(response.content):x}-{digest}"', path
        for sent in (tag, tag.removeprefix("W/"), f'"other", {tag}', "*"):
            again = client.get(path, headers={"If-None-Match": sent})
            assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag, sent
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
        assert client.head(path, headers={"If-None-Match": tag}).status_code == 304
    changed = client.get(f"/api/v1/versions/{TOS}?limit=1")
    assert changed.headers["etag"] != client.get(f"/api/v1/versions/{TOS}").headers["etag"]
    missing = client.get("/api/v1/service/Nobody", headers={"If-None-Match": "*"})
    assert missing.status_code == 404 and missing.json() == {"error": "Service not found"}
    assert missing.headers["content-type"] == "application/json; charset=utf-8" and "etag" in missing.headers
    unknown = client.get("/api/v1/no/such/route")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/json; charset=utf-8"
    feed = client.get("/api/v1/feed")
    digest = base64.b64encode(hashlib.sha1(feed.content).digest()).decode()[:27]
    assert feed.headers["etag"] == f'W/"{len(feed.content):x}-{digest}"'


def test_every_route_answers_the_same_with_one_trailing_slash(client: httpx.Client) -> None:
    """`/services/`, `/service/ID/`, `/version/ID/TYPE/latest/`… answer as without the slash (Express's
    non-strict routing); two slashes are not a route."""
    version_id = get_json(client, f"/api/v1/versions/{TOS}")["data"][0]["id"]
    for path in (
        "/api/v1/services",
        "/api/v1/service/Example",
        f"/api/v1/service/{quote('Service B!')}",
        "/api/v1/metadata",
        "/api/v1/versions",
        "/api/v1/versions/Example",
        f"/api/v1/versions/{TOS}",
        f"/api/v1/version/{version_id}",
        f"/api/v1/version/{TOS}/latest",
        f"/api/v1/diff/{version_id}",
        "/api/v1/feed",
        f"/api/v1/feed/{TOS}",
        "/api/v1/openapi.json",
        "/api/v1/service/Nobody",
    ):
        plain, slashed = client.get(path), client.get(f"{path}/")
        assert (slashed.status_code, slashed.content) == (plain.status_code, plain.content), path
    for path in ("/api/v1/services//", "/api/v1/service/Example//"):
        assert client.get(path).status_code == 404


def test_docs_asked_for_json_answer_the_openapi_description(client: httpx.Client) -> None:
    """GET /docs/ (or /docs) with an Accept naming JSON is the OpenAPI description, as the engine's;
    a browser still gets ota's page."""
    description = get_json(client, "/api/v1/openapi.json")
    for path in ("/api/v1/docs/", "/api/v1/docs"):
        for accept in ("application/json", "application/json, text/plain, */*"):
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 200 and response.json() == description, (path, accept)
            assert response.headers["content-type"] == "application/json; charset=utf-8"
        page = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "GET /api/v1/services" in page.text


# -- the API's description and the guards ---------------------------------------------------------------


def test_the_openapi_description_and_the_docs_page_cover_every_route(client: httpx.Client) -> None:
    """/openapi.json describes each route; /docs shows them, from this origin, without script."""
    description = get_json(client, "/api/v1/openapi.json")
    assert description["openapi"].startswith("3.1")
    for route in (
        "/services",
        "/service/{serviceId}",
        "/versions",
        "/version/{versionId}",
        "/feed",
        "/diff/{versionId}",
    ):
        assert route in description["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "GET /api/v1/version/{serviceId}/{termsType}/{date}" in docs.text
    assert "<script" not in docs.text and "https://cdn" not in docs.text


def test_only_get_and_head_are_answered(client: httpx.Client) -> None:
    """POST, PUT, DELETE… get a 405 naming GET and HEAD; HEAD works."""
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        response = client.request(method, "/api/v1/services")
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert client.head("/api/v1/services").status_code == 200


def test_every_response_carries_a_strict_content_security_policy(client: httpx.Client) -> None:
    """Pages, API answers and errors forbid other origins' and inline scripts, frames and referrers."""
    for path in ("/", "/api/v1/services", "/api/v1/nothing", "/no/such/page"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe" not in policy
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_a_bug_is_answered_500_with_the_security_headers(
    collection: Collection, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in a route (a bug of ota, made here by a route that raises) is answered 500,
    JSON under the API, text elsewhere, with the same security headers as every other answer
    (Starlette sends it from outside every middleware), and logged."""

    async def broken(request: object) -> None:
        raise RuntimeError("a bug")

    from ota.web import api, views

    monkeypatch.setattr(api, "metadata", broken)
    monkeypatch.setattr(views, "home", broken)
    with served(collection.settings()) as url:
        for path, kind in (("/api/v1/metadata", "application/json"), ("/", "text/plain")):
            response = httpx.get(url + path, timeout=30)
            assert response.status_code == 500 and response.headers["content-type"].startswith(kind)
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
    assert "RuntimeError: a bug" in caplog.text


def test_the_api_root_without_its_trailing_slash_answers_as_with_it(client: httpx.Client) -> None:
    """`/api/v1` is `/api/v1/` (OTA's engine answers both, Express mounting its router there), not a
    redirect."""
    bare = client.get("/api/v1", follow_redirects=False)
    assert bare.status_code == 200 and bare.json() == client.get("/api/v1/").json()


def test_hostile_identifiers_never_reach_git_or_files(client: httpx.Client, collection: Collection) -> None:
    """Path traversal and option injection in IDs get 404s, and read nothing outside the collection."""
    secret = collection.root / "secret.md"
    secret.write_text("secret", "utf-8")
    for path in (
        "/api/v1/version/..%2F..%2Fsecret/x/latest",
        "/api/v1/version/--output=%2Ftmp%2Fx/Terms/latest",
        "/api/v1/versions/%2E%2E%2F%2E%2E",
        "/api/v1/service/..%2Fmetadata",
        "/services/..%2F..%2Fsecret/x",
        "/snapshots/..%2F..%2Fsecret",
        "/versions/--all",
    ):
        response = client.get(path)
        assert response.status_code in (404, 400), path
        assert "secret" not in response.text.replace("secret.md", "")


# -- pages --------------------------------------------------------------------------------------------


def test_pages_render_and_link_to_each_other(client: httpx.Client) -> None:
    """Home, terms, version, diff and snapshot pages answer, and snapshots are sandboxed text."""
    home = client.get("/?q=service+b&type=Privacy+Policy")
    services = home.text.split('id="services-heading"', 1)[1].split('id="latest-heading"', 1)[0]
    assert home.status_code == 200 and "Service B!" in services and "Example" not in services
    terms = client.get(f"/services/{TOS}")
    assert terms.status_code == 200 and "Technical upgrade" in terms.text and "+2" in terms.text
    ids = [item["id"] for item in get_json(client, f"/api/v1/versions/{TOS}")["data"]][::-1]
    version = client.get(f"/versions/{ids[1]}")
    assert version.status_code == 200 and f"/versions/{ids[1]}" in version.text
    assert "&lt;img src=x onerror=" in version.text and 'href="javascript:' not in version.text
    diff = client.get(f"/versions/{ids[1]}/diff")
    assert '<ins><span class="sr">[added: </span>new' in diff.text and "<del>" in diff.text
    side = client.get(f"/versions/{ids[1]}/diff?view=side")
    assert 'class="side"' in side.text
    snapshot_link = version.text.split('href="/snapshots/', 1)[1].split('"', 1)[0]
    about = client.get(f"/snapshots/{snapshot_link}")
    assert about.status_code == 200 and about.headers["content-type"].startswith("text/html")
    assert "&lt;main&gt;" in about.text and "<main>" not in about.text.split('class="source"')[1]
    assert "/terms" in about.text.split("Address")[1][:300]  # where it was fetched from
    assert '<dt>HTTP status</dt><dd class="status">200</dd>' in about.text  # its X-fetch-status trailer
    assert f'href="/versions/{ids[1]}"' in about.text.split("Versions citing it")[1]  # it cites it
    assert client.get(f"/snapshots/{snapshot_link[:10]}").headers["location"] == f"/snapshots/{snapshot_link}"
    snapshot = client.get(f"/snapshots/{snapshot_link}?raw=1")
    assert snapshot.status_code == 200 and snapshot.headers["content-type"].startswith("text/plain")
    assert snapshot.headers["content-security-policy"] == "sandbox" and "<main>" in snapshot.text
    download = client.get(f"/snapshots/{snapshot_link}?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    assert (
        "filename*=UTF-8''Example%20-%20Terms%20of%20Service%20-%20"
        in download.headers["content-disposition"]
    )
    markdown = client.get(f"/versions/{ids[0]}/markdown")
    assert markdown.headers["content-type"].startswith("text/markdown") and "You agree to" in markdown.text
    assert ".md" in markdown.headers["content-disposition"]
    at = client.get(f"/services/{TOS}/at?date=2001-01-01")
    assert at.status_code == 404
    now = datetime.now(UTC)
    today = client.get(f"/services/{TOS}/at", params={"date": f"{now:%Y-%m-%d}", "time": f"{now:%H:%M:%S}"})
    assert today.status_code == 303 and today.headers["location"].startswith(f"/versions/{ids[2]}")


def test_the_server_picks_up_what_track_publishes_while_it_runs(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A run of `ota track` while the server runs shows up at the next request, without a restart,
    on the home page too (which keeps what it derives from the index until the index moves), and so
    does a service a contributor declares meanwhile."""
    tracked = make_collection(tmp_path, httpserver)
    tracked.serve("the rules")
    tracked.track(at=past_instants(1)[0])
    with served(tracked.settings()) as url:
        assert httpx.get(f"{url}/api/v1/versions").json()["count"] == 3
        home = httpx.get(f"{url}/").text
        assert "what changed" not in home and "Newcomer" not in home
        assert "first recorded" in home and "last changed" not in home  # a first record is no change
        tracked.serve("other rules")
        tracked.track()
        body = httpx.get(f"{url}/api/v1/versions").json()
        assert body["count"] == 4 and body["data"][0]["isFirstRecord"] is False
        assert httpx.get(f"{url}/services/{TOS}").text.count("what changed") == 1
        home = httpx.get(f"{url}/").text
        assert home.count("what changed") == 1 and "last changed" in home
        declaration = {
            "name": "Newcomer",
            "terms": {"Imprint": {"fetch": httpserver.url_for("/terms"), "select": "main"}},
        }
        (tracked.root / "declarations" / "Newcomer.json").write_text(json.dumps(declaration))
        home = httpx.get(f"{url}/").text
        assert "Newcomer" in home and "not recorded yet" in home


def test_links_in_reports_and_notifications_reach_the_viewers_terms_page() -> None:
    """viewer_url (used by issues and notifications) names a route ota serve answers."""
    from starlette.routing import Route

    from ota.report.links import viewer_url
    from ota.web.views import routes

    url = viewer_url("https://archive.example.org", "Example Co", "Terms of Service")
    assert url == "https://archive.example.org/services/Example%20Co/Terms%20of%20Service"
    paths = {route.path for route in routes() if isinstance(route, Route)}
    assert "/services/{service_id}/{terms_type}" in paths


def test_the_ota_serve_command_serves_and_names_an_address_in_use(collection: Collection) -> None:
    """The real command: it says where it serves, answers there, and stops on SIGTERM; a
    second one on the same address exits 2 with one line naming the address."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "ota.cli",
        "serve",
        "--config",
        str(collection.config),
        "--port",
        str(port),
    ]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = subprocess.Popen(
        command, cwd=collection.root, stderr=subprocess.PIPE, text=True, env=environment
    )
    try:
        assert server.stderr is not None
        first_line = server.stderr.readline()
        assert first_line == f"ota: serving {collection.root / 'versions'} on http://127.0.0.1:{port}/\n"
        deadline = time.monotonic() + 120  # a watchdog: it returns once ota serve answers
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/services", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "ota serve did not answer"
                time.sleep(0.05)
        assert response.status_code == 200 and {s["id"] for s in response.json()} == {"Example", "Service B!"}

        second = subprocess.run(command, cwd=collection.root, capture_output=True, text=True, env=environment)
        assert (second.returncode, second.stderr) == (
            2,
            f"ota: cannot listen on 127.0.0.1:{port}: Address already in use\n",
        )
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down, then lets the signal end the process, as systemd and Docker expect
        assert server.wait(timeout=30) == -signal.SIGTERM
        if server.stderr is not None:
            server.stderr.close()


def test_the_servers_connections_send_without_waiting_for_acks() -> None:
    """The socket `ota serve` listens on makes asyncio set TCP_NODELAY on each connection: without
    it, a response written in two parts waited 40 ms for the client's delayed ACK."""
    from ota.web.app import _listening_socket

    async def nodelay_of_a_connection() -> int:
        listening = _listening_socket("127.0.0.1", 0)
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connection = writer.get_extra_info("socket")
            seen.set_result(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=listening)
        async with server:
            _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
            value = await asyncio.wait_for(seen, 10)
            writer.close()
            await writer.wait_closed()
        return value

    assert asyncio.run(nodelay_of_a_connection()) != 0


BAD_REQUESTS = {
    "two Content-Length": b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "an unknown Transfer-Encoding": b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    "a NUL in the target": b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
    "a 1 MB header": b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 2**20 + b"\r\n\r\n",
}


def raw_answer(port: int, request: bytes) -> bytes:
    """What the server answers to bytes sent as they are. They go in parts, and no more once an
    answer is there: bytes the server never reads would make its close a reset, losing the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        for start in range(0, len(request), 4096):
            if select.select([connection], [], [], 0.2)[0]:
                break
            connection.sendall(request[start : start + 4096])
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_every_interface_is_said_and_the_servers_own_400_answers_are_secured(collection: Collection) -> None:
    """`ota serve --host 0.0.0.0` warns in one line that it listens on every interface; requests
    uvicorn itself refuses (never reaching the app) get a 400 with the same security headers."""
    port = free_port()
    command = [sys.executable, "-m", "ota.cli", "serve", "--config", str(collection.config),
               "--host", "0.0.0.0", "--port", str(port)]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = subprocess.Popen(
        command, cwd=collection.root, stderr=subprocess.PIPE, text=True, env=environment
    )
    try:
        assert server.stderr is not None
        warning = server.stderr.readline()
        assert warning.startswith("ota: warning: listening on every interface (0.0.0.0): "), warning
        assert (
            server.stderr.readline()
            == f"ota: serving {collection.root / 'versions'} on http://0.0.0.0:{port}/\n"
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/services", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "ota serve did not answer"
                time.sleep(0.05)
        for what, request in BAD_REQUESTS.items():
            head = raw_answer(port, request).split(b"\r\n\r\n", 1)[0].decode().lower().splitlines()
            assert head and head[0].startswith("http/1.1 400"), (what, head)
            assert "x-content-type-options: nosniff" in head, (what, head)
            assert f"content-security-policy: {CONTENT_SECURITY_POLICY}".lower() in head, (what, head)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
