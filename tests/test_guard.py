"""The address guard: refusals of private, loopback, link-local and metadata addresses, proved
before any connection is attempted (a resolver answering chosen addresses, a backend that records
instead of connecting); real servers only on 127.0.0.0/8."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpcore
import pytest
from pytest_httpserver import HTTPServer

from ota.errors import FetchError, SettingsError
from ota.fetch import Fetcher, FetchMode
from ota.fetch.guard import AddressPolicy, AddressRefused, GuardedBackend
from ota.settings import FetchSettings, load_settings
from tests.conftest import fetch_settings, needs_chromium


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.0.0.2", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("192.0.2.1", "a private address"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_the_policy_refuses_every_address_that_is_not_public(address: str, reason: str | None) -> None:
    """Each kind of non-public address is refused with its name; public ones pass (no packet sent:
    the policy only reads the address)."""
    assert AddressPolicy().refusal(address) == reason


def test_allowed_networks_and_allow_private_lift_the_guard() -> None:
    """allowed_networks opens those networks only; allow_private opens every address."""
    intranet = AddressPolicy(allowed_networks=["10.20.0.0/16"])
    assert intranet.refusal("10.20.1.1") is None and intranet.refusal("10.21.1.1") == "a private address"
    assert AddressPolicy(allow_private=True).refusal("169.254.169.254") is None


class Recorder(httpcore.AsyncNetworkBackend):
    """A network backend that records connections instead of making them."""

    def __init__(self) -> None:
        self.connections: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connections.append((host, port))
        raise httpcore.ConnectError("recorded, not connected")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AssertionError("not used")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def answering(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A resolver that answers from `table`, the way a hostile DNS would."""

    async def resolver(host: str, port: int) -> Sequence[str]:
        return table[host]

    return resolver


def test_a_name_resolving_to_refused_addresses_is_never_connected_to() -> None:
    """DNS answering the metadata service, a private and a link-local address: refused before any
    connection is attempted."""
    recorder = Recorder()
    backend = GuardedBackend(
        AddressPolicy(),
        resolver=answering({"metadata.test": ["169.254.169.254"], "intranet.test": ["10.0.0.5", "fe80::1"]}),
        inner=recorder,
    )

    async def go() -> list[str]:
        refusals = []
        for host in ("metadata.test", "intranet.test"):
            with pytest.raises(AddressRefused) as raised:
                await backend.connect_tcp(host, 80)
            refusals.append(str(raised.value))
        return refusals

    assert asyncio.run(go()) == [
        "metadata.test (169.254.169.254) is a cloud metadata address",
        "intranet.test (10.0.0.5) is a private address",
    ]
    assert recorder.connections == []


def test_only_the_checked_address_is_connected_to_by_number() -> None:
    """Among the answers, the refused ones are skipped and the connection goes to a checked
    address by number, so a second DNS answer (rebinding) cannot change where it goes."""
    recorder = Recorder()
    backend = GuardedBackend(
        AddressPolicy(), resolver=answering({"mixed.test": ["127.0.0.1", "93.184.216.34"]}), inner=recorder
    )
    with pytest.raises(httpcore.ConnectError, match="recorded"):
        asyncio.run(backend.connect_tcp("mixed.test", 443))
    assert recorder.connections == [("93.184.216.34", 443)]


def guarded(**overrides: Any) -> FetchSettings:
    """Fetch settings with the guard on (the suite's fixture turns it off)."""
    return fetch_settings(allow_private_addresses=False, max_attempts=1, **overrides)


def fetch_error(url: str, settings: FetchSettings, **seams: Any) -> tuple[FetchError, Fetcher]:
    async def go() -> tuple[FetchError, Fetcher]:
        async with Fetcher(settings, **seams) as fetcher:
            with pytest.raises(FetchError) as raised:
                await fetcher.fetch(url, mode=FetchMode.AUTO)
            return raised.value, fetcher

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://127.0.0.1:9/admin", "127.0.0.1 is a loopback address"),
        ("http://localhost:9/", "localhost (127.0.0.1) is a loopback address"),
        ("http://2130706433:9/", "is a loopback address"),
        ("http://[::1]:9/", "::1 is a loopback address"),
        ("http://[::ffff:7f00:1]:9/", "is a loopback address"),
    ],
)
def test_declared_addresses_that_are_not_public_are_refused(url: str, named: str) -> None:
    """Loopback addresses written every way a declaration can write them are refused, the message
    naming the URL and the address; nothing is connected to (port 9 would refuse anyway)."""
    error, _ = fetch_error(url, guarded())
    assert str(error).startswith(f"Refused to fetch '{url}': ")
    assert named in str(error) and "ota fetches public addresses only" in str(error)
    assert error.transient is False


