"""Checks of the trusted timestamps kept with a repository (`refs/notes/ota-timestamps`).

Each token witnesses that a commit, and so the history it closes, existed at a time. So:

- a token must verify: it names its commit and, with `[timestamps] certificates`, an authority
  they vouch for signed it;
- no commit before a witnessed one may claim a later date than the witness saw (it would have
  been written, or re-dated, afterwards);
- a witnessed commit the branch no longer holds means the history was rewritten after it.

Commits made after the last token are not witnessed yet (a notice says how many).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import cryptography.x509

from ota.store.reader import RepositoryReader
from ota.store.timestamps import NOTES_REF, TimestampError, check_token, unarmor
from ota.verify.findings import Finding, Severity, VerifyReport


def check_timestamps(
    report: VerifyReport,
    repositories: Mapping[str, RepositoryReader],
    roots: list[cryptography.x509.Certificate] | None,
) -> None:
    """Check every timestamp note of `repositories` (by name) and the dates of the commits it covers."""
    for name, reader in repositories.items():
        notes = reader.notes(NOTES_REF)
        if not notes:
            continue
        commits = [(info.commit_id, info.date) for info in reader.commits()]
        on_branch = {commit_id for commit_id, _ in commits}
        witnessed: dict[str, datetime] = {}
        for commit_id, note in notes.items():
            try:
                witnessed[commit_id] = check_token(commit_id, unarmor(note), roots).time
            except TimestampError as error:
                report.add(_finding(name, commit_id, f"has a timestamp that is not valid: {error}"))
                continue
            if commit_id not in on_branch:
                report.add(
                    _finding(
                        name,
                        commit_id,
                        f"was witnessed at {witnessed[commit_id]:%Y-%m-%dT%H:%M:%SZ} but is not on the "
                        "branch any more: the history was rewritten after it",
                    )
                )
        if roots is None:
            report.add(
                _finding(
                    name,
                    None,
                    "timestamps name their commits, but who signed them is not checked",
                    "notice",
                    "set [timestamps] certificates to the time-stamping authority's root certificates",
                )
            )
        bound: datetime | None = None
        unwitnessed = 0
        for commit_id, date in reversed(commits):
            if commit_id in witnessed:
                bound = witnessed[commit_id] if bound is None else min(bound, witnessed[commit_id])
            if bound is None:
                unwitnessed += 1
            elif date > bound:
                report.add(
                    _finding(
                        name,
                        commit_id,
                        f"is dated {date:%Y-%m-%dT%H:%M:%SZ}, after a time-stamping authority witnessed a "
                        f"later commit at {bound:%Y-%m-%dT%H:%M:%SZ}: it was dated or written afterwards",
                        date=date,
                    )
                )
        if unwitnessed:
            report.add(
                _finding(
                    name,
                    None,
                    f"{unwitnessed} commits made after the last timestamp are not witnessed yet",
                    "notice",
                )
            )


def _finding(
    repository: str,
    commit_id: str | None,
    message: str,
    severity: Severity = "unexplained",
    cause: str | None = None,
    *,
    date: datetime | None = None,
) -> Finding:
    return Finding("timestamp", severity, message, repository, commit_id, date=date, cause=cause)
