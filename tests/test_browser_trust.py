"""Tests of what Chromium trusts and how it is confined (ota.fetch.browser, ota.fetch.nssdb): extra
certificate authorities, checked against HTTPS servers on 127.0.0.1 whose certificates a test CA
issued."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

from ota.errors import FetchError
from ota.fetch.browser import Browser, Rendered
from ota.fetch.nssdb import TrustError, make_home, pem_certificates
from tests.test_browser import CHROMIUM, needs_chromium

needs_certutil = pytest.mark.skipif(
    shutil.which("certutil") is None,
    reason="certutil is not installed (apt-get install libnss3-tools)",
)
TERMS = "<!DOCTYPE html><html><body><main>Secure terms</main></body></html>"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "proxy-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def https_server(certificate: trustme.LeafCert) -> Iterator[HTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/terms").respond_with_data(TERMS, content_type="text/html")
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def site(ca: trustme.CA) -> Iterator[HTTPServer]:
    """An HTTPS server whose certificate, for 127.0.0.1, the test CA issued."""
    yield from https_server(ca.issue_cert("127.0.0.1"))


@pytest.fixture
def misnamed_site(ca: trustme.CA) -> Iterator[HTTPServer]:
    """An HTTPS server on 127.0.0.1 whose certificate, from the test CA, names another host."""
    yield from https_server(ca.issue_cert("terms.example"))


@pytest.fixture
def expired_site(ca: trustme.CA) -> Iterator[HTTPServer]:
    """An HTTPS server on 127.0.0.1 whose certificate from the test CA expired yesterday."""
    now = datetime.now(UTC)
    yield from https_server(
        ca.issue_cert("127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    )


def render(url: str, ca_certificates: tuple[Path, ...] = ()) -> Rendered:
    async def go() -> Rendered:
        browser = Browser(
            CHROMIUM, user_agent="ota-test", accept_language="en", ca_certificates=ca_certificates
        )
        try:
            return await browser.render(url, wait_for=(), timeout=10, wait=0)
        finally:
            await browser.aclose()

    return asyncio.run(go())


def render_error(url: str, ca_certificates: tuple[Path, ...] = ()) -> str:
    with pytest.raises(FetchError) as caught:
        render(url, ca_certificates)
    return str(caught.value)


@pytest.mark.browser
@needs_chromium
@needs_certutil
def test_chromium_trusts_the_given_ca_only_when_given(site: HTTPServer, ca_file: Path) -> None:
    """Without the CA the page fails as OTA words it; with the CA, as a file or a folder, it renders."""
    url = site.url_for("/terms")
    assert render_error(url) == (
        f"Network system error UNABLE_TO_VERIFY_LEAF_SIGNATURE occurred when trying to fetch '{url}'"
    )
    for trusted in (ca_file, ca_file.parent):
        rendered = render(url, (trusted,))
        assert rendered.status == 200
        assert b"<main>Secure terms</main>" in rendered.body


@pytest.mark.browser
@needs_chromium
@needs_certutil
def test_a_trusted_ca_does_not_excuse_a_wrong_host_name(misnamed_site: HTTPServer, ca_file: Path) -> None:
    """The host name is still checked against the certificate."""
    url = misnamed_site.url_for("/terms")
    assert render_error(url, (ca_file,)) == (
        f"Network system error ERR_TLS_CERT_ALTNAME_INVALID occurred when trying to fetch '{url}'"
    )


@pytest.mark.browser
@needs_chromium
@needs_certutil
def test_a_trusted_ca_does_not_excuse_an_expired_certificate(expired_site: HTTPServer, ca_file: Path) -> None:
    """The validity dates are still checked."""
    url = expired_site.url_for("/terms")
    assert render_error(url, (ca_file,)) == (
        f"Network system error CERT_HAS_EXPIRED occurred when trying to fetch '{url}'"
    )


@pytest.mark.browser
@needs_chromium
def test_ca_certificates_that_cannot_be_read_are_a_clear_error(site: HTTPServer, tmp_path: Path) -> None:
    """A missing file or a file without certificate stops the browser with the path in the message."""
    url = site.url_for("/terms")
    (tmp_path / "notes.txt").write_text("no certificate here")
    assert render_error(url, (tmp_path / "notes.txt",)) == (
        f"Cannot fetch '{url}' with a browser (executeClientScripts): Chromium cannot trust the CA "
        f"certificates: no PEM certificate ('-----BEGIN CERTIFICATE-----') in '{tmp_path / 'notes.txt'}'"
    )
    assert "cannot read the CA certificates at" in render_error(url, (tmp_path / "missing.pem",))


def test_pem_certificates_reads_bundles_and_folders_once_each(ca: trustme.CA, tmp_path: Path) -> None:
    """Every certificate of a bundle, of a folder's files, each once; other PEM blocks are ignored."""
    other = trustme.CA()
    first, second = ca.cert_pem.bytes(), other.cert_pem.bytes()
    (tmp_path / "bundle.crt").write_bytes(first + b"\n" + other.private_key_pem.bytes() + second)
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "a.pem").write_bytes(first.replace(b"\n", b"\r\n"))
    (folder / "sub").mkdir()
    assert pem_certificates([tmp_path / "bundle.crt", folder]) == [first, second]


def test_make_home_without_certutil_says_what_to_install(ca_file: Path, tmp_path: Path) -> None:
    """certutil comes from Debian's libnss3-tools."""
    with pytest.raises(TrustError) as caught:
        make_home(tmp_path / "home", [ca_file], certutil="/nonexistent/certutil")
    assert str(caught.value) == (
        "trusting CA certificates in Chromium needs certutil; "
        "install Debian's libnss3-tools package (apt-get install libnss3-tools)"
    )
