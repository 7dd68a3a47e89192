"""Hostile pages and declarations: each fails what it touches, with one clear line, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from tests.test_track import git, track

DEEP = "<html><body><main>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</main></body></html>"


def test_a_page_nested_too_deep_fails_its_terms_with_a_clear_message(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """5,000 nested elements: that terms fails (its snapshot kept), the others are tracked."""
    httpserver.expect_request("/deep").respond_with_data(DEEP, content_type="text/html")
    httpserver.expect_request("/fine").respond_with_data(
        "<main><p>Fine.</p></main>", content_type="text/html"
    )
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    terms = {
        "Terms of Service": {"fetch": httpserver.url_for("/deep"), "select": "main"},
        "Privacy Policy": {"fetch": httpserver.url_for("/fine"), "select": "main"},
    }
    (declarations / "Deep.json").write_text(json.dumps({"name": "Deep", "terms": terms}), "utf-8")
    (tmp_path / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")

    code, output = track(tmp_path)

    assert code == 1, output
    assert (
        f"failed: Deep › Terms of Service: The web page at '{httpserver.url_for('/deep')}' cannot be "
        "extracted: elements are nested more than 2000 levels deep"
    ) in output
    assert git(tmp_path / "versions", "ls-files").split("\n")[0] == "Deep/Privacy Policy.md"
    assert "Deep/Terms of Service.html" in git(tmp_path / "snapshots", "ls-files")


def test_ota_extract_on_a_page_nested_too_deep_is_one_line(tmp_path: Path) -> None:
    """`ota extract` reports the nesting bound without a traceback, exit 1."""
    page = tmp_path / "deep.html"
    page.write_text(DEEP, "utf-8")
    declaration = tmp_path / "Deep.json"
    terms = {"Terms of Service": {"fetch": "https://example.org/deep", "select": "main"}}
    declaration.write_text(json.dumps({"name": "Deep", "terms": terms}), "utf-8")

    result = CliRunner().invoke(app, ["extract", str(declaration), "Terms of Service", str(page)])

    assert result.exit_code == 1
    assert result.output == (
        "ota: The web page at 'https://example.org/deep' cannot be extracted: "
        "elements are nested more than 2000 levels deep\n"
    )
