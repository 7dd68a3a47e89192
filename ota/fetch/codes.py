"""Transport errors named as Node names them (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED…): OTA's
messages, reports and issue labels use these codes, so ota's must too.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

import httpx

_ERRNO_CODES = {
    errno.ECONNREFUSED: "ECONNREFUSED",
    errno.ECONNRESET: "ECONNRESET",
    errno.ECONNABORTED: "ECONNRESET",
    errno.EPIPE: "ECONNRESET",
    errno.ETIMEDOUT: "ETIMEDOUT",
    errno.EHOSTUNREACH: "EHOSTUNREACH",
    errno.ENETUNREACH: "ENETUNREACH",
}
# OpenSSL X509_V_ERR_* verification codes → the codes Node reports.
_CERT_CODES = {
    9: "CERT_NOT_YET_VALID",
    10: "CERT_HAS_EXPIRED",
    18: "DEPTH_ZERO_SELF_SIGNED_CERT",
    19: "SELF_SIGNED_CERT_IN_CHAIN",
    20: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    21: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    62: "ERR_TLS_CERT_ALTNAME_INVALID",
}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it was raised from, exception groups included (anyio uses them)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def network_error_code(exc: BaseException) -> str:
    """The Node-style code (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED…) naming a transport error."""
    causes = list(_causes(exc))
    for cause in causes:  # the operating system's own error says most
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _CERT_CODES.get(cause.verify_code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
        if isinstance(cause, ssl.SSLError):
            return "EPROTO"
        if isinstance(cause, socket.gaierror):
            return "EAI_AGAIN" if cause.errno == socket.EAI_AGAIN else "ENOTFOUND"
        if isinstance(cause, OSError) and cause.errno in _ERRNO_CODES:
            return _ERRNO_CODES[cause.errno]
    for cause in causes:
        if isinstance(cause, httpx.DecodingError):
            return "Z_DATA_ERROR"
        if isinstance(cause, httpx.RemoteProtocolError) and "buffer too long" in str(cause):
            return "HPE_HEADER_OVERFLOW"  # a response head over h11's limit (100 KiB with httpcore)
    # Disconnections ("Server disconnected", "peer closed connection") are resets to Node.
    return "ECONNRESET"
