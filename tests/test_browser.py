"""Tests of fetching with a real headless Chromium (ota.fetch.browser through ota.fetch), against pages
served on 127.0.0.1. Tests marked `browser` need Debian's chromium and are skipped without it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

from ota.errors import FetchError
from ota.fetch import FULL_DOM, HTML_ONLY, Fetcher, FetchMode, FetchSettings, Page
from ota.fetch.browser import Browser, proxy_from_environment
from ota.fetch.lifetime import remove_stale_homes
from tests.conftest import CHROMIUM, fetch_settings, needs_chromium
from tests.localserver import Hit, LocalServer, Reply

T = TypeVar("T")

# Terms written by a script 300 ms after the page loaded, into an element that is there but empty.
SCRIPTED_TERMS = b"""<!DOCTYPE html>
<html><head><title>Terms</title></head>
<body><main id="terms"></main>
<script>
const words = ["These", "are", "the", "scripted", "terms."];
setTimeout(() => { document.getElementById("terms").textContent = words.join(" "); }, 300);
</script></body></html>"""
STATIC_PAGE = b"<!DOCTYPE html><html><body><main>Static terms</main></body></html>"


def html_reply(body: bytes = STATIC_PAGE, **options: Any) -> Reply:
    """A reply of the test site: an HTML page in UTF-8 (as a site says it), unless told otherwise."""
    options.setdefault("headers", {"Content-Type": "text/html; charset=utf-8"})
    return Reply(body=body, **options)


@pytest.fixture
def site() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def fetch(url: str, settings: FetchSettings | None = None, **options: Any) -> Page:
    async def go() -> Page:
        async with Fetcher(settings or fetch_settings()) as fetcher:
            return await fetcher.fetch(url, **options)

    return run(go())


def fetch_error(url: str, settings: FetchSettings | None = None, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, settings, **options)
    return caught.value


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (Chromium refuses some ports, such as 1, as unsafe)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.browser
@needs_chromium
def test_scripted_terms_are_captured_by_the_browser_and_not_by_plain_http(site: LocalServer) -> None:
    """executeClientScripts renders the page and waits for the selector to have text."""
    site.reply("/terms", html_reply(SCRIPTED_TERMS))
    settings = fetch_settings(accept_language="en-IE, en-GB, en", user_agent="ota-test-agent/1.0")
    url = site.url("/terms")

    async def go() -> tuple[Page, Page]:
        async with Fetcher(settings or fetch_settings()) as fetcher:
            plain = await fetcher.fetch(url, mode=FetchMode.HTTP)
            rendered = await fetcher.fetch(url, mode=FetchMode.BROWSER, wait_for=("#terms",))
            return plain, rendered

    plain, page = run(go())
    assert b"These are the scripted terms." not in plain.content
    assert plain.fetcher == HTML_ONLY
    assert b'<main id="terms">These are the scripted terms.</main>' in page.content
    assert page.content.startswith(b"<!DOCTYPE html><html><head><title>Terms</title></head>")
    assert (page.fetcher, page.mime_type, page.final_url) == (FULL_DOM, "text/html", url)
    browser_request = next(request for request in site.requests_to("/terms") if request.from_browser)
    assert browser_request.headers["user-agent"] == "ota-test-agent/1.0"
    assert browser_request.headers["accept-language"] == "en-IE, en-GB, en"


@pytest.mark.browser
@needs_chromium
def test_a_selector_that_never_matches_is_waited_for_at_most_browser_wait(site: LocalServer) -> None:
    """Past `browser_wait` the page is taken as it is, for extraction to report the selector."""
    site.reply("/terms", html_reply())
    url = site.url("/terms")

    async def go() -> tuple[Page, float]:
        async with Fetcher(fetch_settings(browser_wait=1.0, timeout=60)) as fetcher:
            await fetcher.fetch(url, mode=FetchMode.BROWSER)  # starts the browser
            start = time.monotonic()
            page = await fetcher.fetch(url, mode=FetchMode.BROWSER, wait_for=("main", "#missing"))
            return page, time.monotonic() - start

    page, elapsed = run(go())
    assert b"Static terms" in page.content
    # It waited `browser_wait`, not the fetch timeout (60 s): which one, whatever the machine's speed.
    assert 1.0 <= elapsed < 60


@pytest.mark.browser
@needs_chromium
def test_http_errors_through_the_browser_use_otas_message(site: LocalServer) -> None:
    """A 404 page, and a 403 with an empty body (which Chromium fails), read as plain HTTP's."""
    site.reply("/forbidden", html_reply(status=403, body=b""))

    async def go() -> list[FetchError]:
        errors = []
        async with Fetcher(fetch_settings()) as fetcher:
            for path in ("/missing", "/forbidden"):
                with pytest.raises(FetchError) as caught:
                    await fetcher.fetch(site.url(path), mode=FetchMode.BROWSER)
                errors.append(caught.value)
        return errors

    missing, forbidden = run(go())
    assert str(missing) == f"Received HTTP code 404 when trying to fetch '{site.url('/missing')}'"
    assert (missing.status, missing.transient) == (404, False)
    assert str(forbidden) == f"Received HTTP code 403 when trying to fetch '{site.url('/forbidden')}'"
    assert (forbidden.status, forbidden.transient) == (403, True)


