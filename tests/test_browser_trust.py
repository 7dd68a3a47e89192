"""Tests of what Chromium trusts and how it is confined (ota.fetch.browser, ota.fetch.nssdb): extra
certificate authorities, checked against HTTPS servers on 127.0.0.1 whose certificates a test CA
issued, and the sandbox, proved by launching Chromium as an unprivileged user."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

from ota.errors import FetchError
from ota.fetch.browser import Browser, Rendered, sandbox_enabled
from ota.fetch.nssdb import TrustError, make_home, pem_certificates
from tests.conftest import CHROMIUM, needs_chromium

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


# -- the sandbox ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "euid", "expected"),
    [(None, 0, False), (None, 1000, True), (True, 0, True), (False, 1000, False), (True, 1000, True)],
)
def test_the_sandbox_is_on_unless_running_as_root_or_turned_off(
    setting: bool | None, euid: int, expected: bool
) -> None:
    """None decides from the effective user: Chromium cannot start its sandbox as root."""
    assert sandbox_enabled(setting, euid=euid) is expected


def test_a_browser_decides_its_sandbox_when_built() -> None:
    """The automatic choice follows this process's effective user."""
    assert Browser(user_agent="x", accept_language="en").sandbox is (os.geteuid() != 0)
    assert Browser(user_agent="x", accept_language="en", sandbox=False).sandbox is False


NOBODY = 65534
_SANDBOXED_CHILD = """
import asyncio, sys
from ota.fetch.browser import Browser

async def main():
    browser = Browser(sys.argv[1], user_agent="ota-test", accept_language="en")
    try:
        print("sandbox setting:", browser.sandbox)
        rendered = await browser.render(sys.argv[2], wait_for=(), timeout=20, wait=0)
        print("rendered:", rendered.body.decode())
        tab = await (await browser.started()).new_page()
        await tab.goto("chrome://sandbox")
        print(await tab.inner_text("body"))
    finally:
        await browser.aclose()

asyncio.run(main())
"""


@pytest.mark.browser
@needs_chromium
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_chromium_runs_in_its_sandbox_for_an_unprivileged_user(httpserver: HTTPServer) -> None:
    """As user nobody, the automatic setting turns the sandbox on, and Chromium renders in it."""
    httpserver.expect_request("/terms").respond_with_data(TERMS, content_type="text/html")
    with tempfile.TemporaryDirectory() as home:
        os.chown(home, NOBODY, NOBODY)
        command = [
            "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            sys.executable, "-c", _SANDBOXED_CHILD, CHROMIUM, httpserver.url_for("/terms"),
        ]  # fmt: skip
        environment = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        importable = subprocess.run(
            [*command[:4], sys.executable, "-c", "import ota"], cwd=home, env=environment, capture_output=True
        )
        if importable.returncode != 0:  # e.g. a checkout in a private folder (mktemp -d makes them 0700)
            pytest.skip(f"user nobody cannot run this checkout's Python and ota ({sys.executable})")
        child = subprocess.run(
            command, cwd=home, env=environment, capture_output=True, text=True, timeout=120, check=False
        )
    output = child.stdout + child.stderr
    if "No usable sandbox" in output:
        pytest.skip(f"this machine refuses Chromium's sandbox to unprivileged users: {output[-500:]}")
    assert child.returncode == 0, output
    assert "sandbox setting: True" in output
    assert "<main>Secure terms</main>" in output
    assert "Seccomp-BPF sandbox\tYes" in output
    assert "You are adequately sandboxed." in output


@needs_chromium
@needs_certutil
def test_ota_track_renders_through_https_whose_authority_only_ssl_cert_file_names(
    site: HTTPServer, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: with SSL_CERT_FILE naming the test CA (as behind an intercepting proxy), `ota
    track` fetches an executeClientScripts page over HTTPS with Chromium and records it."""
    import json

    from tests.test_track import track

    declarations = tmp_path / "declarations"
    declarations.mkdir()
    terms = {
        "Terms of Service": {"fetch": site.url_for("/terms"), "select": "main", "executeClientScripts": True}
    }
    (declarations / "Secure.json").write_text(json.dumps({"name": "Secure", "terms": terms}), "utf-8")
    (tmp_path / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")

    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    code, output = track(tmp_path)
    assert code == 0, output
    assert (tmp_path / "versions" / "Secure" / "Terms of Service.md").read_text("utf-8") == "Secure terms"

    monkeypatch.delenv("SSL_CERT_FILE")
    (tmp_path / "declarations" / "Secure.json").write_text(
        json.dumps({"name": "Secure", "terms": {"Imprint": terms["Terms of Service"]}}), "utf-8"
    )
    code, output = track(tmp_path)
    assert code == 1 and "UNABLE_TO_VERIFY_LEAF_SIGNATURE" in output, output
