"""Taking over a collection as it is: bad entries fail alone, selections are judged on what they
select, and a version that mixes a declaration change and a page change gets both labels."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.test_track import commit_count, git, track


def write_service(root: Path, service_id: str, terms: dict[str, dict]) -> Path:
    declarations = root / "declarations"
    declarations.mkdir(parents=True, exist_ok=True)
    path = declarations / f"{service_id}.json"
    path.write_text(json.dumps({"name": service_id, "terms": terms}, indent=2), "utf-8")
    return path


def collection(root: Path) -> Path:
    (root / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")
    return root


PAGE = "<html><body><main><h1>{title}</h1><p>Be kind.</p></main></body></html>"


def serve(server: HTTPServer, path: str, body: str) -> str:
    server.expect_request(path).respond_with_data(body, content_type="text/html")
    return server.url_for(path)


def test_one_invalid_terms_entry_fails_alone(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A terms naming an unknown filter and one with a typo fail; the service's other terms and
    the other services are tracked, and each problem is named with its file and field."""
    root = collection(tmp_path)
    url = serve(httpserver, "/tos", PAGE.format(title="Terms"))
    write_service(
        root,
        "Claude.ai",
        {
            "Terms of Service": {"fetch": url, "select": "main"},
            "Privacy Policy": {"fetch": url, "select": "main", "filter": ["removeRedirectFromLinks"]},
            "Trackers Policy": {"fetch": url, "selct": "main"},
        },
    )
    write_service(root, "Other", {"Terms of Service": {"fetch": url, "select": "main"}})

    code, output = track(root)

    assert code == 1, output
    assert "2 terms tracked" in output and "2 failed" in output
    assert (
        "Claude.ai.json: terms › Privacy Policy › filter: unknown filter 'removeRedirectFromLinks'" in output
    )
    assert "Claude.ai.json: terms › Trackers Policy › selct: is not allowed here" in output
    assert sorted(git(root / "versions", "ls-files").splitlines()) == [
        "Claude.ai/Terms of Service.md",
        "Other/Terms of Service.md",
    ]


def test_a_selection_is_judged_by_what_it_selects(httpserver: HTTPServer, tmp_path: Path) -> None:
    """-s Alpha is not failed by Broken's file; -s Broken fails as a full run does (exit 1); an
    unknown ID is a usage error (exit 2); -t mentions Broken without counting it."""
    root = collection(tmp_path)
    url = serve(httpserver, "/tos", PAGE.format(title="Terms"))
    write_service(root, "Alpha", {"Terms of Service": {"fetch": url, "select": "main"}})
    (root / "declarations" / "Broken.json").write_text('{"name": "Broken", "terms": ', "utf-8")

    code, output = track(root, "-s", "Alpha")
    assert code == 0 and "Broken" not in output, output

    code, output = track(root, "-s", "Broken")
    assert code == 1 and "Broken.json: is not valid JSON" in output, output
    full_code, full_output = track(root)
    assert full_code == 1 and "Broken.json: is not valid JSON" in full_output

    code, output = track(root, "-s", "Alpah")
    assert code == 2 and "unknown service 'Alpah' (did you mean 'Alpha'?)" in output, output

    code, output = track(root, "-t", "Terms of Service")
    assert code == 0, output
    assert "warning: not read: " in output and "Broken.json: is not valid JSON" in output
    assert "0 failed" in output