def _blocks_plain_clients(request: Hit) -> Reply:
    return html_reply(SCRIPTED_TERMS) if request.from_browser else html_reply(status=403, body=b"Forbidden")


@pytest.mark.browser
@needs_chromium
def test_a_403_to_plain_http_falls_back_to_the_browser_when_scripts_are_unspecified(
    site: LocalServer,
) -> None:
    """executeClientScripts absent: a 403 is tried again with the browser, as OTA does."""
    site.routes["/terms"] = _blocks_plain_clients
    page = fetch(site.url("/terms"), mode=FetchMode.AUTO, wait_for=("#terms",))
    assert page.fetcher == FULL_DOM
    assert b"These are the scripted terms." in page.content
    assert [request.from_browser for request in site.requests_to("/terms")] == [False, True]


@pytest.mark.browser
@needs_chromium
def test_no_browser_fallback_when_scripts_are_disabled(site: LocalServer) -> None:
    """executeClientScripts false: plain HTTP only, its 403 is the answer."""
    site.routes["/terms"] = _blocks_plain_clients
    error = fetch_error(site.url("/terms"), mode=FetchMode.HTTP)
    assert str(error) == f"Received HTTP code 403 when trying to fetch '{site.url('/terms')}'"
    assert [request.from_browser for request in site.requests_to("/terms")] == [False]


@pytest.mark.browser
@needs_chromium
def test_a_connection_reset_falls_back_to_the_browser_but_a_404_does_not(site: LocalServer) -> None:
    """ECONNRESET is bot blocking to OTA; a 404 is not, and is not fetched again."""
    site.routes["/terms"] = lambda request: html_reply() if request.from_browser else html_reply(reset=True)
    settings = fetch_settings(max_attempts=1)
    assert fetch(site.url("/terms"), settings, mode=FetchMode.AUTO).fetcher == FULL_DOM
    error = fetch_error(site.url("/gone"), settings, mode=FetchMode.AUTO)
    assert error.status == 404
    assert [request.from_browser for request in site.requests_to("/gone")] == [False]


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize(("pages", "per_host", "expected"), [(2, 10, 2), (4, 1, 1)])
def test_browser_pages_and_the_per_host_limit_bound_concurrent_renders(
    site: LocalServer, pages: int, per_host: int, expected: int
) -> None:
    """At most `browser_pages` pages render at once, and no more than `per_host` for one host."""
    site.reply("/slow", html_reply(delay=1.0))  # long enough for the renders to overlap
    settings = fetch_settings(browser_pages=pages, per_host=per_host)

    async def go() -> list[Page]:
        async with Fetcher(settings or fetch_settings()) as fetcher:
            fetches = [fetcher.fetch(site.url(f"/slow?{n}"), mode=FetchMode.BROWSER) for n in range(4)]
            return await asyncio.gather(*fetches)

    assert all(page.fetcher == FULL_DOM for page in run(go()))
    assert len(site.requests_to("/slow")) == 4
    assert site.stats.max_in_flight["/slow"] == expected


