"""Checks of every commit of a repository: who made it and, once signing started, its signature.

Signing rules are ota's own: they come from its signing settings, the allowed-signers file
(`[recorder] allowed_signers`). Signing starts with the first commit signed by a key that file
trusts for git at the commit's date (as `git verify-commit` with `gpg.ssh.allowedSignersFile`
decides): every record commit after it must carry such a signature.

Other signatures and other people's commits are reported for what they are, not as differences:
a forge's web commit ("Initial commit", committed by GitHub and signed with its PGP key), a
maintainer's README edit, a template update. A commit by someone else that changes no record file
is a notice; one that changes records is checked as any record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ota.store.reader import CommitInfo, RepositoryReader
from ota.store.records import kind_of, trailers
from ota.store.signing import AllowedSigners, SignatureError, verify
from ota.verify.findings import NOT_A_RECORD, Check, Finding, Severity, VerifyReport

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
            by_bot = (info.author_name, info.author_email) == bot
            if not by_bot:
                report.other_authors[author] += 1
                if name != "versions" and touched and not _record_subject(info.message):
                    # A template's files, added or removed by hand: nothing a tracker recorded.
                    message = f"{_foreign(info)} changes record files, but its subject is not one of a record"
                    report.add(_finding(name, info, "author", message, "unverifiable", NOT_A_RECORD))
                elif name != "versions" and touched:
                    message = f"authored by {author}, not by {bot[0]} <{bot[1]}>"
                    report.add(_finding(name, info, "author", message))
                elif not touched:
                    cause = "changes no record file"
                    report.add(_finding(name, info, "author", _foreign(info), "notice", cause))
            if info.signature is None:
                if signing_since is not None and touched:
                    report.add(
                        _finding(
                            name,
                            info,
                            "signature",
                            f"is not signed, though commits are signed since {signing_since[:12]}",
                        )
                    )
                continue
            trusted, told_untrusted = _check_signature(
                report, name, info, allowed, told_untrusted, foreign=not by_bot or not touched
            )
            if trusted:
                signing_since = signing_since or info.commit_id
    activity.sort()
    return activity, kept


def _record_subject(message: str) -> bool:
    """Whether a commit's subject is one ota or Open Terms Archive's engines give their records."""
    return kind_of(message.strip().split("\n", 1)[0]) is not None


def _foreign(info: CommitInfo) -> str:
    """What a commit by someone else is, in a few words."""
    who = f"{info.author_name} <{info.author_email}>"
    committer = f"{info.committer_name} <{info.committer_email}>"
    if committer != who:
        return f"a commit by {who}, committed by {committer}"
    return f"a commit by {who}"


def _check_signature(
    report: VerifyReport,
    name: str,
    info: CommitInfo,
    allowed: AllowedSigners | None,
    told: bool,
    *,
    foreign: bool,
) -> tuple[bool, bool]:
    """Check one signed commit. Returns whether a key of the allowed signers made it, and whether
    the "no allowed signers" notice was given.

    Only SSH signatures are ota's: another kind (a forge's PGP signature) is a notice. A signature
    that does not match its commit is unexplained, whoever made it; one by an untrusted key is
    unexplained on a record commit by the bot, a notice on another's commit.
    """
    assert info.signature is not None and info.signed_payload is not None
    kind = _signature_kind(info.signature)
    if kind != "SSH":
        cause = "ota checks only SSH signatures, by the keys of its allowed-signers file"
        report.add(_finding(name, info, "signature", f"is signed with a {kind} signature", "notice", cause))
        return False, told
    try:
        verified = verify(info.signed_payload, info.signature)
    except SignatureError as error:
        report.add(_finding(name, info, "signature", f"has a bad signature: {error}"))
        return False, told
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
        return False, True
    if allowed.principals(verified, when=info.committer_date):
        return True, told
    message = (
        f"is signed by the key {verified.fingerprint}, which {allowed.path} does not trust "
        "to sign git commits at that date"
    )
    if foreign:
        report.add(_finding(name, info, "signature", message, "notice", "a commit by someone else"))
    else:
        report.add(_finding(name, info, "signature", message))
    return False, told


def _signature_kind(signature: bytes) -> str:
    """ "SSH", "PGP", "X.509" or "unknown", from the armor of a `gpgsig` header."""
    head = signature.lstrip()[:64]
    if head.startswith(b"-----BEGIN SSH SIGNATURE-----"):
        return "SSH"
    if head.startswith(b"-----BEGIN PGP SIGNATURE-----"):
        return "PGP"
    if head.startswith(b"-----BEGIN SIGNED MESSAGE-----"):
        return "X.509"
    return "unknown"


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
