"""Links that leave ota in reports and notifications: to the viewer (`ota serve`) and to snapshots.

The viewer's URL format lives in `viewer_url` alone, so that it can follow `ota serve` in one place.
"""

from __future__ import annotations

from urllib.parse import quote

from ota.settings import SNAPSHOT_ID_MARKER


def viewer_url(public_url: str, service_id: str, terms_type: str) -> str | None:
    """The page of these terms in `ota serve` reached at `public_url`, or None when it is not set.

    `PUBLIC_URL/services/SERVICE_ID/TERMS%20TYPE` (the route of `ota.web.views`): each part
    percent-encoded, `/` included (service IDs may hold any character a file name can).
    """
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/services/{quote(service_id, safe='')}/{quote(terms_type, safe='')}"


def viewer_diff_url(public_url: str, version_id: str, *, first_record: bool = False) -> str | None:
    """The viewer's page of what a version changed (of the version itself, for a first record)."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/versions/{version_id}" + ("" if first_record else "/diff")


def snapshot_url(link_template: str, snapshot_id: str) -> str | None:
    """The snapshot's link from OTA's `snapshotIdentiferTemplate`, or None when it makes no URL."""
    link = link_template.replace(SNAPSHOT_ID_MARKER, snapshot_id)
    return link if link.startswith(("http://", "https://")) else None