@pytest.mark.browser
@needs_chromium
def test_network_failures_through_the_browser_use_node_codes() -> None:
    """Chromium's net::ERR_CONNECTION_REFUSED reads as OTA's ECONNREFUSED message."""
    url = f"http://127.0.0.1:{free_port()}/terms"
    error = fetch_error(url, mode=FetchMode.BROWSER)
    assert str(error) == f"Network system error ECONNREFUSED occurred when trying to fetch '{url}'"
    assert error.transient


@pytest.mark.browser
@needs_chromium
def test_a_slow_page_times_out_after_the_fetch_timeout(site: LocalServer) -> None:
    """The navigation timeout is the fetch timeout."""
    site.reply("/slow", html_reply(delay=4))
    url = site.url("/slow")
    error = fetch_error(url, fetch_settings(timeout=1), mode=FetchMode.BROWSER)
    assert str(error) == f"Timed out after 1 seconds when trying to fetch '{url}'"
    assert error.transient


@pytest.mark.browser
@needs_chromium
def test_a_script_that_never_yields_cannot_hang_the_fetch(site: LocalServer) -> None:
    """A page whose script loops forever times out instead of blocking the run."""
    site.reply("/loop", html_reply(b"<p>x</p><script>setTimeout(() => { for (;;) {} }, 50)</script>"))
    url = site.url("/loop")

    async def go() -> FetchError:
        # A watchdog, not a measure: were the fetch to hang, the test fails here instead of hanging.
        async with asyncio.timeout(300), Fetcher(fetch_settings(timeout=1, browser_wait=0.5)) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url, mode=FetchMode.BROWSER, wait_for=("main",))
            return caught.value

    error = run(go())
    assert str(error) == f"Timed out after 1 seconds when trying to fetch '{url}'"


@pytest.mark.browser
@needs_chromium
def test_non_html_documents_keep_their_own_content(site: LocalServer) -> None:
    """A PDF is stored as its bytes, a text file decoded from its charset, not as the viewer's DOM."""
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    site.reply("/terms.pdf", html_reply(headers={"Content-Type": "application/pdf"}, body=pdf))
    site.reply(
        "/terms.txt", html_reply(headers={"Content-Type": "text/plain; charset=latin-1"}, body=b"Caf\xe9")
    )

    async def go() -> list[Page]:
        async with Fetcher(fetch_settings()) as fetcher:
            return [
                await fetcher.fetch(site.url(path), mode=FetchMode.BROWSER)
                for path in ("/terms.pdf", "/terms.txt")
            ]

    pdf_page, text_page = run(go())
    assert {request.headers["user-agent"] for request in site.requests} == {fetch_settings().user_agent}
    assert (pdf_page.mime_type, pdf_page.content, pdf_page.fetcher) == ("application/pdf", pdf, FULL_DOM)
    assert (text_page.mime_type, text_page.content) == ("text/plain", "Café".encode())


@pytest.mark.browser
@needs_chromium
def test_one_chromium_serves_every_render_until_closed(site: LocalServer) -> None:
    """The browser starts on the first render, is reused, and starts again after `aclose`."""
    site.reply("/terms", html_reply())
    browser = Browser(CHROMIUM, user_agent="ota-test", accept_language="en")

    async def go() -> list[tuple[int, bool]]:
        states = [(browser.launches, browser.running)]
        for _ in range(3):
            await browser.render(site.url("/terms"), wait_for=(), timeout=10, wait=1)
            states.append((browser.launches, browser.running))
        await browser.aclose()
        states.append((browser.launches, browser.running))
        await browser.render(site.url("/terms"), wait_for=(), timeout=10, wait=1)
        states.append((browser.launches, browser.running))
        await browser.aclose()
        return states

    assert run(go()) == [(0, False), (1, True), (1, True), (1, True), (1, False), (2, True)]


