"""Which changes matter, end to end: `ota track` records a tracking-token change and a page that
flips between two texts, from a real server on 127.0.0.1; the run's JSON summary, the notification,
the API, the feeds and the viewer treat the first as cosmetic and show the second as flipping."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.settings import load_settings
from tests.conftest import past_instants, track_at
from tests.serving import served

TERMS = """<html><body><main><h1>Terms of Service</h1>
<p>We keep your data for {days} days after you close your account.</p>
<p>Read our <a href="https://help.example.org/data?utm_source=terms&amp;token={token}">help pages</a>.</p>
</main></body></html>"""
FLIPPING = """<html><body><main><h1>Imprint</h1>
<p>This service is run by {entity}, 1 Example Street, Exampletown.</p></main></body></html>"""
ATOM = "{http://www.w3.org/2005/Atom}"

# What the site serves at each run: (days, token, entity).
RUNS = [
    (30, "a1b2c3", "Alpha Ltd"),  # first records
    (30, "d4e5f6", "Alpha Ltd"),  # a new tracking token: cosmetic
    (90, "d4e5f6", "Beta Ltd"),  # a longer retention: substantive; the imprint changes
    (90, "d4e5f6", "Alpha Ltd"),  # the imprint flips back…
    (90, "d4e5f6", "Beta Ltd"),  # …and forth
]


class Tracked:
    def __init__(self, root: Path, site: HTTPServer) -> None:
        self.root, self.site = root, site
        self.summaries: list[dict[str, Any]] = []

    def run(self, days: int, token: str, entity: str, at: datetime | None = None) -> None:
        """One run, dated `at` with the library if given, else with `ota track`."""
        self.site.clear()
        self.site.expect_request("/terms").respond_with_data(
            TERMS.format(days=days, token=token), content_type="text/html; charset=utf-8"
        )
        self.site.expect_request("/imprint").respond_with_data(
            FLIPPING.format(entity=entity), content_type="text/html; charset=utf-8"
        )
        self.site.expect_request("/hook", method="POST").respond_with_data("ok")
        summary = self.root / f"summary-{len(self.summaries)}.json"
        config = self.root / "ota.toml"
        if at is not None:
            output = track_at(config, at, json_summary=summary)
        else:
            result = CliRunner().invoke(
                app, ["track", "--config", str(config), "--no-progress", "--json-summary", str(summary)]
            )
            assert result.exit_code == 0, (result.output, result.exception)
            output = result.output
        self.summaries.append(json.loads(summary.read_text("utf-8")))
        self.summaries[-1]["output"] = output

    def hooks(self) -> list[dict[str, Any]]:
        return [json.loads(request.data) for request, _ in self.site.log if request.path == "/hook"]


@pytest.fixture(scope="module")
def tracked(make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Tracked:
    root = tmp_path_factory.mktemp("significance")
    site = make_httpserver
    (root / "declarations").mkdir()
    declaration = {
        "name": "Example",
        "terms": {
            "Terms of Service": {"fetch": site.url_for("/terms"), "select": "main"},
            "Imprint": {"fetch": site.url_for("/imprint"), "select": "main"},
        },
    }
    (root / "declarations" / "Example.json").write_text(json.dumps(declaration), "utf-8")
    (root / "ota.toml").write_text(
        "[track]\nextract_workers = 0\n[fetch]\nallow_private_addresses = true\n"
        f'[notify]\nurls = ["json://127.0.0.1:{site.port}/hook"]\n',
        "utf-8",
    )
    tracked = Tracked(root, site)
    # One date per run: each but the last (`ota track`, at the clock's time) at its own past instant.
    instants: list[datetime | None] = [*past_instants(len(RUNS) - 1), None]
    for (days, token, entity), instant in zip(RUNS, instants, strict=True):
        tracked.run(days, token, entity, at=instant)
        # Each run's messages, kept apart (`clear()` empties the server's log at the next run).
        tracked.summaries[-1]["hooks"] = tracked.hooks()
    return tracked


@pytest.fixture(scope="module")
def client(tracked: Tracked) -> Any:
    with served(load_settings(tracked.root / "ota.toml")) as base, httpx.Client(base_url=base) as http:
        yield http


def test_the_run_summary_and_the_notification_treat_a_tracking_token_as_cosmetic(tracked: Tracked) -> None:
    """Run 2 recorded the new token as a change classed cosmetic, and notified nobody; run 3's
    longer retention is substantive and notified, with its class."""
    changes = {c["terms_type"]: c for c in tracked.summaries[1]["changes"]}
    assert changes["Terms of Service"]["status"] == "changed"
    assert changes["Terms of Service"]["significance"] == "cosmetic"
    reasons = changes["Terms of Service"]["versions"][-1]["significance"]["reasons"]
    assert [reason["rule"] for reason in reasons] == ["link-target"]
    assert tracked.summaries[1]["hooks"] == []
    assert "changed: Example › Terms of Service (" in tracked.summaries[1]["output"]
    assert ", cosmetic)" in tracked.summaries[1]["output"]
    changes = {c["terms_type"]: c for c in tracked.summaries[2]["changes"]}
    assert changes["Terms of Service"]["significance"] == "substantive"
    assert changes["Terms of Service"]["minor"] is True
    [hook] = tracked.summaries[2]["hooks"]
    assert "Example › Terms of Service (change, substantive, minor)" in hook["message"]
    assert "Example › Imprint (change, substantive, minor)" in hook["message"]


def test_a_cosmetic_change_notifies_when_the_settings_say_so(tracked: Tracked) -> None:
    """`[notify] significance = "cosmetic"` tells every change (the message function, as run)."""
    from ota.report.notify import message

    summary = tracked.summaries[1]
    assert message(summary, ("changes",)) is None
    composed = message(summary, ("changes",), significance="cosmetic")
    assert composed is not None and "Terms of Service (change, cosmetic)" in composed[1]


def test_the_api_classes_each_change_and_filters_the_cosmetic_ones(client: httpx.Client) -> None:
    """`/versions…?significance=substantive` leaves the cosmetic change out; `/significance/ID`
    says why it is cosmetic; the engine's bodies are unchanged."""
    everything = client.get("/api/v1/versions/Example/Terms%20of%20Service").json()
    substantive = client.get("/api/v1/versions/Example/Terms%20of%20Service?significance=substantive").json()
    assert everything["count"] == 3 and substantive["count"] == 2
    assert set(everything["data"][0]) == {
        "id", "serviceId", "termsType", "fetchDate", "isFirstRecord", "isTechnicalUpgrade",
        "additions", "deletions",
    }  # fmt: skip
    hidden = {v["id"] for v in everything["data"]} - {v["id"] for v in substantive["data"]}
    [cosmetic_id] = hidden
    body = client.get(f"/api/v1/significance/{cosmetic_id}").json()
    assert body["significance"] == "cosmetic" and body["ruleset"] == "significance/1"
    assert body["reasons"][0]["rule"] == "link-target" and body["recurrent"] is False
    diff = client.get(f"/api/v1/diff/{cosmetic_id}").json()
    assert diff["significance"]["significance"] == "cosmetic"
    assert client.get("/api/v1/versions?significance=nonsense").status_code == 400
    assert client.get("/api/v1/significance/0000000").status_code == 404


