"""The HTTP transport of the fetcher: httpcore's connection pool over the guarded network backend.

httpx's own transport builds its pool with httpcore's default network backend and offers no way
to give it another; this one is the same few lines around httpcore, with the backend of
`ota.fetch.guard` and httpcore's errors translated to httpx's, as httpx translates them (the
fetcher and its error codes work on httpx's errors).

Through a proxy (`HTTP_PROXY`, `HTTPS_PROXY`), the proxy makes the connections: the connection to
the proxy is the operator's choice and is not checked; the page's host is checked here before each
request (`check_proxied`: a best effort, the proxy resolves the name again; a name that does not
resolve here, on a network whose only DNS is the proxy's, is left to the proxy).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager, suppress

import httpcore
import httpx

# httpcore connects through anyio, which imports its asyncio backend (about 20 ms) on the first
# connection, the first request of a run waiting for it: imported with the fetcher instead, which
# a run makes while its recording process starts (`ota.tracking.run`). Should a later anyio move
# it, it is imported on the first connection, as before.
with suppress(ImportError):
    import anyio._backends._asyncio  # noqa: F401

from ota.fetch.guard import AddressPolicy, GuardedBackend, Resolver, check_proxied, resolve

_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    # Most specific first.
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise _httpx_error(exc) from exc
    except (
        httpcore.NetworkError,
        httpcore.ProxyError,
        httpcore.UnsupportedProtocol,
        httpcore.ProtocolError,
    ) as exc:
        raise _httpx_error(exc) from exc


def _httpx_error(exc: Exception) -> httpx.TransportError:
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(str(exc))
    return httpx.TransportError(str(exc))  # not reached: every httpcore error is listed


class _Body(httpx.AsyncByteStream):
    """A response body read from httpcore, its errors translated."""

    def __init__(self, response: httpcore.Response) -> None:
        assert isinstance(response.stream, AsyncIterable)
        self._stream = response.stream
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _translated():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """A pool of connections to one host (or through one proxy), checked by the address guard."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None,
        connections: int,
        policy: AddressPolicy,
        proxy: str | None = None,
        resolver: Resolver = resolve,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._through_proxy = proxy is not None
        pool: httpcore.AsyncConnectionPool
        if proxy is None:
            pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=connections,
                max_keepalive_connections=connections,
                http1=True,
                http2=False,
                network_backend=backend or GuardedBackend(policy, resolver=resolver),
            )
        else:
            settings = httpx.Proxy(url=proxy)
            pool = httpcore.AsyncHTTPProxy(
                proxy_url=httpcore.URL(
                    scheme=settings.url.raw_scheme,
                    host=settings.url.raw_host,
                    port=settings.url.port,
                    target=settings.url.raw_path,
                ),
                proxy_auth=settings.raw_auth,
                proxy_headers=settings.headers.raw,
                ssl_context=ssl_context,
                max_connections=connections,
                max_keepalive_connections=connections,
                http1=True,
                http2=False,
                network_backend=backend,
            )
        self._pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._through_proxy and self._policy.restricts:
            port = request.url.port or (443 if request.url.scheme == "https" else 80)
            with _translated():
                await check_proxied(request.url.host, port, self._policy, self._resolver)
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _translated():
            response = await self._pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