@pytest.mark.browser
@needs_chromium
def test_chromium_homes_left_by_killed_runs_are_removed_at_the_next_start(
    site: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed with SIGKILL cannot remove Chromium's home (its trusted CAs, profile): the next
    browser start removes those of ota processes that are gone, never one of a running process."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    running = subprocess.Popen(["sleep", "30"])
    stale = tmp_path / f"ota-chromium-{gone.pid}-abc123"
    kept = tmp_path / f"ota-chromium-{running.pid}-def456"
    other = tmp_path / "ota-chromium-notapid"
    for folder in (stale, kept, other):
        (folder / ".pki").mkdir(parents=True)
    site.reply("/terms", html_reply())
    authority = tmp_path / "authority.pem"
    trustme.CA().cert_pem.write_to_path(str(authority))  # a home is made to trust it
    browser = Browser(CHROMIUM, user_agent="ota-test", accept_language="en", ca_certificates=[authority])

    async def go() -> list[str]:
        await browser.render(site.url("/terms"), wait_for=(), timeout=10, wait=1)
        during = sorted(path.name for path in tmp_path.glob(f"ota-chromium-{os.getpid()}-*"))
        await browser.aclose()
        return during

    try:
        during = run(go())
    finally:
        running.kill()
        running.wait()
    assert len(during) == 2  # this process's home and its driver's folder, while the browser ran
    assert not stale.exists() and kept.exists() and other.exists()
    assert list(tmp_path.glob(f"ota-chromium-{os.getpid()}-*")) == []  # removed at close


RENDER_THEN_WAIT = """
import asyncio, sys, time
from ota.fetch.browser import Browser

async def main() -> None:
    browser = Browser(sys.argv[1], user_agent="ota-test", accept_language="en")
    await browser.render(sys.argv[2], wait_for=(), timeout=10, wait=1)
    print("rendered", flush=True)
    time.sleep(60)  # killed meanwhile

asyncio.run(main())
"""


def processes_naming(marker: str) -> dict[int, str]:
    """The live processes whose command line or environment names `marker` (pid → command line)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    continue  # dead, waiting to be reaped
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            command = command.decode(errors="replace")
            environment = Path(f"/proc/{entry}/environ").read_bytes().decode(errors="replace")
        except (OSError, IndexError):
            continue
        if marker in command or marker in environment:
            found[int(entry)] = command
    return found


@pytest.mark.browser
@needs_chromium
def test_the_driver_and_chromium_die_at_once_with_the_process_that_started_them(
    site: LocalServer, tmp_path: Path
) -> None:
    """A process rendering with Chromium is killed with SIGKILL: Playwright's driver (Node.js) and
    Chromium (which runs in a session of its own) die with it at once, by the parent-death signal,
    instead of living on until they notice their pipes closed."""
    site.reply("/terms", html_reply())
    script = tmp_path / "render.py"
    script.write_text(RENDER_THEN_WAIT)
    command = [sys.executable, str(script), CHROMIUM, site.url("/terms")]
    # A TMPDIR of the test's own, short (Chromium binds a socket there): a browser started meanwhile
    # by another test process (pytest -n) removes the stale homes of the shared one.
    private = Path(tempfile.mkdtemp(prefix="ota-t"))
    environment = {**os.environ, "TMPDIR": str(private)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "rendered\n"
            marker = f"ota-chromium-{child.pid}-"  # Chromium's profile and the driver's TMPDIR are there
            before = processes_naming(marker)
            [driver] = [pid for pid, command in before.items() if "run-driver" in command]
            [chromium] = [pid for pid, c in before.items() if "--user-data-dir" in c and "--type=" not in c]
        finally:
            child.kill()
            child.wait()
    # The kernel signals a child whose parent died as part of the parent's exit: once the killed
    # process is reaped, its driver is dead or dying; once the driver is dead, Chromium is.
    assert dying(driver), "the driver outlives the process that started it"
    wait_until(lambda: not alive(driver))
    assert dying(chromium), "Chromium outlives the driver"
    wait_until(lambda: not processes_naming(marker))
    assert processes_naming(marker) == {}
    removed = remove_stale_homes(private)  # as the next run would
    assert any(path.name.startswith(marker) for path in removed)
    shutil.rmtree(private)


@pytest.mark.browser
@needs_chromium
@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not Path("/mnt").is_dir(),
    reason="mounting a file system (on /mnt, in a mount namespace of the test's own) needs root",
)
def test_chromium_starts_when_tmpdir_is_mounted_noexec(site: LocalServer, tmp_path: Path) -> None:
    """A hardened server mounts its TMPDIR `noexec`: the launchers ota writes there cannot run, so
    the driver and Chromium start as Playwright starts them, and pages are rendered all the same."""
    site.reply("/terms", html_reply())
    script = tmp_path / "render.py"
    script.write_text(RENDER_THEN_WAIT.replace("time.sleep(60)", "pass"))
    # /mnt, in a mount namespace of the test's own: a short TMPDIR, as a server's is (Chromium binds
    # a socket under TMPDIR, and a socket's path has 107 bytes at most).
    noexec = Path("/mnt")
    inner = f'mount -t tmpfs -o noexec tmpfs {noexec} && TMPDIR={noexec} exec "$@"'
    command = ["unshare", "--mount", "sh", "-c", inner, "sh", sys.executable, str(script), CHROMIUM]
    result = subprocess.run([*command, site.url("/terms")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "rendered\n", result.stderr[-2000:]


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def dying(pid: int) -> bool:
    """Whether a process is dead, or about to be: SIGKILL pending, or already exiting."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    except (OSError, IndexError, ValueError):
        return True
    pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
    return fields[0] in "ZX" or bool(pending & (1 << (signal.SIGKILL - 1))) or bool(int(fields[6]) & 0x4)


def wait_until(condition: Callable[[], bool], seconds: float = 120.0) -> None:
    """Wait until `condition` holds, at most `seconds` (a watchdog for loaded machines, not a measure)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_missing_chromium_is_a_clear_fetch_error(site: LocalServer) -> None:
    """Without Chromium a browser fetch says what to install; the fallback keeps the plain error."""
    site.reply("/terms", html_reply(status=403, body=b"Forbidden"))
    settings = fetch_settings(browser_path="/nonexistent/chromium")
    url = site.url("/terms")
    error = fetch_error(url, settings, mode=FetchMode.BROWSER)
    assert str(error) == (
        f"Cannot fetch '{url}' with a browser (executeClientScripts): Chromium is not installed at "
        "'/nonexistent/chromium'; install Debian's chromium package (apt-get install chromium)"
    )
    fallback = fetch_error(url, settings, mode=FetchMode.AUTO)
    assert str(fallback) == f"Received HTTP code 403 when trying to fetch '{url}'"


def test_the_browser_proxy_comes_from_the_environment() -> None:
    """HTTPS_PROXY (else HTTP_PROXY) with its credentials, and NO_PROXY as the bypass list."""
    assert proxy_from_environment({}) is None
    assert proxy_from_environment(
        {
            "http_proxy": "http://proxy:3128",
            "HTTPS_PROXY": "http://us%40r:p%3Ass@secure:8080",
            "NO_PROXY": "a.b",
        }
    ) == {"server": "http://secure:8080", "username": "us@r", "password": "p:ss", "bypass": "a.b"}
    assert proxy_from_environment({"HTTP_PROXY": "proxy:3128"}) == {"server": "http://proxy:3128"}
