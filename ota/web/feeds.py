"""Atom feeds of the real changes (first records and changes; technical upgrades are left out), as
Open Terms Archive's Collection API writes them: the same ids (tag URIs), titles, links,
categories and layout (xml-js's, two spaces), so a reader subscribed to one sees the other's
entries as the same entries.

Where OTA links each entry to the version's JSON, ota links it to the viewer's page of what changed
(the version's page for a first record), with the JSON as a `related` link, and says in a summary
how many words were added and removed and what changed by section ("§4A added; §5 reworded; 2
links changed", as the diff page says at its top); its content quotes the words changed (an
excerpt, removed words struck, added ones marked). Both were computed when the viewer's index
counted the version (`ota.diff.sections.account`), so a feed costs no diff. `[serve]
version_url_template` still names another page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from markupsafe import escape

from ota.store.records import CHANGE, FIRST_RECORD
from ota.web.dates import iso, iso_ms
from ota.web.rows import Version

#: RFC 4151 tag authority of OTA's feed and entry ids: the year is fixed for good.
TAG_AUTHORITY = "opentermsarchive.org,2026"
FEED_AUTHOR_NAME = "Open Terms Archive engine"
STORAGE_TYPE = "git"
DEFAULT_LIMIT = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Feed:
    """A feed's identity: its collection, scope and addresses."""

    collection_id: str
    name: str
    tagline: str | None
    logo: str | None
    #: The API's absolute base URL (`https://host/api/v1`).
    base_url: str
    service_id: str | None = None
    terms_type: str | None = None
    #: OTA's `versionUrlTemplate` (`…/commit/%VERSION_ID`): each entry's link, instead of the viewer's.
    version_url_template: str = ""
    #: The viewer's absolute address (`https://host`): entries link to its pages; empty: to the API.
    viewer_url: str = ""

    @property
    def self_href(self) -> str:
        parts = [self.service_id, self.terms_type]
        return "/".join([f"{self.base_url}/feed", *(_encode(part) for part in parts if part is not None)])

    @property
    def id(self) -> str:
        parts = [self.service_id, self.terms_type]
        return ":".join(
            [f"tag:{TAG_AUTHORITY}:feed", self.collection_id, *(p for p in parts if p is not None)]
        )


def last_modified(versions: Sequence[Version]) -> datetime:
    """The feed's date: its newest entry's, or the epoch for an empty feed (stable across requests)."""
    return versions[0].date if versions else _EPOCH


def atom(feed: Feed, versions: Sequence[Version]) -> str:
    """The feed's XML, newest entry first."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{_text(feed.name)}</title>",
        f"  <id>{_text(feed.id)}</id>",
        f"  <updated>{iso_ms(last_modified(versions))}</updated>",
        f'  <link rel="self" type="application/atom+xml" href="{_attribute(feed.self_href)}"/>',
        "  <author>",
        f"    <name>{FEED_AUTHOR_NAME}</name>",
        "  </author>",
    ]
    if feed.tagline:
        lines.append(f"  <subtitle>{_text(feed.tagline)}</subtitle>")
    if feed.logo:
        lines.append(f"  <logo>{_text(feed.logo)}</logo>")
    for version in versions:
        lines.extend(_entry(feed, version))
    lines.append("</feed>")
    return "\n".join(lines)


def _entry(feed: Feed, version: Version) -> list[str]:
    path = "/".join(_encode(part) for part in (version.service_id, version.terms_type, iso(version.date)))
    api_href = f"{feed.base_url}/version/{path}"
    links = []
    if feed.version_url_template:
        links.append(("alternate", "text/html", feed.version_url_template.replace("%VERSION_ID", version.id)))
    elif feed.viewer_url:
        page = f"/versions/{version.id}" + ("" if version.is_first_record else "/diff")
        links.append(("alternate", "text/html", feed.viewer_url + page))
    links.append(("related" if links else "alternate", "application/json", api_href))
    prefix = FIRST_RECORD if version.is_first_record else CHANGE
    record_type = "First record" if version.is_first_record else "Change"
    categories = (
        (version.service_id, "service"),
        (version.terms_type, "terms-type"),
        (record_type, "record-type"),
    )
    return [
        "  <entry>",
        f"    <id>tag:{TAG_AUTHORITY}:version:{_text(feed.collection_id)}:{STORAGE_TYPE}:{version.id}</id>",
        *(f'    <link rel="{rel}" type="{kind}" href="{_attribute(href)}"/>' for rel, kind, href in links),
        f"    <title>{_text(f'{prefix} {version.service_id} {version.terms_type}')}</title>",
        f"    <updated>{iso_ms(version.date)}</updated>",
        f"    <summary>{_text(_summary(version))}</summary>",
        *_content(version, links[0][2] if links[0][1] == "text/html" else ""),
        *(
            f'    <category term="{_attribute(term)}" scheme="tag:{TAG_AUTHORITY}:scheme:{scheme}"/>'
            for term, scheme in categories
        ),
        "  </entry>",
    ]


def _summary(version: Version) -> str:
    """What an entry says in words: what happened, when, and how many words changed."""
    what = "First recorded" if version.is_first_record else "Changed"
    text = f"{version.service_id} — {version.terms_type}: {what} on {version.date:%Y-%m-%d %H:%M} UTC"
    if version.words_added is not None and not version.is_first_record:
        added, removed = version.words_added, version.words_removed or 0
        text += f"; {added} word{'' if added == 1 else 's'} added, {removed} removed"
    told = version.account
    return text + "." + (f" {told.summary}." if told is not None and told.summary else "")


def _content(version: Version, page: str) -> list[str]:
    """The entry's content: what changed by section, the excerpt of the words changed (removed
    ones struck, added ones marked), and a link to the page of the whole change."""
    told = version.account
    if told is None or not told.excerpt:
        return []
    marks = {"insert": ("<ins>", "</ins>"), "delete": ("<del>", "</del>"), "equal": ("", "")}
    pieces = [
        " … " if op == "gap" else f"{marks[op][0]}{escape(text)}{marks[op][1]}" for op, text in told.excerpt
    ]
    html = f"<p>{escape(told.summary)}</p><blockquote><p>{''.join(pieces)}</p></blockquote>"
    if page:
        html += f'<p><a href="{escape(page)}">See the whole change</a></p>'
    return [f'    <content type="html">{_text(html)}</content>']


def _encode(value: str) -> str:
    """JavaScript's `encodeURIComponent`."""
    return quote(value, safe="!'()*-._~")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    return _text(value).replace('"', "&quot;")
