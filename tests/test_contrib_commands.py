"""`ota extract` on live URLs and `--save`, and the promise of every contributor command: nothing is
ever written to a snapshots or versions repository."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from tests.conftest import needs_chromium

CLAUSES = "".join(f"<p>Rule {n}: treat the other members of the forum with respect.</p>" for n in range(4))
PAGE = f"<html><body><nav>Menu</nav><main><h1>Rules</h1>{CLAUSES}<a href='/faq'>FAQ</a></main></body></html>"
EXPECTED = "Rules\n=====\n\n" + "\n\n".join(
    f"Rule {n}: treat the other members of the forum with respect." for n in range(4)
)


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/rules").respond_with_data(PAGE, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/rules/b").respond_with_data(PAGE, content_type="text/html")
    httpserver.expect_request("/gone").respond_with_data("Gone", status=404)
    return httpserver


def declaration(folder: Path, entry: dict[str, object], name: str = "Forum") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, "terms": {"Community Guidelines": entry}}, indent=2) + "\n")
    return path


def extract(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    (tmp_path / "ota.toml").touch()
    result = CliRunner().invoke(app, ["extract", *args, "--config", str(tmp_path / "ota.toml")])
    return result.exit_code, result.stdout, result.stderr


def test_extract_names_an_output_file_it_cannot_write(site: HTTPServer, tmp_path: Path) -> None:
    """`-o` into a missing folder or onto a folder: one line naming the file, exit 2."""
    path = declaration(tmp_path, {"fetch": site.url_for("/rules"), "select": "main"})
    for target, reason in (
        (tmp_path / "missing" / "out.md", "No such file or directory"),
        (tmp_path, "Is a directory"),
    ):
        code, _, stderr = extract(tmp_path, str(path), "Community Guidelines", "-o", str(target))
        assert (code, stderr) == (2, f"ota: {target}: cannot be written: {reason}\n")


def test_extract_fetches_a_url_given_instead_of_a_saved_page(site: HTTPServer, tmp_path: Path) -> None:
    """A URL argument is fetched as tracking would fetch it, and links resolve against it."""
    path = declaration(tmp_path, {"fetch": "https://forum.example/rules", "select": "main", "remove": "a"})
    code, stdout, stderr = extract(tmp_path, str(path), "Community Guidelines", site.url_for("/rules"))
    assert code == 0, stderr
    assert stdout == EXPECTED


def test_extract_without_pages_fetches_the_declared_ones_and_save_keeps_them(
    site: HTTPServer, tmp_path: Path
) -> None:
    """No page given: the declared addresses are fetched; --save keeps them as ota names snapshots,
    and a later run on the saved files prints the same Markdown without fetching."""
    entry = {
        "select": "main",
        "remove": "a",
        "combine": [{"fetch": site.url_for("/rules")}, {"fetch": site.url_for("/rules/b")}],
    }
    path = declaration(tmp_path / "declarations", entry)
    saved = tmp_path / "pages"
    code, stdout, stderr = extract(tmp_path, str(path), "Community Guidelines", "--save", str(saved))
    assert code == 0, stderr
    assert stdout == f"{EXPECTED}\n\n- - -\n\n{EXPECTED}"
    files = sorted(p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file())
    assert files == ["Forum/Community Guidelines #rules-b.html", "Forum/Community Guidelines #rules.html"]
    assert (saved / "Forum" / "Community Guidelines #rules.html").read_text("utf-8") == PAGE

    requests = len(site.log)
    again = [
        str(saved / "Forum" / name)
        for name in ("Community Guidelines #rules.html", "Community Guidelines #rules-b.html")
    ]
    code, stdout_again, _ = extract(tmp_path, str(path), "Community Guidelines", *again)
    assert code == 0 and stdout_again == stdout
    assert len(site.log) == requests  # read from the saved files


def test_extract_of_a_page_that_cannot_be_fetched_exits_1(site: HTTPServer, tmp_path: Path) -> None:
    """A failed fetch: exit 1 and OTA's words, no traceback."""
    path = declaration(tmp_path, {"fetch": site.url_for("/gone"), "select": "main"})
    code, _, stderr = extract(tmp_path, str(path), "Community Guidelines")
    assert code == 1 and "Received HTTP code 404 when trying to fetch" in stderr


def test_save_refuses_the_snapshots_repository(site: HTTPServer, tmp_path: Path) -> None:
    """Pages are never saved into the snapshots (or versions) repository, which only tracking writes."""
    path = declaration(tmp_path, {"fetch": site.url_for("/rules"), "select": "main"})
    code, _, stderr = extract(
        tmp_path, str(path), "Community Guidelines", "--save", str(tmp_path / "snapshots" / "x")
    )
    assert code == 2 and "is in the snapshots repository" in stderr
    assert not (tmp_path / "snapshots").exists()


SCRIPTED = """<!DOCTYPE html><html><body><main id="rules"></main><script>
document.getElementById("rules").innerHTML = "<p>Scripted rule: be kind to the other members.</p>";
</script></body></html>"""


@pytest.mark.browser
@needs_chromium
def test_extract_renders_with_the_browser_when_the_declaration_says_so(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """executeClientScripts: the page is rendered as tracking renders it, and saved as rendered."""
    httpserver.expect_request("/app").respond_with_data(SCRIPTED, content_type="text/html")
    entry = {"fetch": httpserver.url_for("/app"), "select": "#rules", "executeClientScripts": True}
    path = declaration(tmp_path, entry)
    code, stdout, stderr = extract(
        tmp_path, str(path), "Community Guidelines", "--save", str(tmp_path / "pages")
    )
    assert code == 0, stderr
    assert stdout == "Scripted rule: be kind to the other members."
    saved = (tmp_path / "pages" / "Forum" / "Community Guidelines.html").read_text("utf-8")
    assert '<main id="rules"><p>Scripted rule' in saved


def tree(repo: Path) -> dict[str, tuple[int, int]]:
    """Every file of a repository, .git included, with its size and modification time."""
    return {
        str(path.relative_to(repo)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in repo.rglob("*")
        if path.is_file()
    }


def test_no_contributor_command_writes_to_the_snapshots_or_versions_repository(
    site: HTTPServer, tmp_path: Path
) -> None:
    """validate, lint --fix, new --write and extract --save leave both repositories byte for byte."""
    root = tmp_path
    (root / "ota.toml").write_text("[fetch]\nmax_attempts = 1\n", "utf-8")
    for name in ("snapshots", "versions"):
        repo = root / name
        repo.mkdir()
        subprocess.run(["git", "-C", str(repo), "init", "-q", "-b", "main"], check=True)
        (repo / "Forum").mkdir()
        (repo / "Forum" / "Community Guidelines.md").write_text("old", "utf-8")
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
        env["GIT_COMMITTER_EMAIL"] = "t@t"
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "first"], check=True, env=env)
    before = {name: tree(root / name) for name in ("snapshots", "versions")}
    path = root / "declarations" / "Forum.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "name": "Forum",
                "terms": {"Community Guidelines": {"fetch": site.url_for("/rules"), "select": "main"}},
            }
        )
    )
    config = ["--config", str(root / "ota.toml")]
    runner = CliRunner()
    for args in (
        ["validate", *config],
        ["validate", "--schema-only", *config],
        ["lint", "--fix", *config],
        ["new", site.url_for("/rules"), "--service", "Other", "--write", *config],
        ["extract", str(path), "Community Guidelines", "--save", str(root / "pages"), *config],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert (root / "declarations" / "Other.json").is_file() and (root / "pages" / "Forum").is_dir()
    assert {name: tree(root / name) for name in ("snapshots", "versions")} == before
