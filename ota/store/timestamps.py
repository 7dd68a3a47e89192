"""Trusted timestamps of a repository's commits, kept as git notes (`refs/notes/ota-timestamps`).

After a run, the branch tip of each repository is witnessed by a time-stamping authority (RFC 3161,
`ota.fetch.timestamps`): the token it signs names the SHA-256 of the commit id (40 hexadecimal
characters, as text) and the time it saw it. The token is kept as a note on that commit, armored
in base64, so it travels with the repository (`git push origin refs/notes/ota-timestamps`) and
anyone can check it with `openssl ts -verify` or `ota verify`:

    printf %s COMMIT_ID > data
    git notes --ref ota-timestamps show COMMIT_ID | sed '1d;$d' | base64 -d > token.tsr
    openssl ts -verify -data data -in token.tsr -CAfile AUTHORITY_ROOT.pem
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cryptography.x509
import pygit2
from pygit2.enums import RepositoryOpenFlag

from ota.errors import RecordError, SettingsError
from ota.extras import require
from ota.store.folder import lock

NOTES_REF = "refs/notes/ota-timestamps"
_BEGIN = "-----BEGIN RFC3161 TIMESTAMP RESPONSE-----"
_END = "-----END RFC3161 TIMESTAMP RESPONSE-----"


class TimestampError(ValueError):
    """A timestamp token that cannot be read or does not verify."""


@dataclass(frozen=True)
class Witnessed:
    """What a valid token says: this commit existed at this time."""

    commit_id: str
    time: datetime


def armor(response: bytes) -> str:
    """A DER time-stamp response as the text of a note."""
    text = base64.b64encode(response).decode()
    return "\n".join([_BEGIN, *(text[i : i + 64] for i in range(0, len(text), 64)), _END]) + "\n"


def unarmor(note: str) -> bytes:
    """The DER time-stamp response a note holds; TimestampError when it holds none."""
    body = note.strip()
    if not (body.startswith(_BEGIN) and body.endswith(_END)):
        raise TimestampError("the note holds no time-stamp response")
    try:
        return base64.b64decode("".join(body[len(_BEGIN) : -len(_END)].split()), validate=True)
    except ValueError as error:
        raise TimestampError(f"the note is not valid base64: {error}") from error


def untimestamped_tip(folder: Path) -> str | None:
    """The branch tip of the repository in `folder` when no timestamp note names it yet."""
    git = _open(folder)
    if git.head_is_unborn:
        return None
    tip = str(git.head.target)
    try:
        git.lookup_note(tip, NOTES_REF)
    except KeyError:
        return tip
    return None


def add_timestamp(folder: Path, commit_id: str, response: bytes, author: tuple[str, str]) -> None:
    """Keep a time-stamp response as the note of `commit_id`, holding the repository's ota lock."""
    git = _open(folder)
    fd = lock(Path(git.path), folder)  # no `ota track` may write meanwhile
    try:
        signature = pygit2.Signature(*author)
        git.create_note(armor(response), signature, signature, commit_id, NOTES_REF, True)
    except pygit2.GitError as exc:
        raise RecordError(folder, f"could not write the timestamp note: {exc}") from exc
    finally:
        os.close(fd)


def load_roots(path: Path) -> list[cryptography.x509.Certificate]:
    """The authorities' certificates (PEM) tokens are checked against; SettingsError naming the file."""
    try:
        certificates = cryptography.x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as error:
        raise SettingsError(f"{path}: the timestamp certificates cannot be read: {error.strerror}") from error
    except ValueError as error:
        raise SettingsError(f"{path}: holds no PEM certificate: {error}") from error
    return certificates


def check_token(
    commit_id: str, response: bytes, roots: list[cryptography.x509.Certificate] | None
) -> Witnessed:
    """What a token witnesses, once it is checked: it names this commit and, when `roots` are
    given, an authority they vouch for signed it. Raises TimestampError saying what is wrong,
    MissingExtra when rfc3161-client is not installed."""
    require("timestamps")
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        reply = decode_timestamp_response(response)
    except ValueError as error:
        raise TimestampError(f"not a time-stamp response: {error}") from error
    data = commit_id.encode()
    if roots:
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        try:
            builder.build().verify_message(reply, data)
        except (VerificationError, ValueError) as error:
            raise TimestampError(f"the token does not verify: {error}") from error
    else:
        import hashlib

        if reply.tst_info.message_imprint.message != hashlib.sha256(data).digest():
            raise TimestampError("the token names another commit")
    when = reply.tst_info.gen_time
    return Witnessed(commit_id, when if when.tzinfo else when.replace(tzinfo=UTC))


def _open(folder: Path) -> pygit2.Repository:
    try:
        return pygit2.Repository(str(folder), RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as exc:
        raise RecordError(folder, f"is not a git repository: {exc}") from exc
