"""Checks of one record commit that need no extraction: its format, author, citations and date.

Each check returns findings (`ota.verify.findings.Finding`); none reads a repository itself: the
caller hands it what the readers gave. The formats are those of OTA-FORMATS §6, ota's and OTA's.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ota.store.reader import Change, CommitInfo
from ota.store.records import (
    RecordKind,
    cited_snapshots_any_engine,
    declared_source_count,
    parse_version_path,
    record_kind,
    trailers,
)
from ota.verify.findings import (
    NO_SNAPSHOT,
    NOT_A_VERSION,
    SNAPSHOT_ELSEWHERE,
    Check,
    Finding,
    Severity,
    change_finding,
)


@dataclass(frozen=True)
class VersionCommit:
    """A version commit and what its message says."""

    change: Change
    info: CommitInfo
    service_id: str
    terms_type: str
    kind: RecordKind | None
    snapshot_ids: tuple[str, ...]
    #: The `X-engine-version` trailer, None when the message has none.
    engine: str | None

    @property
    def by_ota(self) -> bool:
        """Whether ota (not Open Terms Archive's engine) says it recorded this version."""
        return self.engine is not None and self.engine.startswith("ota ")


def read_version(change: Change, info: CommitInfo) -> VersionCommit:
    """What a version commit's subject and message say."""
    service_id, terms_type = parse_version_path(change.path) or ("", "")
    return VersionCommit(
        change,
        info,
        service_id,
        terms_type,
        record_kind(change.subject, service_id, terms_type),
        tuple(cited_snapshots_any_engine(info.message)),
        trailers(info.message).get("x-engine-version"),
    )


def check_format(
    version: VersionCommit,
    *,
    files_changed: int,
    first: bool,
    trailers_seen: bool,
    author: tuple[str, str],
) -> list[Finding]:
    """One file changed, a known subject for this file, its sources and trailers, the bot as author.

    `first` says whether this is the first version of its file (or the first after a deletion);
    `trailers_seen` whether an earlier version of the repository carried an `X-engine-version`.
    """
    change, info = version.change, version.info
    found: list[Finding] = []

    def add(check: Check, severity: Severity, message: str, cause: str | None = None) -> None:
        found.append(change_finding(change, check, message, severity, cause))

    if version.kind is None and not version.snapshot_ids:
        found.append(
            change_finding(
                change,
                "format",
                f"changes a record file, but its subject {change.subject!r} is not one of a version and it "
                "cites no snapshot",
                "unverifiable",
                NOT_A_VERSION,
            )
        )
        return found  # a template's files, a maintainer's edit: nothing else of it can be checked
    if files_changed != 1:
        add("format", "unexplained", f"changes {files_changed} record files; a version commit changes one")
    if version.kind is None:
        add(
            "format",
            "unexplained",
            f"its subject {change.subject!r} is not one ota or OTA writes for this file",
        )
    elif version.kind == "first" and not first:
        add("format", "unexplained", "says it is a first record, but the file had a version before")
    elif version.kind != "first" and first:
        add("format", "unexplained", "is the first version of its file, but its subject does not say so")
    if not version.snapshot_ids:
        if version.kind is not None:
            message = "cites no snapshot: it cannot be checked against the page it comes from"
            add("format", "unverifiable", message, NO_SNAPSHOT)
    else:
        count = declared_source_count(info.message)
        if count is not None and count != len(version.snapshot_ids):
            add(
                "format",
                "unexplained",
                f"says it assembles {count} source documents but cites {len(version.snapshot_ids)}",
            )
    if version.engine is None:
        if trailers_seen:
            add("format", "unexplained", "has no X-engine-version trailer, unlike ota's versions before it")
        else:
            add(
                "format",
                "notice",
                "has no X-engine-version trailer",
                "older Open Terms Archive engines wrote none",
            )
    if (info.author_name, info.author_email) != author:
        message = f"authored by {info.author_name} <{info.author_email}>, not by {author[0]} <{author[1]}>"
        if version.by_ota:
            add("author", "unexplained", message)
        else:
            add("author", "notice", message, "not recorded by ota: Open Terms Archive's bots had other names")
    return found


def check_citations(
    version: VersionCommit,
    snapshots: Mapping[str, Sequence[Change]],
    combined: bool,
    snapshot_ids: Sequence[str] = (),
) -> tuple[list[Finding], list[Change]]:
    """The cited snapshots exist, record files of the same terms, and are not dated after the version.

    `snapshot_ids` are the commits of the snapshots repository, sorted: an abbreviated id is looked
    up there. Returns the findings and the cited snapshot records (one per cited commit that exists).
    """
    change = version.change
    found: list[Finding] = []
    cited: list[Change] = []
    prefix = f"{version.service_id}/{version.terms_type}"
    for snapshot_id in version.snapshot_ids:
        if len(snapshot_id) < 40:
            snapshot_id = _expand(snapshot_id, snapshot_ids)
        files = [c for c in snapshots.get(snapshot_id, ()) if c.blob_id is not None]
        if not files:
            message = f"cites the snapshot {snapshot_id}, which the snapshots repository does not have"
            if version.by_ota:  # ota cites the snapshots it recorded itself
                found.append(change_finding(change, "citation", message))
            else:  # Open Terms Archive's older collections, split into this one, cite their own
                found.append(change_finding(change, "citation", message, "unverifiable", SNAPSHOT_ELSEWHERE))
            continue
        wrong = [c.path for c in files if not _names_terms(c.path, prefix)]
        if wrong or len(files) != 1:
            found.append(
                change_finding(
                    change,
                    "citation",
                    f"cites the snapshot {snapshot_id}, which records {', '.join(c.path for c in files)}, "
                    f"not a page of {version.service_id} {version.terms_type}",
                )
            )
            continue
        snapshot = files[0]
        cited.append(snapshot)
        if snapshot.date > change.date:
            message = (
                f"is dated before the snapshot {snapshot_id[:12]} it cites "
                f"({snapshot.date:%Y-%m-%dT%H:%M:%SZ})"
            )
            if not version.by_ota and (combined or version.kind == "upgrade"):
                what = "combined terms' versions" if combined else "technical upgrades"
                cause = f"Open Terms Archive's engine dated {what} by an older snapshot"
                found.append(change_finding(change, "date", message, "explained", cause))
            else:
                found.append(change_finding(change, "date", message))
    return found, cited


def check_order(
    previous: Change | None, change: Change, now: datetime, repository: str = "versions"
) -> list[Finding]:
    """A record is not dated before the one it follows, nor in the future."""
    found = []
    if previous is not None and change.date < previous.date:
        found.append(
            change_finding(
                change,
                "date",
                f"is dated before the record it follows ({previous.commit_id[:12]}, "
                f"{previous.date:%Y-%m-%dT%H:%M:%SZ}): 'the terms as they were on a date' would depend on "
                "the order of commits, not on their dates",
                repository=repository,
            )
        )
    if change.date > now:
        found.append(change_finding(change, "date", "is dated in the future", repository=repository))
    return found


def _expand(prefix: str, snapshot_ids: Sequence[str]) -> str:
    """The one full id `prefix` abbreviates, else `prefix` itself."""
    at = bisect.bisect_left(snapshot_ids, prefix)
    found = at < len(snapshot_ids) and snapshot_ids[at].startswith(prefix)
    if found and (at + 1 == len(snapshot_ids) or not snapshot_ids[at + 1].startswith(prefix)):
        return snapshot_ids[at]
    return prefix


def _names_terms(path: str, prefix: str) -> bool:
    """Whether a snapshot path is a page of the terms `SERVICE_ID/TERMS TYPE`."""
    if not path.startswith(prefix):
        return False
    rest = path[len(prefix) :]
    return rest.startswith(" #") or (rest.startswith(".") and "/" not in rest and rest.count(".") == 1)
