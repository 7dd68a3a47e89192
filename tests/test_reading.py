"""What a reader of terms (a regulator, a journalist) sees, in a real headless Chromium: rendered
diffs with a summary by section, one rule for "in force at", citations under the archive's public
address, search through history, tracking health, print and a 320-pixel phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page

from ota.settings import load_settings
from tests.chirp import CHANGE, FIRST, LATEST, Chirp, make_chirp
from tests.conftest import needs_chromium, sync_chromium
from tests.serving import served

TOS = "Chirp/Terms%20of%20Service"
browser_only = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def chirp(tmp_path_factory: pytest.TempPathFactory) -> Chirp:
    return make_chirp(tmp_path_factory.mktemp("chirp"))


@pytest.fixture(scope="module")
def base(chirp: Chirp) -> Iterator[str]:
    with served(load_settings(chirp.config)) as url:
        yield url


@pytest.fixture(scope="module")
def ids(chirp: Chirp) -> list[str]:
    return chirp.version_ids()


@pytest.fixture(scope="module")
def browser(base: str) -> Iterator[Browser]:
    with sync_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


# -- rendered diffs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["inline", "side"])
@pytest.mark.browser
@needs_chromium
def test_a_diff_shows_the_documents_rendered_with_the_changes_marked_in_place(
    page: Page, base: str, ids: list[str], view: str, tmp_path: Path
) -> None:
    """Headings, list items and table cells as HTML, no Markdown markup; the changed table cell is
    marked in its cell; the summary names each section that changed and links to it."""
    page.goto(f"{base}/versions/{ids[1]}/diff" + ("?view=side" if view == "side" else ""))
    page.screenshot(path=tmp_path / f"diff-{view}.png", full_page=True)
    diff = page.locator(".diff")
    for folded in page.locator("details.folded").all():
        folded.locator("summary").click()
    text = diff.inner_text()
    assert "\\." not in text and "*   " not in text and "-----" not in text and "| " not in text
    assert diff.locator("h4", has_text="4A. Training our models").count() >= 1
    assert diff.locator("li", has_text="You may not resell access.").count() >= 1
    cell = diff.locator("tr.change td", has=page.locator("ins"))
    assert cell.count() == 1
    assert "24" in cell.locator("ins").inner_text() and "12" not in cell.locator("ins").inner_text()
    assert "12" in diff.locator("tr.change td del").first.inner_text()
    assert diff.locator("tr.change td").first.inner_text() == "Search history"  # unchanged cell, unmarked
    link = diff.locator("a[href='https://support.chirp.example/contact'] ins")
    assert link.count() == 1  # the link's new target, marked
    summary = page.locator("nav.summary li")
    items = summary.all_inner_texts()
    assert items == ["§1 reworded", "§4A added", "§5 reworded", "1 link changed"]
    target = summary.get_by_role("link", name="§4A").get_attribute("href")
    assert target and page.locator(target).count() == 1
    assert "4A. Training" in page.locator(target).inner_text()


@pytest.mark.browser
@needs_chromium
def test_on_a_320_pixel_phone_side_by_side_is_one_column_without_repeated_text(
    browser: Browser, base: str, ids: list[str], tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 700})
    page = context.new_page()
    page.goto(f"{base}/versions/{ids[1]}/diff?view=side")
    page.screenshot(path=tmp_path / "phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    hunk = page.locator(".hunk").first
    visible = hunk.inner_text()
    assert visible.count("You keep the rights to what you post.") == 1  # an unchanged part, once
    assert visible.count("You may not resell access.") == 1
    old_cell = page.locator(".side .row.change .old").first
    new_cell = page.locator(".side .row.change .new").first
    old_box, new_box = old_cell.bounding_box(), new_cell.bounding_box()
    assert old_box and new_box and new_box["y"] >= old_box["y"] + old_box["height"] - 1  # stacked
    context.close()


@pytest.mark.browser
@needs_chromium
def test_a_printed_diff_has_no_navigation_unfolds_everything_and_shows_link_addresses(
    page: Page, base: str, ids: list[str], tmp_path: Path
) -> None:
    page.goto(f"{base}/versions/{ids[1]}/diff")
    page.emulate_media(media="print")
    page.pdf(path=tmp_path / "diff.pdf")
    for hidden in ("header.site", "form.compare", ".views", "footer.site"):
        assert not page.locator(hidden).first.is_visible(), hidden
    folded = page.locator("details.folded").first
    assert folded.get_attribute("open") is None
    assert folded.get_by_text("Chirp Terms of Service").is_visible()  # unfolded on paper
    after = page.evaluate(
        "getComputedStyle(document.querySelector(\"a[href='https://support.chirp.example/contact']\"),"
        " '::after').content"
    )
    assert "support.chirp.example/contact" in after
    assert page.locator("nav.summary").is_visible()  # the summary is printed


def test_a_first_record_and_hostile_markdown_render_as_text() -> None:
    """Rendered diffs escape everything: raw HTML is text, only web and mail links are links."""
    from ota.web.rendered_diff import rendered_diff

    hostile = "<script>alert(1)</script>\n\n[x](javascript:alert(1)) and [y](https://ok.example)\n"
    result = rendered_diff("", hostile)
    html = "".join(str(segment["inline"]) for segment in result.segments)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html and 'href="https://ok.example"' in html
    assert result.summary == [{"label": "The beginning", "what": "text added", "anchor": "change-0"}]


def test_ordered_lists_keep_their_numbers_when_folded_around_a_change() -> None:
    from ota.web.rendered_diff import rendered_diff

    items = [f"{n}. Item number {n}" for n in range(1, 8)]
    new = [*items[:5], "6. Item number six, reworded", items[6]]
    result = rendered_diff("\n".join(items) + "\n", "\n".join(new) + "\n")
    hunk = next(s for s in result.segments if s["kind"] == "hunk")
    assert '<li value="6">' in str(hunk["inline"]) and '<ol start="1"' not in str(hunk["inline"])
    assert result.summary[0]["what"] == "reworded"


# -- one date rule -------------------------------------------------------------------------------------


def _moments() -> list[str]:
    """Moments around the boundaries: each version's instant and the second before it, the
    midnights of their days, dates alone, and the same instants written in other time zones."""
    moments = []
    for instant in (FIRST, CHANGE, LATEST):
        before = instant - timedelta(seconds=1)
        moments += [
            instant.strftime("%Y-%m-%dT%H:%M:%SZ"),
            before.strftime("%Y-%m-%dT%H:%M:%SZ"),
            instant.strftime("%Y-%m-%d"),
            (instant + timedelta(days=1)).strftime("%Y-%m-%d"),
            instant.astimezone(_zone(2)).isoformat(),  # the same instant at UTC+2
            before.astimezone(_zone(-5)).isoformat(),
            instant.strftime("%Y-%m-%dT00:00:00+02:00"),  # 22:00 UTC the day before
        ]
    return moments


def _zone(hours: int) -> object:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_the_viewer_and_the_api_give_the_same_version_for_the_same_moment(base: str, ids: list[str]) -> None:
    """One rule: the last version recorded at or before the instant; a date alone is 00:00 UTC."""
    dates = [FIRST, CHANGE, LATEST]
    with httpx.Client(base_url=base) as client:
        for moment in _moments():
            instant = datetime.fromisoformat(moment.replace("Z", "+00:00"))
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            expected = next((ids[k] for k in reversed(range(3)) if dates[k] <= instant), None)
            api = client.get(f"/api/v1/version/{TOS}/{quote(moment)}")
            viewer = client.get(f"/services/{TOS}/at", params={"date": moment})
            if expected is None:
                assert api.status_code == viewer.status_code == 404, moment
                continue
            assert api.status_code == 200 and api.json()["id"] == expected, moment
            assert viewer.status_code == 303, moment
            assert viewer.headers["location"].startswith(f"/versions/{expected}?"), moment
        # The form's date and UTC time fields name the same instant as the API's ISO date.
        at = client.get(f"/services/{TOS}/at", params={"date": "2026-05-13", "time": "21:30"})
        assert at.headers["location"].startswith(f"/versions/{ids[1]}?")
        at = client.get(f"/services/{TOS}/at", params={"date": "2026-05-13", "time": "21:29:59"})
        assert at.headers["location"].startswith(f"/versions/{ids[0]}?")
        page = client.get(at.headers["location"]).text
        assert "2026-05-13 21:29:59 UTC" in page and "00:00 UTC, the start of that day" in page
        midnight = client.get(client.get(f"/services/{TOS}/at?date=2026-05-13").headers["location"]).text
        assert "00:00 UTC on 2026-05-13" in midnight


# -- citations ---------------------------------------------------------------------------------------------


def test_citations_use_the_public_url_and_come_as_bibtex_and_csl_json(base: str, ids: list[str]) -> None:
    """With [serve] public_url set, the permalink is under it, whatever Host the request had."""
    page = httpx.get(f"{base}/versions/{ids[1]}", headers={"X-Forwarded-Host": "proxy.example"}).text
    permalink = f"https://archive.example.org/versions/{ids[1]}"
    assert f'href="{permalink}"' in page and "127.0.0.1" not in page.split('id="citation"')[1][:600]
    citation = page.split('id="citation"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert citation.startswith("Chirp, “Terms of Service”, version recorded on 2026-05-13 21:30 UTC")
    assert "in force until 2026-07-01 00:00 UTC" in citation and "Platform Watch" in citation
    assert ids[1] in citation and "snapshot " + "a" * 40 in citation and permalink in citation
    bibtex = page.split('id="bibtex"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert (
        bibtex.startswith("@misc{chirp_terms_of_service_2026_05_13,") and f"url = {{{permalink}}}" in bibtex
    )
    csl = page.split('id="csl"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    item = json.loads(csl.replace("&#34;", '"').replace("&quot;", '"').replace("&#39;", "'"))[0]
    assert item["URL"] == permalink and item["issued"] == {"date-parts": [[2026, 5, 13]]}
    feed = httpx.get(f"{base}/api/v1/feed").text
    assert "https://archive.example.org/api/v1/" in feed  # the API's links too


def test_without_public_url_a_local_proxys_forwarded_host_names_the_permalink(tmp_path: Path) -> None:
    """Then X-Forwarded-Host from a proxy on this machine; else the address the request came to."""
    chirp = make_chirp(tmp_path / "chirp", public_url="")
    version = chirp.version_ids()[1]
    with served(load_settings(chirp.config)) as url:
        proxied = httpx.get(f"{url}/versions/{version}", headers={"X-Forwarded-Host": "proxy.example"}).text
        assert f'href="http://proxy.example/versions/{version}"' in proxied
        direct = httpx.get(f"{url}/versions/{version}").text
        assert f'href="{url}/versions/{version}"' in direct


# -- search through history ------------------------------------------------------------------------------


def test_the_api_finds_a_phrase_through_history(base: str, ids: list[str]) -> None:
    with httpx.Client(base_url=base) as client:
        body = client.get("/api/v1/search", params={"q": "Training machine-learning models"}).json()
        assert body["complete"] is True and body["count"] == 1
        (found,) = body["results"]
        assert found["service"] == "Chirp" and found["terms_type"] == "Terms of Service"
        assert found["first_seen"] == {"id": ids[1], "fetchDate": "2026-05-13T21:30:00Z"}
        assert found["last_seen"] == {"id": ids[1], "fetchDate": "2026-05-13T21:30:00Z"}
        assert found["disappeared"] == {"id": ids[2], "fetchDate": "2026-07-01T00:00:00Z"}
        assert found["present"] is False and "training machine learning models" in found["excerpt"]
        still = client.get("/api/v1/search", params={"q": "resell access"}).json()["results"][0]
        assert still["present"] is True and still["disappeared"] is None
        assert still["excerpt"] == "You may not resell access."  # the words, not the Markdown
        assert still["first_seen"]["id"] == ids[0] and still["last_seen"]["id"] == ids[2]
        assert (
            client.get("/api/v1/search", params={"q": "resell access", "type": "Privacy Policy"}).json()[
                "count"
            ]
            == 0
        )
        assert (
            client.get("/api/v1/search", params={"q": "resell access", "service": "Nobody"}).json()["count"]
            == 0
        )
        early = client.get("/api/v1/search", params={"q": "machine learning", "to": "2026-05-01"}).json()
        assert early["count"] == 0  # it appeared later
        late = client.get("/api/v1/search", params={"q": "machine learning", "from": "2026-07-02"}).json()
        assert late["count"] == 0  # gone by then
        slashed = client.get("/api/v1/search/", params={"q": "resell access"})
        assert (
            slashed.json()["count"] == 1
            and slashed.headers["content-type"] == "application/json; charset=utf-8"
        )
        again = client.get(
            "/api/v1/search",
            params={"q": "resell access"},
            headers={"If-None-Match": slashed.headers["etag"]},
        )
        assert again.status_code == 304
        assert client.get("/api/v1/search").status_code == 400
        assert "error" in client.get("/api/v1/search", params={"q": "x", "from": "soon"}).json()


@pytest.mark.browser
@needs_chromium
def test_a_reader_searches_a_phrase_and_opens_the_version_where_it_appeared(
    page: Page, base: str, ids: list[str], tmp_path: Path
) -> None:
    page.goto(base)
    page.get_by_label("Words or a phrase, in every version of every terms").fill("machine learning models")
    page.get_by_role("button", name="Search the text").click()
    page.wait_for_url("**/search?**")
    page.screenshot(path=tmp_path / "search.png", full_page=True)
    result = page.locator("ol.found > li")
    assert result.count() == 1
    assert "Appeared 2026-05-13" in result.inner_text() and "disappeared 2026-07-01" in result.inner_text()
    assert result.locator("blockquote mark").inner_text() == "machine learning models"
    result.locator("a.first").click()
    page.wait_for_url(f"**/versions/{ids[1]}?**")
    assert page.locator("article.document mark").inner_text() == "machine learning models"


def test_the_search_index_follows_new_versions_and_a_rebuilt_index(chirp: Chirp, tmp_path: Path) -> None:
    """A version recorded later is found at the next sync; a rebuilt version index, from scratch."""
    import shutil

    from ota.store.reader import RepositoryReader
    from ota.store.repository import Repository
    from ota.web.index import VersionIndex
    from ota.web.search import SearchIndex

    root = tmp_path / "copy"
    shutil.copytree(chirp.root / "versions", root)
    for name in ("ota-viewer.sqlite", "ota-search.sqlite"):  # the server's, copied with .git
        (root / ".git" / name).unlink(missing_ok=True)
    index = VersionIndex(RepositoryReader.open(root))
    index.sync()
    search = SearchIndex(index)
    assert search.sync() == 4 and search.search("stop using Chirp").found[0].present
    repo = Repository.open(root)
    text = (root / "Chirp" / "Terms of Service.md").read_text().replace("stop using Chirp", "leave Chirp")
    repo.commit(
        "Chirp/Terms of Service.md",
        text.encode(),
        message="Record new changes of Chirp Terms of Service\n",
        date=LATEST + timedelta(days=3),
    )
    repo.close()
    index.sync()
    assert search.sync() == 1
    (found,) = search.search("stop using Chirp").found
    assert not found.present and found.disappeared and found.disappeared.date == LATEST + timedelta(days=3)
    index.sync()  # unchanged history: nothing to index again
    assert search.sync() == 0 and len(search.search("Chirp").found) == 1
    search.close()
    index.close()
    # The history rewritten (here: another repository's, in the same index file): indexed again.
    other = Repository.open(tmp_path / "other")
    other.commit(
        "Chirp/Imprint.md", b"Chirp Ltd, Dublin\n", message="First record of Chirp Imprint\n", date=FIRST
    )
    other.close()
    rebuilt = VersionIndex(RepositoryReader.open(tmp_path / "other"), path=index.path)
    rebuilt.sync()
    search = SearchIndex(rebuilt)
    assert search.sync() == 1
    assert search.search("stop using Chirp").found == [] and search.search("Dublin").found[0].present
    search.close()
    rebuilt.close()


# -- tracking health -------------------------------------------------------------------------------------


@pytest.mark.browser
@needs_chromium
def test_the_home_page_lists_failing_and_held_back_terms_and_their_pages_say_so(
    page: Page, base: str, tmp_path: Path
) -> None:
    page.goto(base)
    page.screenshot(path=tmp_path / "home.png", full_page=True)
    health = page.locator("section.health")
    assert "No tracking run has succeeded since 2026-07-02 12:01 UTC" in health.inner_text()
    failing = health.locator("li.failing")
    assert (
        "Chirp — Privacy Policy" in failing.inner_text()
        and "since 2026-06-20 00:30 UTC" in failing.inner_text()
    )
    assert "HTTP 403" in failing.inner_text()
    assert "Access denied" in health.locator("li.suspect").inner_text()
    failing.get_by_role("link").click()
    page.wait_for_url("**/services/Chirp/Privacy%20Policy")
    status = page.locator("p.health")
    assert "failing since 2026-06-20 00:30 UTC (24 runs" in status.inner_text()
    assert page.get_by_role("heading", name="Latest recorded text").count() == 1
    assert "First recorded 2026-04-02" in page.locator("main").inner_text()


# -- comparing dates, downloads ---------------------------------------------------------------------------


def test_two_dates_compare_the_versions_in_force_then_and_a_history_downloads_as_a_zip(
    base: str, ids: list[str]
) -> None:
    import io
    import zipfile

    with httpx.Client(base_url=base) as client:
        compare = client.get(f"/services/{TOS}/compare", params={"from": "2026-07-02", "to": "2026-04-01"})
        assert compare.status_code == 303  # in either order: the older one first
        assert compare.headers["location"] == f"/versions/{ids[2]}/diff?from={ids[0]}"
        diff = client.get(compare.headers["location"]).text
        assert "§4A</a> added" in diff and "machine learning" not in diff  # v1 → v3: as added in v3
        assert (
            client.get(
                f"/services/{TOS}/compare", params={"from": "2001-01-01", "to": "2026-04-01"}
            ).status_code
            == 404
        )
        assert (
            client.get(f"/services/{TOS}/compare", params={"from": "soon", "to": "2026-04-01"}).status_code
            == 400
        )
        history = client.get(f"/services/{TOS}/history.zip")
        assert history.headers["content-type"] == "application/zip"
        assert "Chirp%20-%20Terms%20of%20Service%20-%20history.zip" in history.headers["content-disposition"]
        # Streamed, version by version: no length known in advance, each file's sizes after its data.
        assert history.headers["transfer-encoding"] == "chunked" and "content-length" not in history.headers
        with zipfile.ZipFile(io.BytesIO(history.content)) as archive:
            assert archive.testzip() is None and all(info.flag_bits & 0x08 for info in archive.infolist())
            names = archive.namelist()
            assert names == [
                "Chirp - Terms of Service/2026-03-04T09-15-00Z.md",
                "Chirp - Terms of Service/2026-05-13T21-30-00Z.md",
                "Chirp - Terms of Service/2026-07-01T00-00-00Z.md",
                "Chirp - Terms of Service/README.md",
            ]
            assert "4A\\. Training our models" in archive.read(names[1]).decode()
            assert ids[1] in archive.read(names[3]).decode()


def test_a_technical_upgrade_is_cited_with_the_date_since_which_the_terms_were_unchanged() -> None:
    from ota.web.cite import Citation

    citation = Citation(
        service="Chirp",
        terms_type="Terms of Service",
        version_id="f" * 40,
        recorded=LATEST,
        text_since=CHANGE,
        until=None,
        archive="Platform Watch",
        permalink="https://archive.example.org/versions/" + "f" * 40,
        snapshots=(),
        accessed=LATEST,
    )
    assert (
        "(a technical upgrade: the platform's terms unchanged since 2026-05-13 21:30 UTC)" in citation.plain()
    )
    assert "date = {2026-05-13}" in citation.bibtex()
    assert json.loads(citation.csl_json())[0]["issued"] == {"date-parts": [[2026, 5, 13]]}


def test_a_highlighted_phrase_never_breaks_the_escaped_html() -> None:
    from markupsafe import Markup

    from ota.web.search import highlight

    html = Markup("<p>Tom &amp; Jerry&#39;s 39 amp <a href='x'>amp</a></p>")
    assert (
        highlight(html, "amp")
        == "<p>Tom &amp; Jerry&#39;s 39 <mark>amp</mark> <a href='x'><mark>amp</mark></a></p>"
    )
    assert highlight(html, "39") == "<p>Tom &amp; Jerry&#39;s <mark>39</mark> amp <a href='x'>amp</a></p>"
    assert highlight(html, "<script>") == html  # not in the text: unchanged
