"""What a tracking run gives, as plain values: what recording a snapshot or a version did
(`Recorded`), each terms' `Outcome` (its `Status`, the `Stage` where it failed) and the run's
`Report`.

These values sit below everything that uses them: the orchestrator (`ota.tracking.track`, `ota.tracking.run`)
builds them, the reports, logs, status file and notifications (`ota.report`) read them, and so
does `ota status` without loading the network or git (httpx, pygit2, selectolax).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

#: Exit codes: 0 when everything asked was done, 1 when some of it failed (the rest was done), 2
#: when nothing could run (bad settings, no declarations folder, unwritable repository) or what
#: was done could not be kept.
EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2

if TYPE_CHECKING:  # only annotations: the values carry them, this module loads neither
    from ota.declarations import Terms
    from ota.diff.sections import Account
    from ota.errors import DeclarationError, OtaError
    from ota.significance import Significance

#: What recording did: a record of one of those kinds, or nothing (the same bytes were recorded).
Kind = Literal["first", "change", "upgrade", "unchanged"]


@dataclass(frozen=True)
class Recorded:
    """What recording a snapshot or a version did, and the record now in force for its path.

    `commit_id` and `date` are those of the new commit, or, when `kind` is "unchanged", of the
    commit that recorded these same bytes before: what a version extracted from them must cite.
    """

    kind: Kind
    commit_id: str
    path: str
    #: The record's date in UTC, to the second, as git stores it.
    date: datetime
    #: For a change of the terms: how much it matters (`ota.significance`), against the version
    #: before it. Not written anywhere in the repository: the run's summary and notifications tell it.
    significance: Significance | None = None
    #: For a change of the terms: what it changed by section, with an excerpt
    #: (`ota.diff.sections.account`). Not written in the repository either.
    account: Account | None = None


#: "suspect": a new text looked wrong (a block page, a large loss) and was not recorded;
#: "interrupted": the run was stopped (Ctrl-C, SIGTERM) while this terms was in progress.
Status = Literal["first", "changed", "upgraded", "unchanged", "failed", "suspect", "interrupted"]


class Stage(StrEnum):
    """Where tracking a terms failed."""

    #: Its declaration entry is invalid (the error is a DeclarationError naming file and field).
    DECLARATION = "declaration"
    #: A page could not be fetched (FetchError: URL, status, whether it is likely transient).
    FETCH = "fetch"
    #: No Markdown could be extracted (ExtractError), or its filters could not be loaded.
    EXTRACT = "extract"
    #: A repository could not be written (RecordError).
    RECORD = "record"
    #: A new text looked wrong and a second fetch did not confirm it (SuspectChange): not recorded.
    CONFIRM = "confirm"
    #: A bug of ota: the exception is reported with its type, and the other terms go on.
    INTERNAL = "internal"


@dataclass(frozen=True)
class Outcome:
    """What tracking one terms gave."""

    service_id: str
    terms_type: str
    status: Status
    #: The declaration tracked; None when the terms' entry is invalid.
    terms: Terms | None = None
    #: The snapshot of each source document (new or unchanged), in declaration order.
    snapshots: tuple[Recorded, ...] = ()
    #: The versions this run recorded, in order (a technical upgrade may precede a change).
    versions: tuple[Recorded, ...] = ()
    stage: Stage | None = None
    #: Why it failed: the error objects, with their context (URL, status, file, field…).
    errors: tuple[Exception, ...] = ()
    #: Whether extraction was skipped because nothing it depends on changed.
    skipped_extraction: bool = False

    @property
    def tracked(self) -> bool:
        """Whether the terms was tracked: its page fetched and its version recorded or unchanged."""
        return self.status in ("first", "changed", "upgraded", "unchanged")

    @property
    def error(self) -> Exception | None:
        """The (first) reason of a failure."""
        return self.errors[0] if self.errors else None

    @property
    def new_snapshots(self) -> int:
        return sum(1 for snapshot in self.snapshots if snapshot.kind != "unchanged")

    @property
    def version_id(self) -> str | None:
        """The commit of the last version recorded by this run, if any."""
        return self.versions[-1].commit_id if self.versions else None

    @classmethod
    def failure(
        cls, terms: Terms, stage: Stage, error: Exception, snapshots: Sequence[Recorded] = ()
    ) -> Outcome:
        return cls(
            terms.service_id, terms.type, "failed", terms, tuple(snapshots), stage=stage, errors=(error,)
        )


@dataclass
class Report:
    """What a run did."""

    outcomes: list[Outcome] = field(default_factory=list)
    #: Declaration files of the selection that could not be used at all: their terms were not tracked.
    declaration_errors: list[DeclarationError] = field(default_factory=list)
    #: Things to fix that did not stop anything, each naming its file.
    warnings: list[str] = field(default_factory=list)
    #: Errors that stopped part of the run from being kept (a repository that could not publish
    #: its last commits): the summary still says what was done, then these; the exit code is 2.
    fatal: list[OtaError] = field(default_factory=list)
    #: The signal that stopped the run (SIGINT, SIGTERM), if one did.
    interrupted: str | None = None
    seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status in statuses)

    @property
    def failed(self) -> int:
        """Terms that failed, and declaration files that could not be used."""
        return self.count("failed") + len(self.declaration_errors)

    @property
    def tracked(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.tracked)

    @property
    def new_snapshots(self) -> int:
        return sum(outcome.new_snapshots for outcome in self.outcomes)

    def versions(self, kind: str) -> int:
        """Versions of this kind ("first", "change", "upgrade") recorded by the run."""
        return sum(1 for outcome in self.outcomes for version in outcome.versions if version.kind == kind)

    @property
    def new_versions(self) -> int:
        return sum(len(outcome.versions) for outcome in self.outcomes)
