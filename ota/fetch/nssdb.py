"""A private NSS database that makes Chromium trust extra certificate authorities.

On Linux, Chromium verifies server certificates against its own root store plus the trust
anchors of the user's NSS database, `$HOME/.pki/nssdb`; it ignores `SSL_CERT_FILE` and
`SSL_CERT_DIR`. Behind an intercepting proxy (a company's or a CI's), its pages then all fail with
an unknown authority. `make_home` builds, in a folder of ota's own, a home whose NSS database trusts
the given PEM certificates as authorities for TLS servers (NSS trust `C,,`); Chromium started with
`HOME` set to it trusts them, and only them, in addition to its usual roots. Host names, expiry and
every other check apply as usual: nothing is turned off.

Other routes, and why not: the `CACertificates` policy (Chromium reads policies only from
`/etc/chromium/policies`, for every Chromium of the machine), `--ignore-certificate-errors-spki-list`
(ignores *every* error of a certificate whose key is listed, host name and expiry included), and
the user's own `~/.pki/nssdb` (ota would write to it, for every program of that user).

The database is written by `certutil`, from Debian's `libnss3-tools` package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ota.fetch.lifetime import dying_with_parent

CERTUTIL = "certutil"
CERTUTIL_HINT = "install Debian's libnss3-tools package (apt-get install libnss3-tools)"
CERTUTIL_TIMEOUT = 60.0  # seconds for creating the database and importing every certificate
TRUST_TLS_AUTHORITY = "C,,"  # trusted to issue TLS server certificates; not for e-mail or code
_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n\t ]+?-----END CERTIFICATE-----"
)


class TrustError(Exception):
    """The certificates cannot be made trusted, for the reason in the message."""


def pem_certificates(paths: Sequence[Path]) -> list[bytes]:
    """Every PEM certificate of the files, and of the files in the folders, once each, in order.

    A folder is read as OpenSSL reads `SSL_CERT_DIR`: its regular files (hashed links included),
    not its subfolders. Raises `TrustError` for a path that cannot be read or that holds no
    certificate.
    """
    certificates: dict[bytes, None] = {}  # an ordered set: bundles and hashed folders repeat some
    for path in paths:
        try:
            files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
            found = [
                match.group(0) for file in files for match in _PEM_CERTIFICATE.finditer(file.read_bytes())
            ]
        except OSError as exc:
            raise TrustError(f"cannot read the CA certificates at '{path}': {exc.strerror or exc}") from exc
        if not found:
            raise TrustError(f"no PEM certificate ('-----BEGIN CERTIFICATE-----') in '{path}'")
        certificates.update(dict.fromkeys(b"\n".join(found_pem.splitlines()) + b"\n" for found_pem in found))
    return list(certificates)


def make_home(home: Path, ca_certificates: Sequence[Path], certutil: str = CERTUTIL) -> int:
    """Make `home` (an empty folder ota owns) a home whose NSS database trusts `ca_certificates`.

    Returns how many certificates are trusted. Raises `TrustError`.
    """
    certificates = pem_certificates(ca_certificates)
    executable = shutil.which(certutil)
    if executable is None:
        raise TrustError(f"trusting CA certificates in Chromium needs certutil; {CERTUTIL_HINT}")
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True, mode=0o700)
    commands = []
    for index, certificate in enumerate(certificates):
        path = database / f"ca-{index}.pem"
        path.write_bytes(certificate)
        commands.append(f'-A -n "ota CA {index}" -t "{TRUST_TLS_AUTHORITY}" -a -i "{path}"\n')
    batch = database / "import.txt"
    batch.write_text("".join(commands), "utf-8")
    _certutil(executable, "-N", "--empty-password", database=database)
    _certutil(executable, "-B", "-i", str(batch), database=database)  # one process for every import
    return len(certificates)


def _certutil(executable: str, *arguments: str, database: Path) -> None:
    command = dying_with_parent([executable, "-d", f"sql:{database}", *arguments])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CERTUTIL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TrustError(f"certutil failed: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise TrustError(f"certutil {arguments[0]} failed: {detail[-1] if detail else done.returncode}")
