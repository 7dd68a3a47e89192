"""Checks of every commit of a repository: who made it and, once signing started, its signature.

Signing starts with the first signed commit of a repository (`[recorder] signing_key` set): every
commit after it must carry a valid SSH signature, by a key the allowed-signers file trusts for git
at the commit's date (as `git verify-commit` with `gpg.ssh.allowedSignersFile` decides).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ota.store.reader import CommitInfo, RepositoryReader
from ota.store.signing import AllowedSigners, SignatureError, verify
from ota.verify.findings import Check, Finding, Severity, VerifyReport
from ota.verify.records import trailers

if TYPE_CHECKING:
    from ota.verify.archive import Selection


def check_commits(
    report: VerifyReport,
    repositories: Mapping[str, RepositoryReader],
    *,
    bot: tuple[str, str],
    allowed: AllowedSigners | None,
    selection: Selection,
) -> tuple[list[datetime], dict[str, CommitInfo]]:
    """Check the authors and signatures of every commit of `repositories` (by name).

    Version commits' authors are checked with their format (`ota.verify.records`); here other
    authors are counted, and reported for the other repositories. Returns the sorted dates of
    the commits ota made (its `X-engine-version` trailer), which tell when it last ran, and the
    commits of the "versions" repository that touch a selected file (read once, used again).
    """
    activity: list[datetime] = []
    kept: dict[str, CommitInfo] = {}
    for name, reader in repositories.items():
        paths: dict[str, list[str]] = {}
        for change in reader.changes():
            paths.setdefault(change.commit_id, []).append(change.path)
        signing_since: str | None = None
        told_untrusted = False
        for info in reader.commits():
            # Any record ota made tells it ran then, whatever the selection.
            if trailers(info.message).get("x-engine-version", "").startswith("ota "):
                activity.append(info.date)
            touched = paths.get(info.commit_id, [])
            if touched and not any(selection.wants(path) for path in touched):
                continue
            if not touched and (selection.services or selection.terms_types):
                continue
            report.commits_checked += 1
            if name == "versions" and touched:
                kept[info.commit_id] = info
            author = f"{info.author_name} <{info.author_email}>"
            if (info.author_name, info.author_email) != bot:
                report.other_authors[author] += 1
                if name != "versions":
                    message = f"authored by {author}, not by {bot[0]} <{bot[1]}>"
                    report.add(_finding(name, info, "author", message))
            if info.signature is None:
                if signing_since is not None:
                    report.add(
                        _finding(
                            name,
                            info,
                            "signature",
                            f"is not signed, though commits are signed since {signing_since[:12]}",
                        )
                    )
                continue
            signing_since = signing_since or info.commit_id
            told_untrusted = _check_signature(report, name, info, allowed, told_untrusted)
    activity.sort()
    return activity, kept


def _check_signature(
    report: VerifyReport, name: str, info: CommitInfo, allowed: AllowedSigners | None, told: bool
) -> bool:
    """Check one signed commit; return whether the "no allowed signers" notice was given."""
    assert info.signature is not None and info.signed_payload is not None
    try:
        verified = verify(info.signed_payload, info.signature)
    except SignatureError as error:
        report.add(_finding(name, info, "signature", f"has a bad signature: {error}"))
        return told
    if allowed is None:
        if not told:
            report.add(
                _finding(
                    name,
                    info,
                    "signature",
                    "signatures match their commits, but whose keys made them is not checked",
                    "notice",
                    "set [recorder] allowed_signers to the keys trusted to sign",
                )
            )
        return True
    if not allowed.principals(verified, when=info.committer_date):
        report.add(
            _finding(
                name,
                info,
                "signature",
                f"is signed by the key {verified.fingerprint}, which {allowed.path} does not trust "
                "to sign git commits at that date",
            )
        )
    return told


def _finding(
    repository: str,
    info: CommitInfo,
    check: Check,
    message: str,
    severity: Severity = "unexplained",
    cause: str | None = None,
) -> Finding:
    return Finding(
        check,
        severity,
        message,
        repository=repository,
        commit_id=info.commit_id,
        date=info.date,
        cause=cause,
    )
