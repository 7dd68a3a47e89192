"""Recording a version, telling a change of the terms from a change of how they are extracted.

These functions run in the recording process (`ota.store.writer`), where the versions repository
and the snapshots repository it cites are open. A new extraction that differs from the latest
version is one of:

- a **first record**, when the terms has no version yet;
- a **technical upgrade**, when it was extracted from the very snapshots the latest version cites:
  only the declaration or ota changed. It is dated when it is recorded;
- a **change of the terms**, when the page changed: dated by the newest snapshot it comes from;
- **both**, when the page changed *and* the declaration (or ota) changed since the latest
  version: the snapshots the latest version cites are extracted again with the current
  declaration and ota (`Baseline`); the difference between the latest version and that
  re-extraction is recorded first, as a technical upgrade, then the difference between the
  re-extraction and the new extraction, as the change. Both are dated by the change's snapshot
  (the upgrade one commit before it), so that for every date the version in force is the text
  of the page as it was then. When the re-extraction equals the new extraction, the page changed
  but not its terms: a technical upgrade alone. When the cited snapshots cannot be extracted with
  the current declaration, the whole difference is recorded as a change whose message says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ota.declarations import Terms
from ota.extract import PDF_MIME_TYPE
from ota.outcome import Recorded
from ota.store.records import (
    Recording,
    cited_snapshot_ids,
    record_version,
    version_path,
)

if TYPE_CHECKING:  # these functions run in the recording process, which imports git
    from ota.store.repository import Repository

_DOCUMENT_ID = re.compile(r" #(.*)\.[^./]+$")


@dataclass(frozen=True)
class Suspect:
    """A new text not recorded because it looks wrong (`ota.extract.suspicion`): `reason` says why,
    `block_page` whether it looks like a block page (never recorded) rather than a large loss."""

    reason: str
    block_page: bool


class Vet(Protocol):
    """The orchestrator's judgement of a new text (`ota.tracking.track.vet`), given the length of the latest
    version's text (None: no version yet): a `Suspect` is not recorded. It travels to the recording
    process by pickle, so it is a module-level function (or a `functools.partial` of one)."""

    def __call__(self, markdown: str, latest_length: int | None, /) -> Suspect | None: ...


@dataclass(frozen=True)
class Baseline:
    """The snapshots the latest version cites, paired with the current source documents.

    `sources` holds (content, MIME type) per source document of the terms, in declaration order,
    or is None when they cannot be paired (`reason` says why): the latest version cites no
    snapshot, a cited snapshot is missing, or the documents of the terms changed.
    """

    snapshot_ids: tuple[str, ...]
    sources: tuple[tuple[bytes, str], ...] | None
    reason: str = ""


def plan_version(
    repository: Repository,
    terms: Terms,
    markdown: str,
    *,
    snapshot_records: Sequence[Recorded],
    recording: Recording,
    now: Callable[[], datetime],
    vet: Vet,
) -> Recorded | Baseline | Suspect:
    """Record the version when what it is can be told now; else return the `Baseline` to extract.

    Returns the `Recorded` of a first record, of an unchanged text (kind "unchanged", no commit) or
    of a technical upgrade (same snapshots as the latest version), and a `Baseline` when the
    snapshots differ from those the latest version cites. A new text that `vet` finds suspect
    is not recorded: its `Suspect` is returned (the decision is the orchestrator's).
    """
    snapshot_ids = [r.commit_id for r in snapshot_records]
    path = version_path(terms)
    latest = repository.latest(path)
    if latest is not None and latest.content == markdown.encode("utf-8"):
        return Recorded("unchanged", latest.commit_id, path, latest.date)
    latest_length = len(latest.content.decode("utf-8", errors="replace")) if latest is not None else None
    suspect = vet(markdown, latest_length)
    if suspect is not None:
        return suspect
    cited = cited_snapshot_ids(latest.message) if latest is not None else []
    if latest is None or cited == snapshot_ids:
        technical = latest is not None
        return record_version(
            repository,
            terms,
            markdown,
            snapshot_ids=snapshot_ids,
            date=now().replace(microsecond=0) if technical else max(r.date for r in snapshot_records),
            engine_version=recording.engine_version,
            link_template=recording.link_template,
            technical_upgrade=technical,
        )
    return _baseline(repository, terms, cited)


def _baseline(repository: Repository, terms: Terms, cited: list[str]) -> Baseline:
    snapshots = repository.cited
    if not cited:
        return Baseline((), None, "the latest version cites no snapshot")
    if snapshots is None:
        return Baseline(tuple(cited), None, "the snapshots repository is not open")
    by_document: dict[str | None, tuple[bytes, str]] = {}
    for snapshot_id in cited:
        files = snapshots.changed_files(snapshot_id)
        if len(files) != 1:
            return Baseline(
                tuple(cited), None, f"the snapshot {snapshot_id} it cites is not in the snapshots repository"
            )
        record = files[0]
        match = _DOCUMENT_ID.search(record.path)
        document_id = match.group(1) if match and terms.combined else None
        mime_type = PDF_MIME_TYPE if record.path.lower().endswith(".pdf") else "text/html"
        by_document[document_id] = (record.content, mime_type)
    wanted = [document.id if terms.combined else None for document in terms.documents]
    if sorted(map(str, by_document)) != sorted(map(str, wanted)):
        return Baseline(
            tuple(cited), None, "the source documents of the terms changed since the latest version"
        )
    return Baseline(tuple(cited), tuple(by_document[document_id] for document_id in wanted))


def record_with_baseline(
    repository: Repository,
    terms: Terms,
    markdown: str,
    baseline: Baseline,
    baseline_markdown: str | None,
    *,
    baseline_error: str = "",
    snapshot_records: Sequence[Recorded],
    recording: Recording,
    now: Callable[[], datetime],
) -> list[Recorded]:
    """Record what `plan_version` could not decide: a technical upgrade then a change, or a change.

    `baseline_markdown` is the extraction of the baseline's snapshots with the current declaration
    and ota, None when they could not be extracted (`baseline.reason` or `baseline_error` say why).
    """
    snapshot_ids = [r.commit_id for r in snapshot_records]
    path = version_path(terms)
    latest = repository.latest(path)
    assert latest is not None  # a Baseline is only planned for a terms with a version
    date = max(max(r.date for r in snapshot_records), latest.date)
    engine, link = recording.engine_version, recording.link_template
    recorded: list[Recorded] = []
    note = ""
    if baseline_markdown is None:
        why = baseline.reason or baseline_error
        note = (
            "The snapshots the previous version was extracted from could not be extracted again with the "
            f"current declaration ({why}): this change may include changes of the declaration or of the "
            "engine, not only of the terms."
        )
    elif markdown == baseline_markdown:
        # The page changed, but not its terms: the whole difference comes from the declaration
        # or ota, a technical upgrade alone, dated and citing snapshots as any other.
        upgrade = record_version(
            repository,
            terms,
            markdown,
            snapshot_ids=snapshot_ids,
            date=now().replace(microsecond=0),
            technical_upgrade=True,
            engine_version=engine,
            link_template=link,
        )
        return [upgrade] if upgrade.kind != "unchanged" else []
    elif baseline_markdown.encode("utf-8") != latest.content:
        recorded.append(
            record_version(
                repository,
                terms,
                baseline_markdown,
                snapshot_ids=list(baseline.snapshot_ids),
                date=date,
                technical_upgrade=True,
                engine_version=engine,
                link_template=link,
            )
        )
    if baseline_markdown is None or markdown != baseline_markdown:
        change = record_version(
            repository,
            terms,
            markdown,
            snapshot_ids=snapshot_ids,
            date=date,
            note=note,
            engine_version=engine,
            link_template=link,
        )
        if change.kind != "unchanged":
            # Against the version before it: the re-extraction when there is one, else the latest.
            before = baseline_markdown
            if before is None:
                before = latest.content.decode("utf-8", errors="replace")
            from ota.diff.sections import account  # the diff engine, for a change only
            from ota.significance import classify

            told = account(before, markdown)
            recorded.append(replace(change, significance=classify(before, markdown), account=told))
    return recorded