def test_a_redirect_to_the_metadata_service_is_refused_and_not_retried_in_the_browser(
    httpserver: HTTPServer,
) -> None:
    """A page (on an allowed address) redirecting to a name that resolves to 169.254.169.254: the
    redirect is refused, and the refusal is not taken for bot blocking (no browser retry)."""
    httpserver.expect_request("/terms").respond_with_data(
        "", status=302, headers={"Location": "http://metadata.test/latest/meta-data/"}
    )
    resolver = answering(
        {"localhost": ["127.0.0.1"], "127.0.0.1": ["127.0.0.1"], "metadata.test": ["169.254.169.254"]}
    )
    url = httpserver.url_for("/terms")
    error, fetcher = fetch_error(url, guarded(allowed_networks=("127.0.0.1/32",)), resolver=resolver)
    assert str(error).startswith(
        f"Refused to fetch '{url}' (redirected to 'http://metadata.test/latest/meta-data/'): "
        "metadata.test (169.254.169.254) is a cloud metadata address"
    )
    assert fetcher._browser.launches == 0


def test_a_redirect_to_another_loopback_address_is_refused(httpserver: HTTPServer) -> None:
    """A real server on 127.0.0.1 (the only network allowed) redirecting to 127.0.0.2: refused."""
    httpserver.expect_request("/terms").respond_with_data(
        "", status=301, headers={"Location": "http://127.0.0.2:9/internal"}
    )
    url = httpserver.url_for("/terms")
    error, _ = fetch_error(url, guarded(allowed_networks=("127.0.0.1/32",)))
    assert "(redirected to 'http://127.0.0.2:9/internal'): 127.0.0.2 is a loopback address" in str(error)


def test_the_guard_is_a_setting_and_an_environment_variable(tmp_path: Path) -> None:
    """allow_private_addresses and allowed_networks in ota.toml, OTA_ALLOW_PRIVATE_ADDRESSES=1 in
    the environment; bad values are named."""
    config = tmp_path / "ota.toml"
    config.write_text('[fetch]\nallowed_networks = ["10.20.0.0/16"]\n', "utf-8")
    assert load_settings(config, environ={}).fetch.allow_private_addresses is False
    assert load_settings(config, environ={}).fetch.allowed_networks == ("10.20.0.0/16",)
    assert load_settings(config, environ={"OTA_ALLOW_PRIVATE_ADDRESSES": "1"}).fetch.allow_private_addresses
    with pytest.raises(SettingsError, match="OTA_ALLOW_PRIVATE_ADDRESSES=yes: must be 1"):
        load_settings(config, environ={"OTA_ALLOW_PRIVATE_ADDRESSES": "yes"})
    config.write_text('[fetch]\nallowed_networks = ["intranet"]\n', "utf-8")
    with pytest.raises(SettingsError, match=r"\[fetch\] allowed_networks: 'intranet' is not a network"):
        load_settings(config, environ={})


