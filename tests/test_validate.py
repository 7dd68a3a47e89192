"""`ota validate` end to end: every mistake of a collection at once, then live checks against a site
served on 127.0.0.1, `--modified` in a real git repository, and the JSON report."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from ota.cli import app

CLAUSES = "".join(
    f"<p>Clause {n}. You agree to use the service lawfully and to respect the other users of it.</p>"
    for n in range(5)
)
TERMS_PAGE = (
    f"<html><body><nav>Menu</nav><main><h1>Terms</h1>{CLAUSES}</main><footer>©</footer></body></html>"
)
# Fast failures: the checks must not wait for retries of a port that nobody listens on.
FAST_FETCH = "[fetch]\nmax_attempts = 1\ntimeout = 5\nbackoff_base = 0\n"


def write(folder: Path, name: str, content: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content, indent=2)
    (folder / name).write_text(text, "utf-8")


def run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", "--config", str(root / "ota.toml"), *args])
    return result.exit_code, result.output


def mistakes_collection(root: Path) -> Path:
    """A collection whose files hold nineteen different mistakes."""
    declarations = root / "declarations"
    write(root, "ota.toml", "")
    write(declarations, "Alpha.json", '{"name": "Alpha", "terms": {"Imprint": {"fetch": "https://a.org/",}}}')
    beta = {
        "nmae": "Beta",
        "terms": {
            "Cookie Policy": {"fetch": "https://b.org/cookies", "select": "main"},
            "Privacy Polcy": {"fetch": "https://b.org/privacy", "select": "main"},
            "Terms of Service": {
                "fetch": "https://b.org/terms",
                "select": "main",
                "remvoe": ".banner",
                "executeClientScript": True,
            },
            "Imprint": {"fetch": "b.org/imprint", "select": "#a["},
            "Community Guidelines": {
                "select": "article",
                "filter": ["nope"],
                "combine": [{"fetch": "https://b.org/rules"}, {"fetch": "https://b.org/rules"}],
            },
            "Developer Terms": {"fetch": "https://b.org/dev", "select": {"startBefore": "#a"}},
            "Live Policy": {"fetch": "https://b.org/live", "select": "main", "executeClientScripts": "yes"},
            "Copyright Claims Policy": {"fetch": "https://b.org/copyright"},
        },
    }
    write(declarations, "Beta.json", beta)
    history = {
        "Terms of Service": [{"fetch": "https://b.org/terms", "select": "main"}],
        "Privacy Poliyc": [
            {"fetch": "https://b.org/p", "select": "main", "validUntil": "2020-01-01T00:00:00Z"}
        ],
    }
    write(declarations, "Beta.history.json", history)
    gamma = {
        "name": "Gamma",
        "terms": {"Imprint": {"fetch": "https://g.org/", "select": "main", "filter": ["clean"]}},
    }
    write(declarations, "Gamma.json", gamma)
    write(declarations, "Gamma.filters.py", "def clean(document, parameters, source_document)\n    pass\n")
    write(
        declarations,
        "Delta.json",
        '{"name": "Delta", "name": "Delta", "terms": {"Imprint": {"fetch": "https://d.org", "select": "p"}}}',
    )
    write(declarations, "Omega.history.json", {})
    return root


def test_schema_only_reports_every_mistake_of_every_file_in_one_run(tmp_path: Path) -> None:
    """Nineteen mistakes in five files: one run names each one, with its file and field, and exits 1."""
    root = mistakes_collection(tmp_path)
    report = root / "report.json"
    code, output = run(root, "--schema-only", "--json", str(report))
    assert code == 1, output
    problems = json.loads(report.read_text("utf-8"))["problems"]
    found = {(Path(p["file"]).name, " › ".join(p["field"]), p["severity"]): p for p in problems}
    expected = {
        ("Alpha.json", "", "error"): "is not valid JSON",
        ("Beta.json", "name", "error"): "is required",
        ("Beta.json", "nmae", "error"): "did you mean 'name'?",
        ("Beta.json", "terms › Cookie Policy", "error"): "did you mean 'Trackers Policy'?",
        ("Beta.json", "terms › Privacy Polcy", "error"): "did you mean 'Privacy Policy'?",
        ("Beta.json", "terms › Terms of Service › remvoe", "error"): "did you mean 'remove'?",
        ("Beta.json", "terms › Terms of Service › executeClientScript", "error"): "executeClientScripts",
        ("Beta.json", "terms › Imprint › fetch", "error"): "web address",
        ("Beta.json", "terms › Imprint › select", "error"): "not a valid CSS selector",
        ("Beta.json", "terms › Community Guidelines › filter", "error"): "unknown filter 'nope'",
        ("Beta.json", "terms › Community Guidelines › combine › item 2 › fetch", "error"): "already combined",
        ("Beta.json", "terms › Developer Terms › select", "error"): "range",
        ("Beta.json", "terms › Live Policy › executeClientScripts", "error"): "true or false",
        ("Beta.json", "terms › Copyright Claims Policy › select", "error"): "is required",
        ("Beta.history.json", "Terms of Service › item 1 › validUntil", "error"): "is required",
        ("Beta.history.json", "Privacy Poliyc", "error"): "did you mean 'Privacy Policy'?",
        ("Gamma.filters.py", "", "error"): "is not valid Python",
        ("Delta.json", "name", "warning"): "written twice",
        ("Omega.history.json", "", "warning"): "no Omega.json beside it",
    }
    for key, fragment in expected.items():
        assert key in found, f"{key} not reported; reported: {sorted(found)}"
        assert fragment in found[key]["message"], found[key]
    assert len(expected) >= 12
    # Each is printed with its file and field, and most with a suggestion of what to do.
    assert "error: " + str(root / "declarations" / "Beta.json") + ": terms › Cookie Policy: " in output
    assert "suggestion: rename it 'Trackers Policy'" in output
    assert "suggestion: rename it 'remove'" in output
    assert "4 services checked (schema only): 18 errors, 2 warnings" in output


def test_a_valid_collection_passes_and_exits_0(tmp_path: Path) -> None:
    """No problem: exit 0 and a summary that says so."""
    declarations = tmp_path / "declarations"
    write(tmp_path, "ota.toml", "")
    write(declarations, "Fine.json", {"name": "Fine", "terms": {"Imprint": {"fetch": "https://f.org/i.pdf"}}})
    code, output = run(tmp_path, "--schema-only")
    assert code == 0, output
    assert output.strip().endswith("1 service checked (schema only): 0 errors, 0 warnings")


def test_an_unknown_service_or_a_missing_folder_exits_2(tmp_path: Path) -> None:
    """Nothing to check: exit 2 with one line naming what is missing."""
    write(tmp_path, "ota.toml", "")
    code, output = run(tmp_path, "--schema-only")
    assert code == 2 and "declarations: no such folder" in output
    write(tmp_path / "declarations", "Alpha.json", {"name": "Alpha", "terms": {}})
    code, output = run(tmp_path, "Alpah", "--schema-only")
    assert code == 2 and "unknown service 'Alpah' (did you mean 'Alpha'?)" in output


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    """Pages for each live check: good, without the selected element, too short, changing."""
    count = {"n": 0}

    def changing(_request: Request) -> Response:
        count["n"] += 1
        page = TERMS_PAGE.replace("<h1>Terms</h1>", f"<h1>Terms</h1><p>Visitors today: {count['n']}</p>")
        return Response(page, content_type="text/html")

    httpserver.expect_request("/good").respond_with_data(TERMS_PAGE, content_type="text/html")
    httpserver.expect_request("/moved").respond_with_data(
        TERMS_PAGE.replace("main>", "section>"), content_type="text/html"
    )
    httpserver.expect_request("/short").respond_with_data(
        "<html><body><main><p>Be nice.</p></main></body></html>", content_type="text/html"
    )
    httpserver.expect_request("/changing").respond_with_handler(changing)
    return httpserver


def unreachable_url() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/terms"


def live_collection(root: Path, site: HTTPServer) -> Path:
    write(root, "ota.toml", FAST_FETCH)
    service = {
        "name": "Live",
        "terms": {
            "Terms of Service": {
                "fetch": site.url_for("/good"),
                "select": "main",
                "remove": ["nav", ".cookie-baner"],
            },
            "Privacy Policy": {"fetch": site.url_for("/moved"), "select": "main"},
            "Imprint": {"fetch": site.url_for("/short"), "select": "main"},
            "Community Guidelines": {"fetch": site.url_for("/changing"), "select": "main"},
            "Trackers Policy": {"fetch": unreachable_url(), "select": "main"},
        },
    }
    write(root / "declarations", "Live.json", service)
    return root


def test_live_checks_find_each_kind_of_broken_page(site: HTTPServer, tmp_path: Path) -> None:
    """Selector without match, remove without match, short text, a changing page, an unreachable page."""
    root = live_collection(tmp_path, site)
    report = root / "report.json"
    code, output = run(root, "--json", str(report))
    assert code == 1, output
    data = json.loads(report.read_text("utf-8"))
    found = {(p["termsType"], p["check"], p["severity"]): p for p in data["problems"]}
    assert set(found) == {
        ("Terms of Service", "remove", "warning"),
        ("Privacy Policy", "select", "error"),
        ("Imprint", "length", "error"),
        ("Community Guidelines", "stable", "error"),
        ("Trackers Policy", "fetch", "error"),
    }, output
    remove = found[("Terms of Service", "remove", "warning")]
    assert remove["field"] == ["terms", "Terms of Service", "remove", "item 2"]
    assert "'.cookie-baner' matches nothing" in remove["message"]
    select = found[("Privacy Policy", "select", "error")]
    assert select["message"].startswith('The provided selector "main" has no match in the web page at')
    assert "ota new" in select["suggestion"]
    assert "has 8 characters, fewer than the 100" in found[("Imprint", "length", "error")]["message"]
    stable = found[("Community Guidelines", "stable", "error")]["message"]
    assert (
        "changed between two fetches" in stable and "'Visitors today: 1' became 'Visitors today: 2'" in stable
    )
    assert "ECONNREFUSED" in found[("Trackers Policy", "fetch", "error")]["message"]
    assert data["valid"] is False and data["errors"] == 4 and data["warnings"] == 1 and data["documents"] == 5
    assert "1 service checked, 5 page(s) fetched twice: 4 errors, 1 warning" in output


def test_warnings_alone_do_not_fail(site: HTTPServer, tmp_path: Path) -> None:
    """A `remove` selector matching nothing is a warning: exit 0."""
    write(tmp_path, "ota.toml", FAST_FETCH)
    entry = {"fetch": site.url_for("/good"), "select": "main", "remove": ".cookie-baner"}
    write(tmp_path / "declarations", "Good.json", {"name": "Good", "terms": {"Terms of Service": entry}})
    code, output = run(tmp_path)
    assert code == 0, output
    assert (
        "warning: " in output
        and "terms › Terms of Service › remove: '.cookie-baner' matches nothing" in output
    )


def test_terms_types_option_limits_the_live_checks(site: HTTPServer, tmp_path: Path) -> None:
    """-t checks only that terms type live (the files are still checked whole)."""
    root = live_collection(tmp_path, site)
    code, output = run(root, "-t", "Imprint")
    assert code == 1 and "fewer than the 100" in output
    assert "has no match" not in output and "1 page(s) fetched twice" in output


def test_javascript_filters_run_in_the_live_checks(site: HTTPServer, tmp_path: Path) -> None:
    """A terms using a filter of SERVICE.filters.js is checked live with the filter applied in
    the browser, as in tracking: a filter that empties the selection is caught."""
    write(tmp_path, "ota.toml", FAST_FETCH)
    entry = {"fetch": site.url_for("/good"), "select": "main", "filter": ["emptyMain"]}
    write(tmp_path / "declarations", "Js.json", {"name": "Js", "terms": {"Terms of Service": entry}})
    script = "export function emptyMain(document) { document.querySelector('main').replaceChildren(); }\n"
    write(tmp_path / "declarations", "Js.filters.js", script)
    code, output = run(tmp_path)
    assert code == 1, output
    assert "matches an empty content" in output
    assert site.log  # its page was fetched and filtered


def test_python_filters_run_in_the_live_checks(site: HTTPServer, tmp_path: Path) -> None:
    """A service's Python filter applies before `remove` and `select`, as in tracking."""
    write(tmp_path, "ota.toml", FAST_FETCH)
    entry = {"fetch": site.url_for("/good"), "select": "main", "remove": ".added", "filter": ["mark"]}
    write(tmp_path / "declarations", "Py.json", {"name": "Py", "terms": {"Terms of Service": entry}})
    write(
        tmp_path / "declarations",
        "Py.filters.py",
        "def mark(document, parameters, source_document):\n"
        "    document.css_first('main').attrs['class'] = 'added'\n",
    )
    code, output = run(tmp_path)
    # The filter gives `main` the class that `remove` then deletes: nothing is left to select.
    assert code == 1, output
    assert 'The provided selector "main" has no match' in output and "matches nothing" not in output


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_modified_checks_only_what_changed_since_main(site: HTTPServer, tmp_path: Path) -> None:
    """--modified: changed declarations (committed on a branch, uncommitted, untracked), and live only
    the terms whose entries changed."""
    root = tmp_path
    write(root, "ota.toml", FAST_FETCH)
    declarations = root / "declarations"
    both = {
        "name": "Both",
        "terms": {
            "Terms of Service": {"fetch": site.url_for("/good"), "select": "main"},
            "Imprint": {"fetch": site.url_for("/short"), "select": "main"},
        },
    }
    write(declarations, "Both.json", both)
    write(
        declarations,
        "Same.json",
        {"name": "Same", "terms": {"Imprint": {"fetch": "https://s.org/", "select": "#a["}}},
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "collection")
    git(root, "checkout", "-q", "-b", "contribution")
    both["terms"]["Terms of Service"]["remove"] = "nav"  # one terms changed, on the branch
    write(declarations, "Both.json", both)
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "remove nav")
    new = {"name": "New", "terms": {"Imprint": {"fetch": site.url_for("/good"), "select": "main"}}}
    write(declarations, "New.json", new)  # not committed yet

    code, output = run(root, "--modified", "--schema-only")
    assert code == 0, output  # Same.json's invalid selector is not part of this contribution
    assert "2 services checked" in output

    code, output = run(root, "--modified")
    assert code == 0, output
    # Both's Terms of Service and New's Imprint, twice each; Both's Imprint did not change: its
    # short page is not fetched.
    assert [request.path for request, _ in site.log] == ["/good"] * 4

    git(root, "checkout", "-q", "main")
    (declarations / "New.json").unlink()
    code, output = run(root, "--modified")
    assert code == 0 and "no declaration changed since the main branch" in output


def test_modified_outside_a_git_repository_exits_2(tmp_path: Path) -> None:
    """--modified needs the declarations' repository: without one, exit 2 and say why."""
    write(tmp_path, "ota.toml", "")
    write(tmp_path / "declarations", "A.json", {"name": "A", "terms": {}})
    code, output = run(tmp_path, "--modified", "--schema-only")
    assert code == 2 and "is not in a git repository" in output
