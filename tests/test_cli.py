"""The command line: every command documented, `ota extract` on saved pages, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from ota import __version__
from ota.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
PAGE = "<html><body><nav>Menu</nav><main><h1>Rules</h1><p>Be <b>kind</b>.</p></main></body></html>"


def commands() -> list[str]:
    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", commands())
def test_every_command_has_help_and_is_in_the_readme(name: str) -> None:
    """Each command answers --help and the README shows how to call it."""
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
    assert f"`ota {name}" in README.read_text("utf-8")


def test_version() -> None:
    """--version prints ota's version."""
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"ota {__version__}"


def write_declaration(folder: Path, entry: dict) -> Path:
    path = folder / "Example.json"
    path.write_text(json.dumps({"name": "Example", "terms": {"Terms of Service": entry}}), "utf-8")
    return path


def test_extract_prints_the_markdown_of_a_saved_page(tmp_path: Path) -> None:
    """`ota extract` applies the declaration to a saved page, as tracking would."""
    declaration = write_declaration(tmp_path, {"fetch": "https://example.com/terms", "select": "main"})
    page = tmp_path / "page.html"
    page.write_text(PAGE, "utf-8")
    result = CliRunner().invoke(app, ["extract", str(declaration), "Terms of Service", str(page)])
    assert result.exit_code == 0, result.output
    assert result.output == "Rules\n=====\n\nBe **kind**."
    output = tmp_path / "out.md"
    result = CliRunner().invoke(
        app, ["extract", str(declaration), "Terms of Service", str(page), "-o", str(output)]
    )
    assert result.exit_code == 0 and output.read_text("utf-8") == "Rules\n=====\n\nBe **kind**."


def test_extract_reports_a_selector_without_match(tmp_path: Path) -> None:
    """A selector that matches nothing: exit 1 and OTA's message."""
    declaration = write_declaration(tmp_path, {"fetch": "https://example.com/terms", "select": "article"})
    page = tmp_path / "page.html"
    page.write_text(PAGE, "utf-8")
    result = CliRunner().invoke(app, ["extract", str(declaration), "Terms of Service", str(page)])
    assert result.exit_code == 1
    assert (
        "The provided selector \"article\" has no match in the web page at 'https://example.com/terms'"
        in result.output
    )


def test_extract_names_what_is_wrong(tmp_path: Path) -> None:
    """Unknown terms type, wrong number of snapshots, invalid declaration: exit 2, clear words."""
    declaration = write_declaration(tmp_path, {"fetch": "https://example.com/terms", "select": "main"})
    page = tmp_path / "page.html"
    page.write_text(PAGE, "utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["extract", str(declaration), "Privacy Policy", str(page)])
    assert result.exit_code == 2 and "declares no 'Privacy Policy'" in result.output
    result = runner.invoke(app, ["extract", str(declaration), "Terms of Service", str(page), str(page)])
    assert result.exit_code == 2 and "1 source document(s) but 2 page(s) were given" in result.output
    bad = write_declaration(tmp_path, {"fetch": "https://example.com/terms", "select": 3})
    result = runner.invoke(app, ["extract", str(bad), "Terms of Service", str(page)])
    assert result.exit_code == 2 and "Example.json: terms › Terms of Service › select" in result.output


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[track]\nextract_workers = "two"\n', "[track] extract_workers: must be a whole number"),
        ("[track]\nschedule = 5\n", "[track] schedule: must be a string"),
        ('[recorder]\nauthor_name = "A <b>"\n', "[recorder] author_name: cannot contain <, >"),
    ],
)
def test_track_with_a_bad_setting_exits_2_with_one_line(tmp_path: Path, toml: str, message: str) -> None:
    """A bad ota.toml stops `ota track` before anything runs: exit 2, one line naming the key."""
    (tmp_path / "ota.toml").write_text(toml, "utf-8")
    result = CliRunner().invoke(app, ["track", "--config", str(tmp_path / "ota.toml"), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and message in result.output


def test_track_with_a_missing_ca_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SSL_CERT_FILE naming no file: exit 2 and a line naming it, no traceback."""
    (tmp_path / "ota.toml").write_text("", "utf-8")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nope.pem"))
    result = CliRunner().invoke(app, ["track", "--config", str(tmp_path / "ota.toml"), "--no-progress"])
    assert result.exit_code == 2 and "SSL_CERT_FILE=" in result.output and "nope.pem" in result.output


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """`.ci/run` and the README's test command are the same line, so CI checks what newcomers run."""
    ci = (README.parent / ".ci" / "run").read_text("utf-8").strip().splitlines()[-1]
    assert f"```sh\n{ci}\n```" in README.read_text("utf-8")
