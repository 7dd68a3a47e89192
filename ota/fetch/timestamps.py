"""Asking a time-stamping authority (RFC 3161) to witness a commit: the network side of timestamps.

The request names the SHA-256 digest of the data (a commit id, as text) and a random nonce; the
authority answers with a token it signed, saying it saw that digest at a time (`genTime`). The
token proves the commit, and the whole history it names, existed then: nobody, ota's operator
included, can have written it later. The answer is checked here (granted, same digest, same
nonce) before it is kept; its signature is checked by `ota verify` against the authority's
certificates (`ota.store.timestamps`).
"""

from __future__ import annotations

import httpx
from rfc3161_client import HashAlgorithm, PKIStatus, TimestampRequestBuilder, decode_timestamp_response

from ota.errors import FetchError
from ota.fetch.http import tls_context
from ota.fetch.proxy import bypasses_proxy, proxies_of
from ota.settings import FetchSettings

REQUEST_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


async def request_timestamp(url: str, data: bytes, settings: FetchSettings) -> bytes:
    """The DER time-stamp response of the authority at `url` for `data`; FetchError when it fails."""
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).build()
    proxies = proxies_of(settings.proxy_environment)
    host = httpx.URL(url).host
    scheme = httpx.URL(url).scheme
    proxy = None if bypasses_proxy(host, proxies.get("no", "")) else proxies.get(scheme) or proxies.get("all")
    try:
        async with httpx.AsyncClient(
            timeout=settings.timeout, trust_env=False, verify=tls_context(settings), proxy=proxy
        ) as client:
            response = await client.post(
                url,
                content=request.as_bytes(),
                headers={"Content-Type": REQUEST_TYPE, "User-Agent": settings.user_agent},
            )
    except httpx.HTTPError as error:
        raise FetchError(
            url, f"the time-stamping authority at '{url}' could not be reached: {error}"
        ) from error
    if response.status_code != 200:
        raise FetchError(
            url,
            f"the time-stamping authority at '{url}' answered HTTP {response.status_code}",
            status=response.status_code,
        )
    try:
        reply = decode_timestamp_response(response.content)
    except ValueError as error:
        raise FetchError(
            url, f"the time-stamping authority at '{url}' sent no time-stamp response: {error}"
        ) from error
    if reply.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise FetchError(
            url, f"the time-stamping authority at '{url}' refused: {reply.status_string or reply.status}"
        )
    if (
        reply.tst_info.nonce != request.nonce
        or reply.tst_info.message_imprint.message != request.message_imprint.message
    ):
        raise FetchError(url, f"the time-stamping authority at '{url}' answered another request")
    return response.content
