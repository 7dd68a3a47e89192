"""`ota lint`: declaration files in Open Terms Archive's formatting (JSON.stringify with 2 spaces and a
final newline), listed without --fix, rewritten with it, their content unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ota.cli import app
from ota.contrib.lint import format_json, formatted
from ota.declarations import declaration_errors

# Everything OTA's lint rewrites: indentation, spacing, one key per line, missing final newline,
# escaped characters that JavaScript writes as they are, 1.0 written as JavaScript writes it.
MESSY = (
    '{"name":"Caf\\u00e9 & Co",  "terms":{"Terms of Service":{"fetch":"https://x.org/t",'
    '"select":["main",{"startBefore":"#a","endBefore":"#b"}],\n\t"remove":[],"filter":[{"removeQueryParams":["utm"]}],'
    '"executeClientScripts":true}, "Imprint": {"fetch": "https://x.org/i.pdf"}},"importedFrom":"x"}'
)
TIDY = """{
  "name": "Café & Co",
  "terms": {
    "Terms of Service": {
      "fetch": "https://x.org/t",
      "select": [
        "main",
        {
          "startBefore": "#a",
          "endBefore": "#b"
        }
      ],
      "remove": [],
      "filter": [
        {
          "removeQueryParams": [
            "utm"
          ]
        }
      ],
      "executeClientScripts": true
    },
    "Imprint": {
      "fetch": "https://x.org/i.pdf"
    }
  },
  "importedFrom": "x"
}
"""


def lint(root: Path, *args: str) -> tuple[int, str]:
    (root / "ota.toml").touch()
    result = CliRunner().invoke(app, ["lint", "--config", str(root / "ota.toml"), *args])
    return result.exit_code, result.output


def test_formatting_is_otas_and_keeps_the_keys_in_their_order() -> None:
    """The messy file comes out exactly as OTA's lint writes it, keys in the author's order."""
    assert formatted(MESSY) == TIDY
    assert json.loads(TIDY) == json.loads(MESSY)
    assert formatted(TIDY) == TIDY


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"a": 1.0}, '{\n  "a": 1\n}\n'),  # JavaScript has no 1.0
        ({"a": "\x01\n"}, '{\n  "a": "\\u0001\\n"\n}\n'),  # control characters escaped, lowercase hex
        ({"a": "\ud800"}, '{\n  "a": "\\ud800"\n}\n'),  # a lone surrogate, escaped as JavaScript does
        ({"a": "é/€"}, '{\n  "a": "é/€"\n}\n'),  # other characters as they are, "/" unescaped
        ({"a": {}, "b": []}, '{\n  "a": {},\n  "b": []\n}\n'),
    ],
)
def test_values_are_written_as_javascript_writes_them(value: object, text: str) -> None:
    """Numbers, escapes and empty containers follow JSON.stringify."""
    assert format_json(value) == text


def test_lint_lists_then_fix_rewrites_then_lint_passes(tmp_path: Path) -> None:
    """Round trip: listed (exit 1), rewritten with --fix (content unchanged), then clean (exit 0)."""
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    messy = declarations / "Cafe.json"
    messy.write_text(MESSY, "utf-8")
    history = declarations / "Cafe.history.json"
    history.write_text(
        '{"Imprint":[{"fetch":"https://x.org/i.pdf","validUntil":"2020-01-01T00:00:00Z"}]}', "utf-8"
    )
    tidy = declarations / "Tidy.json"
    tidy.write_text(TIDY, "utf-8")
    before = {path: json.loads(path.read_text("utf-8")) for path in (messy, history, tidy)}

    code, output = lint(tmp_path)
    assert code == 1, output
    assert f"{messy}: not formatted" in output and f"{history}: not formatted" in output
    assert str(tidy) not in output and "3 file(s) checked: 2 to format" in output
    assert messy.read_text("utf-8") == MESSY  # listing changes nothing

    code, output = lint(tmp_path, "--fix")
    assert code == 0, output
    assert f"{messy}: formatted" in output and "2 formatted" in output
    assert messy.read_text("utf-8") == TIDY
    for path, value in before.items():
        assert json.loads(path.read_text("utf-8")) == value
    assert declaration_errors("Cafe", json.loads(messy.read_text("utf-8")), path=messy) == []

    code, output = lint(tmp_path)
    assert code == 0 and "0 to format" in output


def test_lint_of_some_services_only(tmp_path: Path) -> None:
    """Service IDs restrict lint to their files; an ID without a declaration is one line, exit 2,
    with the closest ID (as ota validate says it), and nothing is linted."""
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    (declarations / "A.json").write_text(MESSY, "utf-8")
    (declarations / "Bravo.json").write_text(MESSY, "utf-8")
    code, _ = lint(tmp_path, "Bravo", "--fix")
    assert code == 0
    assert (declarations / "A.json").read_text("utf-8") == MESSY
    assert (declarations / "Bravo.json").read_text("utf-8") == TIDY

    code, output = lint(tmp_path, "bravo", "A", "--fix")
    assert code == 2 and output.count("\n") == 1, output
    assert "unknown service 'bravo' (did you mean 'Bravo'?): there is no" in output
    assert (declarations / "A.json").read_text("utf-8") == MESSY


def test_a_file_that_is_not_json_or_repeats_a_key_is_reported_and_left_alone(tmp_path: Path) -> None:
    """Fixing those would change what the file says: they are listed, exit 1, and not touched."""
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    broken = declarations / "Broken.json"
    broken.write_text('{"name": "Broken",}', "utf-8")
    twice = declarations / "Twice.json"
    twice.write_text('{"name": "A", "name": "B", "terms": {}}', "utf-8")
    code, output = lint(tmp_path, "--fix")
    assert code == 1
    assert (
        f"{broken}: is not valid JSON: Expecting property name enclosed in double quotes at line 1" in output
    )
    assert f"{twice}: writes the key 'name' twice in one object" in output
    assert broken.read_text("utf-8") == '{"name": "Broken",}'
    assert twice.read_text("utf-8") == '{"name": "A", "name": "B", "terms": {}}'


def test_the_shipped_collection_is_formatted() -> None:
    """ota's own declarations follow the format ota lint asks of others."""
    root = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(app, ["lint", "--declarations", str(root / "declarations")])
    assert result.exit_code == 0, result.output
