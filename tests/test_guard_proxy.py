"""The address guard behind proxies: the guard's own proxy for Chromium answers every failure, and a
proxy chosen by the operator carries requests whose names do not resolve here. Every server is on
127.0.0.1 and names are answered by a resolver seam: no packet leaves loopback, not even DNS."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence

import pytest

from ota.fetch.guard import AddressPolicy
from ota.fetch.proxy import GuardProxy


async def knows_no_name(host: str, port: int) -> Sequence[str]:
    """The resolver of a network without DNS."""
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


async def exchange(proxy: GuardProxy, request: bytes) -> bytes:
    """Send `request` to the started `proxy`; what it answers before closing."""
    address = await proxy.start()
    host, port = address.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        await proxy.aclose()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"CONNECT nowhere.test:443 HTTP/1.1\r\nHost: nowhere.test:443\r\n\r\n",
        b"GET http://nowhere.test/terms HTTP/1.1\r\nHost: nowhere.test\r\n\r\n",
    ],
    ids=["connect", "plain"],
)
def test_a_name_that_does_not_resolve_is_a_502_and_one_log_line(
    request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Chromium asking for a host that does not resolve gets a 502 naming it, and the log one line,
    not asyncio's 'Unhandled exception in client_connected_cb' with httpcore's traceback."""
    caplog.set_level(logging.DEBUG)
    proxy = GuardProxy(AddressPolicy(), resolver=knows_no_name)

    answer = asyncio.run(exchange(proxy, request_bytes))

    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway\r\n"), answer
    assert b"cannot connect to nowhere.test" in answer
    lines = [record for record in caplog.records if record.levelno >= logging.INFO]
    assert [record.name for record in lines] == ["ota.fetch.proxy"], caplog.text
    assert "nowhere.test" in lines[0].getMessage() and lines[0].exc_info is None
