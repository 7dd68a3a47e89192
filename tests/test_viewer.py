"""The viewer in a real headless Chromium (Debian's, driven by Playwright): searching, timelines,
word-level diffs, and hostile versions that stay inert."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from pytest_httpserver import HTTPServer

from tests.conftest import needs_chromium, past_instants, sync_chromium
from tests.serving import make_collection, served

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def base(make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A collection tracked twice by `ota track` (first records, then a change), served."""
    tracked = make_collection(tmp_path_factory.mktemp("viewer"), make_httpserver)
    tracked.serve("the rules", days=30)
    tracked.track(at=past_instants(1)[0])
    tracked.serve("the new rules", days=90)
    tracked.track()
    with served(tracked.settings()) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base: str) -> Iterator[Browser]:
    with sync_chromium() as launched:  # after `base`, which runs `ota track`
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(java_script_enabled=True)
    opened = context.new_page()
    yield opened
    context.close()


def test_a_reader_searches_a_service_opens_its_timeline_and_reads_what_changed(page: Page, base: str) -> None:
    """Home → search → terms timeline → diff: the added and removed words are highlighted."""
    page.goto(base)
    page.get_by_role("searchbox", name="Service").fill("Exam")
    page.get_by_label("Terms type").select_option("Terms of Service")
    page.get_by_role("button", name="Search", exact=True).click()
    services = page.locator("ul.services > li")
    assert services.count() == 1 and "Example" in services.inner_text()
    services.get_by_role("link", name="Terms of Service").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Example — Terms of Service"
    rows = page.locator("table.timeline tbody tr")
    assert rows.count() == 2 and "Change" in rows.first.inner_text() and "+2" in rows.first.inner_text()
    rows.first.get_by_role("link", name="what changed").click()
    page.locator(".diff").wait_for()  # all_inner_texts does not wait for the navigation
    added = page.locator(".diff ins").all_inner_texts()
    removed = page.locator(".diff del").all_inner_texts()
    assert any("new" in text for text in added) and any("90" in text for text in added)
    assert any("30" in text for text in removed)
    assert (
        page.locator(".diff ins").first.evaluate("e => getComputedStyle(e).backgroundColor")
        != "rgba(0, 0, 0, 0)"
    )
    assert page.locator("details.folded").count() >= 1  # unchanged paragraphs are folded
    page.get_by_role("link", name="Side by side").click()
    assert page.locator(".side .row.change .old del").count() >= 1
    assert page.locator(".side .row.change .new ins").count() >= 1


def test_a_hostile_version_renders_inert(page: Page, base: str) -> None:
    """`<img onerror>`, `<script>` and `javascript:`/`data:` links in a version do nothing: no script
    runs (the title they would set stays, no dialog opens), they show as text."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/services/Example/Terms%20of%20Service")
    page.locator("table.timeline tbody tr").first.get_by_role("link", name="read").click()
    title = page.title()
    page.wait_for_timeout(300)
    document = page.locator("article.document")
    assert "onerror" in document.inner_text() and "<script>" in document.inner_text()
    assert document.locator("img, script, iframe").count() == 0
    assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0
    assert page.title() == title != "pwned" and dialogs == []
    document.get_by_text("Click here").click()  # not a link: nothing happens
    page.wait_for_timeout(200)
    assert page.title() == title and dialogs == []
    # The citation is there to copy, with the permalink.
    assert "/versions/" in page.get_by_label("Citation").input_value()


def test_the_terms_as_they_were_on_a_date(page: Page, base: str) -> None:
    """The date and time form leads to the version in force at that moment."""
    page.goto(f"{base}/services/Example/Terms%20of%20Service")
    page.get_by_label("The terms as they were on").fill(time.strftime("%Y-%m-%d", time.gmtime()))
    page.get_by_label("at (UTC)").fill(time.strftime("%H:%M:%S", time.gmtime()))
    page.get_by_role("button", name="Show").click()
    assert "this version was in force then" in page.locator(".notice").inner_text()
    assert "You agree to the new rules." in page.locator("article.document").inner_text()


def test_the_viewer_works_without_javascript(browser: Browser, base: str) -> None:
    """With scripts off, search, folding (details) and the pages work the same."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/?q=B")
    assert page.locator("ul.services > li").count() == 1
    page.goto(f"{base}/services/Example/Terms%20of%20Service")
    page.locator("table.timeline tbody tr").first.get_by_role("link", name="what changed").click()
    folded = page.locator("details.folded").first
    folded.locator("summary").click()
    assert folded.get_attribute("open") is not None
    context.close()


def test_every_page_fits_a_small_phone(browser: Browser, base: str) -> None:
    """At 320 CSS pixels wide, no page scrolls sideways: long addresses, permalinks and API paths
    wrap, and the timeline's columns fit."""
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(f"{base}/services/Example/Terms%20of%20Service")
    change = page.locator("table.timeline tbody tr").first.get_by_role("link", name="what changed")
    diff = change.get_attribute("href")
    version = (
        page.locator("table.timeline tbody tr").first.get_by_role("link", name="read").get_attribute("href")
    )
    assert diff and version
    page.goto(f"{base}{version}")
    snapshot = page.locator(".cite a[href^='/snapshots/']").first.get_attribute("href")
    assert snapshot
    paths = [
        "/",
        "/services/Example/Terms%20of%20Service",
        version,
        diff,
        f"{diff}?view=side",
        "/search?q=the+new+rules",
        snapshot,
        "/api/v1/docs",
    ]
    for path in paths:
        page.goto(f"{base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width} px wide"
    context.close()
