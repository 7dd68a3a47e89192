"""The address guard: ota fetches public addresses only, unless told otherwise.

ota fetches pages that anyone who can edit a declaration, or any site it fetches, controls. A
page that redirects to `http://169.254.169.254/latest/meta-data/`, a declaration naming
`http://127.0.0.1:8080/admin` or `http://2130706433/`, a host name whose DNS answers a private
address: each would make ota fetch, and commit as evidence, something on the private side of the
machine it runs on (server-side request forgery).

So every connection is checked where it is made: the host name is resolved here, each address
is checked against the policy, and the connection goes to an address that passed, by number, so
that a DNS answer that changes between the check and the connection (DNS rebinding) cannot slip
through. Plain HTTP connects through `GuardedBackend`; the browser's connections go through a
local proxy that applies the same policy (`ota.fetch.proxy`). Through a proxy of the operator's
(`HTTP_PROXY`…), a name that does not resolve here is left to the proxy (`check_proxied`).

Refused: loopback, private (RFC 1918, fc00::/7, 100.64.0.0/10), link-local, unspecified,
multicast, reserved and documentation addresses, and the cloud metadata services' addresses;
IPv4 addresses written as IPv6 (`::ffff:127.0.0.1`) are judged as the IPv4 address they are.
`[fetch] allow_private_addresses = true` (or `OTA_ALLOW_PRIVATE_ADDRESSES=1`) lifts the guard;
`[fetch] allowed_networks` allows some networks only (an intranet's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore

from ota.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The addresses of cloud providers' instance metadata services (AWS, GCP, Azure, Oracle,
#: Alibaba): the first thing a request forgery goes for, named as such in refusals.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "168.63.129.16", "192.0.0.192", "100.100.100.200")
)


class AddressRefused(Exception):
    """A connection refused by the address guard: `host` is `address`, which is `reason`."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        named = address if host == address else f"{host} ({address})"
        super().__init__(f"{named} is {reason}")


class AddressPolicy:
    """Which addresses ota may connect to."""

    def __init__(
        self, *, allow_private: bool = False, allowed_networks: Iterable[str | Network] = ()
    ) -> None:
        self.allow_private = allow_private
        self.allowed_networks = tuple(
            ipaddress.ip_network(network, strict=False) for network in allowed_networks
        )

    @property
    def restricts(self) -> bool:
        """Whether some address is refused at all."""
        return not self.allow_private

    def refusal(self, address: str | IPAddress) -> str | None:
        """Why `address` may not be connected to, in words (`a loopback address`…), or None."""
        if self.allow_private:
            return None
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])  # an IPv6 zone names no other host
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowed_networks):
            return None
        if ip in METADATA_ADDRESSES:
            return "a cloud metadata address"
        for test, words in (
            (ip.is_loopback, "a loopback address"),
            (ip.is_link_local, "a link-local address"),
            (ip.is_unspecified, "an unspecified address"),
            (ip.is_multicast, "a multicast address"),
            (ip.is_reserved, "a reserved address"),
            (ip.is_private, "a private address"),
        ):
            if test:
                return words
        if not ip.is_global:
            return "not a public address"
        return None


def refused_fetch(url: str, current: str, refusal: AddressRefused) -> FetchError:
    """The failure of a fetch the address guard stopped, naming the URL, the redirect and the address."""
    redirected = f" (redirected to '{current}')" if current != url else ""
    return FetchError(
        url,
        f"Refused to fetch '{url}'{redirected}: {refusal}; ota fetches public addresses only "
        "(allow others with [fetch] allow_private_addresses or allowed_networks)",
    )


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` has, as the system resolver answers them (its order kept)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, policy: AddressPolicy, resolver: Resolver) -> list[str]:
    """The addresses of `host` the policy allows; raises AddressRefused when there is none.

    Raises `httpcore.ConnectError` (from the `socket.gaierror`) when the name does not resolve.
    """
    try:
        addresses = list(await resolver(host, port))
    except socket.gaierror as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    allowed = [address for address in addresses if policy.refusal(address) is None]
    if not allowed:
        first = addresses[0] if addresses else host
        raise AddressRefused(host, first, policy.refusal(first) or "not an address")
    return allowed


async def check_proxied(host: str, port: int, policy: AddressPolicy, resolver: Resolver) -> None:
    """Check `host` before a proxy connects to it; raises AddressRefused.

    The proxy resolves the name, maybe where this machine cannot (a network whose only way out is
    the proxy has no DNS): a numeric address is judged as it is, a name by the addresses it has
    here, and a name that does not resolve here is left to the proxy.
    """
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            await checked_addresses(host, port, policy, resolver)
        except httpcore.ConnectError as exc:
            if not isinstance(exc.__cause__, socket.gaierror):
                raise
        return
    reason = policy.refusal(address)
    if reason is not None:
        raise AddressRefused(host, host, reason)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to the addresses `policy` allows.

    `resolver` and `inner` (the backend that really connects) are seams for tests: a resolver that
    answers chosen addresses, a backend that records instead of connecting.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if not self.policy.restricts:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        failure: Exception | None = None
        for address in await checked_addresses(host, port, self.policy, self._resolver):
            try:  # by number: what was checked is what is connected to
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(path, path, "a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
