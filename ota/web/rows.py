"""What a row of the viewer's index (`ota.web.index`) is: a `Version`, a `TermsSummary`, the counts
to fill (`CountTask`, `CountResult`), and how rows are read and their counts stored."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ota.diff.sections import Account
from ota.significance import Significance

#: Kinds of rows that are records (OTA's commit subjects); `other` and `deleted` rows are not.
RECORD_KINDS = ("first", "change", "upgrade")
#: Kinds that are real changes of the terms (feeds, "last changed"): technical upgrades are not.
REAL_KINDS = ("first", "change")

COLUMNS = (
    "seq, id, path, service, type, blob, date, kind, base_blob, "
    "words_added, words_removed, lines_added, lines_removed, significance, minor, reasons, recurrent_of, "
    "account"
)
#: What `significance=` filters keep: "substantive" hides cosmetic and editorial changes, "editorial"
#: (hide cosmetic changes) hides cosmetic ones. Versions not classified yet, first records and
#: technical upgrades are always kept.
SIGNIFICANCE_FILTERS = {
    "substantive": ("cosmetic", "editorial"),
    "editorial": ("cosmetic",),
    "cosmetic": (),
    "all": (),
}


@dataclass(frozen=True, slots=True)
class Version:
    """One indexed change of a terms document."""

    seq: int
    id: str
    path: str
    service_id: str
    terms_type: str
    #: None for a commit that deleted the file.
    blob: str | None
    date: datetime
    kind: str
    #: The blob of the version before this one in the timeline (None: none before).
    base_blob: str | None
    words_added: int | None
    words_removed: int | None
    lines_added: int | None
    lines_removed: int | None
    #: `cosmetic`, `editorial` or `substantive` (None: not classified yet, or a first record).
    significance: str | None = None
    minor: bool = False
    #: The reasons, as `ota.significance.Reason.to_dict()` gives them, in JSON.
    reasons_json: str | None = None
    #: The earlier version of the terms whose text this one restores.
    recurrent_of: str | None = None
    #: What a change changed, for people (`ota.diff.sections.Account`), in JSON; None: not counted
    #: yet, or not a change.
    account_json: str | None = None

    @property
    def account(self) -> Account | None:
        """What a change changed by section, with an excerpt (None: not counted yet, or not a change)."""
        return Account.from_json(self.account_json)

    @property
    def reasons(self) -> list[dict[str, object]]:
        """The rules that fired, with their examples ([] when not classified)."""
        return json.loads(self.reasons_json) if self.reasons_json else []

    @property
    def is_first_record(self) -> bool:
        return self.kind == "first"

    @property
    def is_technical_upgrade(self) -> bool:
        return self.kind == "upgrade"


@dataclass(frozen=True, slots=True)
class TermsSummary:
    """A terms document as the index knows it: how many versions, the latest, the last real change."""

    path: str
    service_id: str
    terms_type: str
    versions: int
    last_change: datetime | None


#: (seq, blob, words added, words removed, lines added, lines removed, significance or None,
#: account in JSON or None)
CountResult = tuple[int, str, int, int, int, int, Significance | None, str | None]


@dataclass(frozen=True, slots=True)
class CountTask:
    """What computing one row's counts needs: the blobs to compare."""

    seq: int
    blob: str
    base_blob: str | None
    parent_blob: str | None
    kind: str = "change"


def store_counts(db: sqlite3.Connection, results: Iterable[CountResult]) -> None:
    """Store counts, unless the row changed meanwhile (the blob guards against a rebuilt index)."""
    rows = []
    for seq, blob, wa, wr, la, lr, significance, account in results:
        level, minor, reasons, ruleset = (
            (significance.significance, significance.minor, _reasons_json(significance), significance.ruleset)
            if significance is not None
            else (None, False, None, None)
        )
        rows.append((wa, wr, la, lr, level, minor, reasons, ruleset, account, seq, blob))
    db.executemany(
        "UPDATE versions SET words_added = ?, words_removed = ?, lines_added = ?, lines_removed = ?, "
        "significance = ?, minor = ?, reasons = ?, ruleset = ?, account = ? WHERE seq = ? AND blob = ?",
        rows,
    )
    db.commit()


def _reasons_json(significance: Significance) -> str:
    return json.dumps([reason.to_dict() for reason in significance.reasons], ensure_ascii=False)


def version_of(row: Sequence[object]) -> Version:
    (
        seq,
        id_,
        path,
        service,
        terms_type,
        blob,
        date,
        kind,
        base,
        wa,
        wr,
        la,
        lr,
        level,
        minor,
        reasons,
        again,
        account,
    ) = row
    return Version(
        int(seq),  # type: ignore[call-overload]
        str(id_),
        str(path),
        str(service),
        str(terms_type),
        None if blob is None else str(blob),
        date_of(date),
        str(kind),
        None if base is None else str(base),
        wa,  # type: ignore[arg-type]
        wr,  # type: ignore[arg-type]
        la,  # type: ignore[arg-type]
        lr,  # type: ignore[arg-type]
        None if level is None else str(level),
        bool(minor),
        None if reasons is None else str(reasons),
        None if again is None else str(again),
        None if account is None else str(account),
    )


def date_of(timestamp: object) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)  # type: ignore[call-overload]
