"""SSH signatures of commits, made and checked in-process, in the format git and OpenSSH use.

ota writes thousands of commits per run, so it cannot run `ssh-keygen -Y sign` once per commit as
git does with `gpg.format = ssh`. It builds the same signature itself (OpenSSH's PROTOCOL.sshsig):

    "SSHSIG" uint32(1) string(public key) string(namespace) string(reserved) string(hash) string(sig)

over `"SSHSIG" string(namespace) string(reserved) string(hash) string(H(message))`, armored between
`-----BEGIN SSH SIGNATURE-----` lines. Git signs a commit object without its `gpgsig` header, with the
namespace "git", and stores the armored text as that header; `git verify-commit` and
`ssh-keygen -Y verify` accept what this module writes (the tests run both).

Checking is in-process too (`verify`, `AllowedSigners`): `ota verify` checks every commit of an
archive, and an allowed-signers file (ssh-keygen's ALLOWED SIGNERS format, as git's
`gpg.ssh.allowedSignersFile`) tells whose keys are trusted, for which namespaces and dates.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ota.errors import SettingsError

#: The namespace git signs commits in.
GIT_NAMESPACE = "git"
_MAGIC = b"SSHSIG"
_VERSION = 1
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"
_HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
_CURVES = {"nistp256": hashes.SHA256(), "nistp384": hashes.SHA384(), "nistp521": hashes.SHA512()}
_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class SignatureError(ValueError):
    """A signature that is malformed or does not verify; the message says which."""


# -- the SSH wire format ----------------------------------------------------------------------------


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return _string(raw)


class _Cursor:
    """Reads SSH wire-format values one after the other; SignatureError when they run out."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, size: int) -> bytes:
        if self._at + size > len(self._data):
            raise SignatureError("truncated signature")
        chunk = self._data[self._at : self._at + size]
        self._at += size
        return chunk

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def string(self) -> bytes:
        return self.take(self.uint32())

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    @property
    def done(self) -> bool:
        return self._at == len(self._data)


def public_key_blob(key: PublicKey) -> bytes:
    """The SSH wire encoding of a public key (what signatures and allowed-signers lines carry)."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def _key_type(blob: bytes) -> str:
    return _Cursor(blob).string().decode("ascii", errors="replace")


def _signed_data(namespace: str, hash_name: str, message: bytes) -> bytes:
    digest = _HASHES[hash_name](message).digest()
    return _MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_name.encode()) + _string(digest)


# -- signing ------------------------------------------------------------------------------------------


class SshSigner:
    """Signs commits with an SSH private key (Ed25519, ECDSA or RSA, without a passphrase)."""

    def __init__(self, key: PrivateKey, path: Path | None = None) -> None:
        self._key = key
        self.path = path
        self._public = public_key_blob(key.public_key())
        self._type = _key_type(self._public)

    @classmethod
    def load(cls, path: Path | str) -> SshSigner:
        """The key in `path` (OpenSSH or PEM private key); SettingsError naming the file otherwise."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise SettingsError(f"{path}: the signing key cannot be read: {error.strerror}") from error
        try:
            key: object
            if data.lstrip().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
                key = serialization.load_ssh_private_key(data, password=None)
            else:
                key = serialization.load_pem_private_key(data, password=None)
        except TypeError as error:  # cryptography's word for "needs a password"
            raise SettingsError(
                f"{path}: the signing key is protected by a passphrase, which ota cannot type: "
                "use a key without one, readable only by the account running ota"
            ) from error
        except (ValueError, UnsupportedAlgorithm) as error:
            raise SettingsError(f"{path}: is not an SSH private key ota can sign with: {error}") from error
        if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise SettingsError(
                f"{path}: {type(key).__name__} keys cannot sign commits: use an Ed25519, ECDSA or RSA key"
            )
        ssh_curves = ("secp256r1", "secp384r1", "secp521r1")
        if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in ssh_curves:
            raise SettingsError(f"{path}: the curve {key.curve.name} is not one SSH signs with")
        return cls(key, path)

    @property
    def public_key(self) -> str:
        """The public key as an OpenSSH line (`ssh-ed25519 AAAA…`), as allowed-signers files hold it."""
        return f"{self._type} {base64.b64encode(self._public).decode()}"

    def sign(self, message: bytes, namespace: str = GIT_NAMESPACE) -> str:
        """The armored SSH signature of `message`, as `ssh-keygen -Y sign -n NAMESPACE` writes it."""
        hash_name = "sha512"
        data = _signed_data(namespace, hash_name, message)
        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            signature = _string(b"ssh-ed25519") + _string(key.sign(data))
        elif isinstance(key, rsa.RSAPrivateKey):
            raw = key.sign(data, padding.PKCS1v15(), hashes.SHA512())
            signature = _string(b"rsa-sha2-512") + _string(raw)
        else:
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_CURVES[self._type.rsplit("-", 1)[1]])))
            signature = _string(self._type.encode()) + _string(_mpint(r) + _mpint(s))
        blob = (
            _MAGIC
            + struct.pack(">I", _VERSION)
            + _string(self._public)
            + _string(namespace.encode())
            + _string(b"")
            + _string(hash_name.encode())
            + _string(signature)
        )
        text = base64.b64encode(blob).decode()
        lines = [text[i : i + 70] for i in range(0, len(text), 70)]
        return "\n".join([_BEGIN, *lines, _END]) + "\n"