def test_a_page_change_hidden_by_a_broken_selector_is_recorded_after_the_upgrade(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The page changed while the selector was broken; a contributor then fixed the declaration.
    ota records a technical upgrade (the old page with the new declaration) then the change of
    the terms, both dated by the snapshot where the change was first seen."""
    root = collection(tmp_path)
    before = (
        "<html><body><main><nav>Menu</nav><article><h1>Rules</h1><p>Be kind.</p></article></main>"
        "</body></html>"
    )
    after = (
        "<html><body><div class='app'><nav>Menu</nav><article><h1>Rules</h1><p>Be very kind.</p>"
        "</article></div></body></html>"
    )
    url = serve(httpserver, "/rules", before)
    declaration = write_service(root, "Example", {"Community Guidelines": {"fetch": url, "select": "main"}})
    assert track(root)[0] == 0
    versions, snapshots = root / "versions", root / "snapshots"
    first_snapshot = git(snapshots, "rev-parse", "HEAD").strip()

    httpserver.clear()
    serve(httpserver, "/rules", after)
    code, output = track(root)
    assert code == 1 and 'The provided selector "main" has no match' in output, output
    changed_snapshot = git(snapshots, "rev-parse", "HEAD").strip()
    assert commit_count(snapshots) == 2 and commit_count(versions) == 1

    declaration.write_text(
        json.dumps(
            {"name": "Example", "terms": {"Community Guidelines": {"fetch": url, "select": "article"}}}
        ),
        "utf-8",
    )
    code, output = track(root)
    assert code == 0, output
    assert "2 new versions (0 first records, 1 changes, 1 technical upgrades)" in output

    log = git(versions, "log", "--format=%H %aI %s", "--reverse").splitlines()
    subjects = [line.split(" ", 2)[2] for line in log]
    assert subjects == [
        "First record of Example Community Guidelines",
        "Apply technical or declaration upgrade on Example Community Guidelines",
        "Record new changes of Example Community Guidelines",
    ]
    upgrade, change = (line.split(" ", 2)[0] for line in log[1:])
    assert git(versions, "show", f"{upgrade}:Example/Community Guidelines.md") == "Rules\n=====\n\nBe kind."
    assert (
        git(versions, "show", f"{change}:Example/Community Guidelines.md") == "Rules\n=====\n\nBe very kind."
    )
    # The upgrade re-extracted the snapshot the first version cites; the change cites the new one.
    assert first_snapshot in git(versions, "log", "-1", "--format=%b", upgrade)
    assert changed_snapshot in git(versions, "log", "-1", "--format=%b", change)
    # Both are dated by the snapshot where the change was first seen, the upgrade first.
    changed_at = git(snapshots, "log", "-1", "--format=%aI", changed_snapshot).strip()
    assert [line.split(" ", 2)[1] for line in log[1:]] == [changed_at, changed_at]
    assert git(versions, "status", "--porcelain") == ""


def test_a_change_whose_old_snapshots_cannot_be_extracted_says_so(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """When the snapshots the latest version cites do not match the current declaration, the
    whole difference is recorded as a change, and its message says why it may include more."""
    root = collection(tmp_path)
    url = serve(httpserver, "/rules", "<html><body><main><p>Be kind.</p></main></body></html>")
    declaration = write_service(root, "Example", {"Community Guidelines": {"fetch": url, "select": "main"}})
    assert track(root)[0] == 0
    httpserver.clear()
    serve(httpserver, "/rules", "<html><body><article><p>Be very kind.</p></article></body></html>")
    declaration.write_text(
        json.dumps(
            {"name": "Example", "terms": {"Community Guidelines": {"fetch": url, "select": "article"}}}
        ),
        "utf-8",
    )

    code, output = track(root)

    assert code == 0, output
    versions = root / "versions"
    assert (
        git(versions, "log", "-1", "--format=%s").strip()
        == "Record new changes of Example Community Guidelines"
    )
    body = git(versions, "log", "-1", "--format=%b")
    assert "could not be extracted again with the current declaration" in body
    assert 'The provided selector "article" has no match' in body
    assert (
        body.rstrip().endswith("X-engine-version: ota 0.1.0")
        or "X-engine-version: ota" in body.splitlines()[-1]
    )


def test_history_files_are_not_read_to_track(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A history file naming filters that no longer exist, or with OTA's tolerated typos, never
    fails a run: tracking uses the current declarations only."""
    root = collection(tmp_path)
    url = serve(httpserver, "/tos", PAGE.format(title="Terms"))
    write_service(root, "Le Chat", {"Terms of Service": {"fetch": url, "select": "main"}})
    history = {
        "Terms of Service": [
            {
                "fetch": url,
                "select": "main",
                "filter": ["aJavaScriptFilterGoneSince"],
                "validUntil": "2024-01-01T00:00:00Z",
            },
            {"fetch": url, "select": "body", "ValidUntil": "2023-01-01T00:00:00Z"},
        ]
    }
    (root / "declarations" / "Le Chat.history.json").write_text(json.dumps(history), "utf-8")

    code, output = track(root)

    assert code == 0, output
    assert "1 terms tracked" in output and "warning" not in output


FILTERS_JS = """
export function removeBanners(document) {
  document.querySelectorAll('.banner').forEach(element => element.remove());
}

export function rewriteLinks(document, parameters) {
  document.querySelectorAll('a[href]').forEach(link => {
    link.href = link.href.replace(parameters.from, parameters.to);
  });
}

export const broken = document => document.querySelector('#missing').remove();
"""

FILTERED_PAGE = """<html><body><main><h1>Rules</h1><div class="banner">Accept cookies</div>
<p>Read the <a href="/redirect/abc/help">help</a>.</p></main></body></html>"""


def test_javascript_filters_run_in_track(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A SERVICE.filters.js filter (removing elements, rewriting links with parameters) is applied
    as OTA applies it, in the recorded version; a throwing filter fails its terms only, with the
    filter's name and message."""
    root = collection(tmp_path)
    url = serve(httpserver, "/rules", FILTERED_PAGE)
    write_service(
        root,
        "Claude.ai",
        {
            "Terms of Service": {
                "fetch": url,
                "select": "main",
                "filter": ["removeBanners", {"rewriteLinks": {"from": "/redirect/abc/", "to": "/"}}],
            },
            "Privacy Policy": {"fetch": url, "select": "main", "filter": ["broken"]},
        },
    )
    (root / "declarations" / "Claude.ai.filters.js").write_text(FILTERS_JS, "utf-8")

    code, output = track(root)

    assert code == 1, output
    version = (root / "versions" / "Claude.ai" / "Terms of Service.md").read_text("utf-8")
    assert version == f"Rules\n=====\n\nRead the [help]({httpserver.url_for('/help')})."
    assert (
        'failed: Claude.ai › Privacy Policy: The filter function "broken" failed: TypeError: '
        "Cannot read properties of null (reading 'remove')"
    ) in output
    assert "1 terms tracked" in output


def test_ota_extract_runs_a_services_javascript_filters(tmp_path: Path) -> None:
    """`ota extract` applies SERVICE.filters.js beside the declaration, as tracking does."""
    from typer.testing import CliRunner

    from ota.cli import app

    declarations = tmp_path / "declarations"
    declaration = write_service(
        tmp_path,
        "Claude.ai",
        {
            "Terms of Service": {
                "fetch": "https://example.org/rules",
                "select": "main",
                "filter": ["removeBanners"],
            }
        },
    )
    (declarations / "Claude.ai.filters.js").write_text(FILTERS_JS, "utf-8")
    page = tmp_path / "page.html"
    page.write_text(FILTERED_PAGE, "utf-8")

    result = CliRunner().invoke(app, ["extract", str(declaration), "Terms of Service", str(page)])

    assert result.exit_code == 0, result.output
    assert result.output == "Rules\n=====\n\nRead the [help](https://example.org/redirect/abc/help)."