def test_the_feed_leaves_cosmetic_changes_out_when_asked(client: httpx.Client) -> None:
    """`/feed/…?significance=substantive`: the first record and the substantive change only."""
    feed = "/api/v1/feed/Example/Terms%20of%20Service"
    whole = ET.fromstring(client.get(feed).text)
    kept = ET.fromstring(client.get(f"{feed}?significance=substantive").text)
    assert len(whole.findall(f"{ATOM}entry")) == 3
    assert len(kept.findall(f"{ATOM}entry")) == 2


def test_the_viewer_shows_a_badge_per_version_and_hides_cosmetic_changes(client: httpx.Client) -> None:
    """The timeline badges each change; 'hide cosmetic changes' leaves the cosmetic one out, on the
    timeline and in the latest changes."""
    page = client.get("/services/Example/Terms%20of%20Service").text
    assert page.count('class="significance cosmetic"') == 1
    assert page.count('class="significance substantive"') == 1
    assert "hide cosmetic changes" in page
    hidden = client.get("/services/Example/Terms%20of%20Service?significance=editorial").text
    assert 'class="significance cosmetic"' not in hidden and 'class="significance substantive"' in hidden
    assert hidden.count("<tr class=") == page.count("<tr class=") - 1
    home = client.get("/").text
    assert 'class="significance cosmetic"' in home
    assert 'class="significance cosmetic"' not in client.get("/?significance=substantive").text


def test_the_diff_page_shows_the_class_of_the_change_it_shows(client: httpx.Client) -> None:
    """A change's diff page carries its badge; compared with another version than the one before,
    it does not (the class is against the version before)."""
    versions = client.get("/api/v1/versions/Example/Terms%20of%20Service").json()["data"]
    kept = client.get("/api/v1/versions/Example/Terms%20of%20Service?significance=editorial").json()["data"]
    [cosmetic] = [v["id"] for v in versions if v["id"] not in {k["id"] for k in kept}]
    assert 'class="significance cosmetic"' in client.get(f"/versions/{cosmetic}/diff").text
    newest = versions[0]["id"]
    assert newest != cosmetic
    against_newest = client.get(f"/versions/{cosmetic}/diff?from={newest}").text
    assert "What changed between" in against_newest
    assert 'class="significance cosmetic"' not in against_newest


def test_a_flipping_page_is_shown_as_recurrent(client: httpx.Client) -> None:
    """The imprint went Alpha → Beta → Alpha → Beta: the last two restore earlier texts, named."""
    versions = client.get("/api/v1/versions/Example/Imprint").json()["data"]
    assert len(versions) == 4
    newest, second, third, first = versions
    assert client.get(f"/api/v1/significance/{newest['id']}").json()["recurrentOf"] == third["id"]
    assert client.get(f"/api/v1/significance/{second['id']}").json()["recurrentOf"] == first["id"]
    assert client.get(f"/api/v1/significance/{third['id']}").json()["recurrent"] is False
    page = client.get("/services/Example/Imprint").text
    assert "flip back and forth: 2 of their 3 changes restore a text they had before" in page
    assert page.count("back to an earlier text") == 2


def test_the_index_classes_its_history_again_under_another_ruleset(tracked: Tracked) -> None:
    """An index written by another ruleset has every classified row counted and classed again."""
    from ota.store.reader import RepositoryReader
    from ota.web.counts import count_inline
    from ota.web.index import INDEX_FILE, VersionIndex

    reader = RepositoryReader.open(tracked.root / "versions")
    index = VersionIndex(reader)
    index.sync()
    while count_inline(index):
        pass
    classified = index.db.execute("SELECT COUNT(*) FROM versions WHERE significance IS NOT NULL").fetchone()[
        0
    ]
    assert classified == 5  # every change: 2 of the terms of service, 3 of the imprint
    index.db.execute("UPDATE meta SET value = 'significance/0' WHERE key = 'ruleset'")
    index.db.commit()
    index.close()
    index = VersionIndex(reader, reader.git_dir / INDEX_FILE)
    assert index.pending_count() == classified
    while count_inline(index):
        pass
    assert index.db.execute("SELECT value FROM meta WHERE key = 'ruleset'").fetchone()[0] == "significance/1"
    assert index.pending_count() == 0
    index.close()