# -- checking -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """A signature that verifies: the key that made it (wire encoding and OpenSSH line)."""

    key_blob: bytes

    @property
    def public_key(self) -> str:
        return f"{_key_type(self.key_blob)} {base64.b64encode(self.key_blob).decode()}"

    @property
    def fingerprint(self) -> str:
        """`SHA256:…`, as `ssh-keygen -l` prints it."""
        digest = base64.b64encode(hashlib.sha256(self.key_blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"


def verify(message: bytes, armored: bytes | str, namespace: str = GIT_NAMESPACE) -> Verified:
    """Check that `armored` is a valid SSH signature of `message` in `namespace` by the key it names.

    Raises SignatureError saying what is wrong. Whether that key is trusted is `AllowedSigners`' job.
    """
    text = armored.decode("ascii", errors="replace") if isinstance(armored, bytes) else armored
    body = text.strip()
    if not (body.startswith(_BEGIN) and body.endswith(_END)):
        raise SignatureError("not an SSH signature (gpg.format is not ssh?)")
    try:
        blob = base64.b64decode("".join(body[len(_BEGIN) : -len(_END)].split()), validate=True)
    except ValueError as error:
        raise SignatureError(f"the signature is not valid base64: {error}") from error
    cursor = _Cursor(blob)
    if cursor.take(6) != _MAGIC or cursor.uint32() != _VERSION:
        raise SignatureError("not an SSHSIG signature of version 1")
    key_blob, signed_namespace = cursor.string(), cursor.string().decode(errors="replace")
    cursor.string()  # reserved
    hash_name, signature = cursor.string().decode(errors="replace"), cursor.string()
    if signed_namespace != namespace:
        raise SignatureError(f"signed for the namespace {signed_namespace!r}, not {namespace!r}")
    if hash_name not in _HASHES:
        raise SignatureError(f"unknown hash algorithm {hash_name!r}")
    data = _signed_data(namespace, hash_name, message)
    key_type = _key_type(key_blob)
    if key_type not in _KEY_TYPES:
        raise SignatureError(f"keys of type {key_type} are not supported")
    try:
        key = serialization.load_ssh_public_key(f"{key_type} {base64.b64encode(key_blob).decode()}".encode())
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SignatureError(f"the signing key cannot be read: {error}") from error
    inner = _Cursor(signature)
    algorithm, raw = inner.string().decode(errors="replace"), inner.string()
    try:
        if isinstance(key, ed25519.Ed25519PublicKey) and algorithm == "ssh-ed25519":
            key.verify(raw, data)
        elif isinstance(key, rsa.RSAPublicKey) and algorithm in ("rsa-sha2-512", "rsa-sha2-256"):
            digest = hashes.SHA512() if algorithm == "rsa-sha2-512" else hashes.SHA256()
            key.verify(raw, data, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm == key_type:
            numbers = _Cursor(raw)
            der = encode_dss_signature(numbers.mpint(), numbers.mpint())
            key.verify(der, data, ec.ECDSA(_CURVES[key_type.rsplit("-", 1)[1]]))
        else:
            raise SignatureError(f"a {key_type} key cannot make a {algorithm} signature")
    except InvalidSignature:
        raise SignatureError("the signature does not match what was signed: altered after signing") from None
    return Verified(key_blob)


@dataclass(frozen=True)
class AllowedSigner:
    """One line of an allowed-signers file."""

    principals: tuple[str, ...]
    key_blob: bytes
    namespaces: tuple[str, ...] | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None


class AllowedSigners:
    """The keys trusted to sign, read from an allowed-signers file (ssh-keygen(1), ALLOWED SIGNERS)."""

    def __init__(self, signers: list[AllowedSigner], path: Path | None = None) -> None:
        self.signers = signers
        self.path = path

    @classmethod
    def load(cls, path: Path | str) -> AllowedSigners:
        """Read the file; SettingsError naming the file and line when it cannot be used."""
        path = Path(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise SettingsError(f"{path}: the allowed signers cannot be read: {reason}") from error
        signers = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                signer = _parse_line(line)
            except ValueError as error:
                raise SettingsError(f"{path}: line {number}: {error}") from error
            if signer is not None:
                signers.append(signer)
        return cls(signers, path)

    def principals(self, verified: Verified, *, when: datetime, namespace: str = GIT_NAMESPACE) -> list[str]:
        """Who may have signed with this key in `namespace` at `when`: empty when nobody may."""
        found: list[str] = []
        for signer in self.signers:
            if signer.key_blob != verified.key_blob:
                continue
            if signer.namespaces is not None and not any(
                fnmatch.fnmatchcase(namespace, pattern) for pattern in signer.namespaces
            ):
                continue
            if signer.valid_after is not None and when < signer.valid_after:
                continue
            if signer.valid_before is not None and when > signer.valid_before:
                continue
            found.extend(signer.principals)
        return found


def _tokens(line: str) -> list[str]:
    """Whitespace-separated fields, where a double-quoted part may hold spaces."""
    tokens, current, quoted = [], "", False
    for char in line:
        if char == '"':
            quoted = not quoted
            current += char
        elif char.isspace() and not quoted:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if quoted:
        raise ValueError("unterminated quote")
    if current:
        tokens.append(current)
    return tokens


def _parse_line(line: str) -> AllowedSigner | None:
    tokens = _tokens(line)
    if len(tokens) < 3:
        raise ValueError("expected `PRINCIPALS [OPTIONS] KEYTYPE BASE64-KEY`")
    principals, rest = tuple(tokens[0].split(",")), tokens[1:]
    options: dict[str, str] = {}
    if rest[0] not in _KEY_TYPES and not rest[0].startswith(("sk-", "ssh-", "ecdsa-")):
        for option in _split_options(rest[0]):
            name, _, value = option.partition("=")
            options[name.lower()] = value.strip('"')
        rest = rest[1:]
    if "cert-authority" in options:
        return None  # certificates are not what git signs commits with here: such lines trust no key
    if len(rest) < 2:
        raise ValueError("no public key")
    try:
        key_blob = base64.b64decode(rest[1], validate=True)
    except ValueError as error:
        raise ValueError(f"the public key is not valid base64: {error}") from error
    if _key_type(key_blob) != rest[0]:
        raise ValueError(f"the key is not of the type {rest[0]}")
    return AllowedSigner(
        principals=principals,
        key_blob=key_blob,
        namespaces=tuple(options["namespaces"].split(",")) if "namespaces" in options else None,
        valid_after=_time(options["valid-after"]) if "valid-after" in options else None,
        valid_before=_time(options["valid-before"]) if "valid-before" in options else None,
    )


def _split_options(text: str) -> list[str]:
    options, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            options.append(current)
            current = ""
        else:
            current += char
    options.append(current)
    return [option for option in options if option]


def _time(value: str) -> datetime:
    """`YYYYMMDD[HHMM[SS]][Z]`; without Z, local time, as ssh-keygen reads it."""
    utc = value.endswith("Z")
    digits = value.removesuffix("Z")
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if len(digits) not in formats:
        raise ValueError(f"invalid time {value!r}: expected YYYYMMDD[HHMM[SS]][Z]")
    try:
        parsed = datetime.strptime(digits, formats[len(digits)])
    except ValueError as error:
        raise ValueError(f"invalid time {value!r}: {error}") from error
    return parsed.replace(tzinfo=UTC) if utc else parsed.astimezone(UTC)