def test_ota_track_refuses_a_declaration_naming_a_private_address(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without OTA_ALLOW_PRIVATE_ADDRESSES, a terms declared on 127.0.0.1 fails with the refusal;
    nothing is recorded for it."""
    from tests.test_track import track

    monkeypatch.delenv("OTA_ALLOW_PRIVATE_ADDRESSES")
    httpserver.expect_request("/terms").respond_with_data("<main>Internal</main>", content_type="text/html")
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    terms = {"Imprint": {"fetch": httpserver.url_for("/terms"), "select": "main"}}
    (declarations / "Inside.json").write_text(json.dumps({"name": "Inside", "terms": terms}), "utf-8")
    (tmp_path / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")

    code, output = track(tmp_path)

    assert code == 1, output
    assert f"failed: Inside › Imprint: Refused to fetch '{httpserver.url_for('/terms')}': " in output
    assert httpserver.log == []


# -- the browser's connections ------------------------------------------------------------------------


@pytest.fixture
def other_loopback() -> Any:
    """A server on 127.0.0.2: a loopback address the guard must refuse (it records any request)."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.expect_request("/").respond_with_data("<main>internal</main>", content_type="text/html")
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def render(url: str, settings: FetchSettings) -> Any:
    async def go() -> Any:
        async with Fetcher(settings) as fetcher:
            try:
                return await fetcher.fetch(url, mode=FetchMode.BROWSER)
            except FetchError as error:
                return error

    return asyncio.run(go())


@needs_chromium
@pytest.mark.browser
def test_the_browser_is_refused_a_redirect_to_another_loopback_address(
    httpserver: HTTPServer, other_loopback: HTTPServer
) -> None:
    """Chromium's connections go through the guard's proxy: a page on the allowed 127.0.0.1 that
    redirects to 127.0.0.2 fails with the refusal, and 127.0.0.2 receives nothing."""
    target = f"http://127.0.0.2:{other_loopback.port}/"
    httpserver.expect_request("/terms").respond_with_data("", status=302, headers={"Location": target})
    url = httpserver.url_for("/terms").replace("localhost", "127.0.0.1")

    error = render(url, guarded(allowed_networks=("127.0.0.1/32",)))

    assert isinstance(error, FetchError), error
    assert str(error).startswith(
        f"Refused to fetch '{url}' (redirected to '{target}'): 127.0.0.2 is a loopback"
    )
    assert other_loopback.log == []


@needs_chromium
@pytest.mark.browser
def test_the_browser_renders_an_allowed_page_without_its_refused_subresources(
    httpserver: HTTPServer, other_loopback: HTTPServer
) -> None:
    """Images, frames and scripts pointing at a refused address are not loaded; the page is."""
    internal = f"http://127.0.0.2:{other_loopback.port}/"
    page = (
        f'<html><body><main><p>Public terms.</p><img src="{internal}"><iframe src="{internal}"></iframe>'
        f'<script src="{internal}"></script></main></body></html>'
    )
    httpserver.expect_request("/terms").respond_with_data(page, content_type="text/html")
    url = httpserver.url_for("/terms").replace("localhost", "127.0.0.1")

    rendered = render(url, guarded(allowed_networks=("127.0.0.1/32",)))

    assert not isinstance(rendered, FetchError), rendered
    assert b"Public terms." in rendered.content
    assert other_loopback.log == []


@pytest.mark.browser
@pytest.mark.parametrize(
    "redirect",
    [
        '<script>location = "{target}";</script>',
        '<meta http-equiv="refresh" content="0; url={target}">',
    ],
    ids=["location", "meta-refresh"],
)
@needs_chromium
def test_a_client_side_redirect_to_a_refused_address_fails_with_the_refusal(
    httpserver: HTTPServer, other_loopback: HTTPServer, redirect: str
) -> None:
    """A page whose script (or meta refresh) sends it to 127.0.0.2 fails with the guard's refusal:
    the refusal's own text is never taken for the terms, and 127.0.0.2 receives nothing."""
    target = f"http://127.0.0.2:{other_loopback.port}/"
    page = f"<html><head>{redirect.format(target=target)}</head><body><p>Moving…</p></body></html>"
    httpserver.expect_request("/terms").respond_with_data(page, content_type="text/html")
    url = httpserver.url_for("/terms").replace("localhost", "127.0.0.1")

    async def go() -> Any:
        async with Fetcher(guarded(allowed_networks=("127.0.0.1/32",), browser_wait=3)) as fetcher:
            try:  # the declaration's selector, which the refusal's text would satisfy too
                return await fetcher.fetch(url, mode=FetchMode.BROWSER, wait_for=("main",))
            except FetchError as error:
                return error

    error = asyncio.run(go())

    assert isinstance(error, FetchError), error.content
    assert str(error).startswith(
        f"Refused to fetch '{url}' (redirected to '{target}'): 127.0.0.2 is a loopback"
    )
    assert other_loopback.log == []


@needs_chromium
@pytest.mark.browser
def test_ota_track_fails_a_terms_whose_page_redirects_itself_to_a_refused_address(
    httpserver: HTTPServer, other_loopback: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ota track`, the guard on: a rendered page doing `location = 'http://127.0.0.2:…/'` fails
    its terms in one line with the refusal (exit 1), and nothing is recorded for it."""
    from tests.test_track import git, track

    monkeypatch.delenv("OTA_ALLOW_PRIVATE_ADDRESSES")
    target = f"http://127.0.0.2:{other_loopback.port}/"
    page = f'<html><body><script>location = "{target}";</script></body></html>'
    httpserver.expect_request("/js").respond_with_data(page, content_type="text/html")
    url = httpserver.url_for("/js").replace("localhost", "127.0.0.1")
    (tmp_path / "declarations").mkdir()
    terms = {"Imprint": {"fetch": url, "select": "body", "executeClientScripts": True}}
    (tmp_path / "declarations" / "Js.json").write_text(json.dumps({"name": "Js", "terms": terms}), "utf-8")
    settings = (
        '[track]\nextract_workers = 0\n[fetch]\nallowed_networks = ["127.0.0.1/32"]\nbrowser_wait = 3\n'
    )
    (tmp_path / "ota.toml").write_text(settings, "utf-8")

    code, output = track(tmp_path)

    assert code == 1, output
    assert (
        f"failed: Js › Imprint: Refused to fetch '{url}' (redirected to '{target}'): 127.0.0.2 is a loopback"
        in output
    )
    assert git(tmp_path / "versions", "ls-files") == ""
    assert other_loopback.log == []
