"""Transport errors (httpx's, and Chromium's `net::ERR_…`) named as Node names them (ECONNREFUSED,
ENOTFOUND, CERT_HAS_EXPIRED…): OTA's messages, reports and issue labels use these codes, so ota's
must too.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator

import httpx

from ota.errors import FetchError

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


# Chromium's net errors → the codes Node reports, which OTA's messages and labels use.
CHROMIUM_CODES = {
    "ERR_CONNECTION_REFUSED": "ECONNREFUSED",
    "ERR_NAME_NOT_RESOLVED": "ENOTFOUND",
    "ERR_NAME_RESOLUTION_FAILED": "EAI_AGAIN",
    "ERR_CONNECTION_RESET": "ECONNRESET",
    "ERR_CONNECTION_CLOSED": "ECONNRESET",
    "ERR_CONNECTION_ABORTED": "ECONNRESET",
    "ERR_EMPTY_RESPONSE": "ECONNRESET",  # closed without an answer: Node's "socket hang up"
    "ERR_ADDRESS_UNREACHABLE": "EHOSTUNREACH",
    "ERR_INTERNET_DISCONNECTED": "ENETUNREACH",
    "ERR_CERT_DATE_INVALID": "CERT_HAS_EXPIRED",
    "ERR_CERT_AUTHORITY_INVALID": "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "ERR_CERT_COMMON_NAME_INVALID": "ERR_TLS_CERT_ALTNAME_INVALID",
    "ERR_SSL_PROTOCOL_ERROR": "EPROTO",
    "ERR_CONTENT_DECODING_FAILED": "Z_DATA_ERROR",
    "ERR_RESPONSE_HEADERS_TOO_BIG": "HPE_HEADER_OVERFLOW",
}
TIMEOUT_CODES = frozenset({"ERR_TIMED_OUT", "ERR_CONNECTION_TIMED_OUT"})
TRANSIENT_CODES = frozenset(
    {"ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"}
)
_NET_ERROR = re.compile(r"\bnet::(ERR_[A-Z0-9_]+)")


def timed_out(url: str, timeout: float) -> FetchError:
    """A timeout of a browser fetch, in OTA's words."""
    message = f"Timed out after {timeout:g} seconds when trying to fetch '{url}'"
    return FetchError(url, message, transient=True)


def chromium_error(url: str, detail: str, timeout: float) -> FetchError:
    """The error of a failed navigation, from the first line of Chromium's message (`net::ERR_…`),
    with Node's code in OTA's words."""
    match = _NET_ERROR.search(detail)
    if match is None:
        return FetchError(url, f"Browser error when trying to fetch '{url}': {detail}")
    chromium_code = match.group(1)
    if chromium_code in TIMEOUT_CODES:
        return timed_out(url, timeout)
    if chromium_code == "ERR_TOO_MANY_REDIRECTS":
        return FetchError(url, f"maximum redirect reached at: {url}")
    code = CHROMIUM_CODES.get(chromium_code, chromium_code)
    message = f"Network system error {code} occurred when trying to fetch '{url}'"
    return FetchError(url, message, transient=code in TRANSIENT_CODES)
