"""Fixtures shared by every test."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from typer.testing import CliRunner

from ota.settings import FetchSettings, load_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser as SyncBrowser

    from ota.fetch.browser import Browser

T = TypeVar("T")

#: Debian's Chromium, which the browser tests drive (a browser is never downloaded).
CHROMIUM = "/usr/bin/chromium"
#: Skips a test (or, in `pytestmark`, a module) on a machine without Debian's Chromium.
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)",
)


@contextlib.contextmanager
def sync_chromium() -> Iterator[SyncBrowser]:
    """Debian's Chromium through Playwright's synchronous API, for tests that read `ota serve`'s
    pages. Open it after anything that runs `ota track` in the test module: the synchronous API keeps
    an event loop running, where `asyncio.run` could not start."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Chromium cannot use its sandbox as root (as in CI): Playwright then passes --no-sandbox.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, chromium_sandbox=os.geteuid() != 0)
        try:
            yield launched
        finally:
            launched.close()


#: Seconds the longest test files take, setup included (`pytest -n 0 --durations=0`, summed per
#: file, on the 2-core development machine; the image's with its build). They are started
#: first: with `--dist loadfile` a file runs in one process, and a long file handed out last would
#: leave the other processes idle while it ends. Only the order of the work depends on these figures,
#: never a result; a file not listed comes after these, in its place.
LONGEST_FILES = {
    "test_image.py": 100,
    "test_track.py": 90,
    "test_faults.py": 75,
    "test_jsfilters.py": 70,
    "test_browser.py": 48,
    "test_compat.py": 33,
    "test_hostile.py": 29,
    "test_browser_network.py": 22,
    "test_verify.py": 22,
    "test_operations.py": 21,
    "test_browser_trust.py": 20,
    "test_guard.py": 16,
    "test_issues.py": 15,
    "test_dropin.py": 14,
    "test_record.py": 13,
    "test_fetch.py": 11,
    "test_viewer.py": 10,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (`LONGEST_FILES`), each file's tests together and in their order;
    with `--no-loadscope-reorder` (addopts), pytest-xdist hands the files out in this order."""
    items.sort(key=lambda item: -LONGEST_FILES.get(item.path.name, 0))  # stable: files stay whole


# Hypothesis keeps caches in ./.hypothesis by default: tests write nothing into the source tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "ota-hypothesis")


def past_instants(count: int) -> list[datetime]:
    """`count` instants a second apart, in whole seconds, the last one a second before now: runs
    given them (`track_at`) each have their own date, earlier than any later run that reads the
    clock (the CLI's), without waiting a second between runs."""
    latest = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    return [latest - timedelta(seconds=count - 1 - index) for index in range(count)]


def track_at(
    config: Path,
    instant: datetime,
    *,
    services: tuple[str, ...] = (),
    terms_types: tuple[str, ...] = (),
    json_summary: Path | None = None,
) -> str:
    """One real run of tracking (`ota.tracking.launch.track_once`, as `ota track` runs it) of the collection
    `config` describes, every date it records being `instant`; it must succeed: its summary."""
    from ota.report.summary import summary_lines
    from ota.tracking.launch import Selection, track_once

    selection = Selection(services, terms_types)
    result = track_once(load_settings(config), selection, now=instant, json_summary=json_summary)
    assert result.report is not None and result.exit_code == 0, (result.error, result.report)
    return "\n".join(summary_lines(result.report))


@pytest.fixture(autouse=True)
def _local_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests fetch from servers on 127.0.0.1, which ota's address guard refuses: they set
    OTA_ALLOW_PRIVATE_ADDRESSES=1, here only. (The guard's own tests build their settings without
    it.) A proxy from the environment would intercept those requests: no test uses one."""
    monkeypatch.setenv("OTA_ALLOW_PRIVATE_ADDRESSES", "1")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def fetch_settings(**overrides: Any) -> FetchSettings:
    """Fetch settings as the environment makes them (so with the fixture above), changed by `overrides`."""
    return replace(load_settings(environ=dict(os.environ)).fetch, **overrides)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """`ota track` run in-process installs ota's log handler on the root logger: it is removed after
    each test, so that another library's logs (the test servers') never reach a later command's
    output."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_ota", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_uncaught_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that ends in a traceback exits 1, which many tests expect for other reasons: every
    in-process run of the CLI fails its test on an exception the command did not turn into a message."""
    invoke = CliRunner.invoke

    def checked(self: CliRunner, *args: Any, **kwargs: Any) -> Any:
        result = invoke(self, *args, **kwargs)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"the command raised {result.exception!r}") from result.exception
        return result

    monkeypatch.setattr(CliRunner, "invoke", checked)


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate the git CLI from the machine's configuration; commits made with it get a human author
    (test files that run git by hand use it)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for kind in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{kind}_NAME", "A Human")
        monkeypatch.setenv(f"GIT_{kind}_EMAIL", "human@example.org")


class SharedChromium:
    """One headless Chromium (`ota.fetch.browser.Browser`, started on its first use) for the tests
    that need a browser without testing how it starts: its event loop stays open for the session,
    and `run` runs a coroutine on it (a loop made by `asyncio.run` would end with the test)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.loop = asyncio.new_event_loop()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        try:
            self.run(self.browser.aclose())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


@pytest.fixture(scope="session")
def shared_chromium() -> Iterator[SharedChromium]:
    """The session's Chromium: each pytest process starts one instead of one per test."""
    from ota.fetch.browser import Browser

    shared = SharedChromium(Browser(CHROMIUM, user_agent="ota-test", accept_language="en"))
    yield shared
    shared.close()
