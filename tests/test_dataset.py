"""`ota dataset` end to end: the versions of a collection tracked by `ota track`, exported as Open
Terms Archive's ZIP (layout, file names, contents, README, LICENSE)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

import ota.dataset
from ota.cli import app
from ota.dataset import default_name, long_date, readme
from ota.dataset.renaming import Rules, engine_rules, rename
from ota.store.records import CHANGE, TECHNICAL_UPGRADE
from ota.store.records import FIRST_RECORD as FIRST
from tests.conftest import past_instants
from tests.serving import make_collection


def test_the_dataset_holds_every_version_in_otas_layout(tmp_path: Path, httpserver: HTTPServer) -> None:
    """One Markdown file per version (technical upgrades too) at SERVICE/TYPE/DATE.md, README, LICENSE."""
    tracked = make_collection(tmp_path / "collection", httpserver)
    first, second = past_instants(2)
    tracked.serve("the rules")
    tracked.track(at=first)
    tracked.serve("the new rules")
    tracked.track(at=second)
    declaration = tmp_path / "collection" / "declarations" / "Example.json"
    data = json.loads(declaration.read_text("utf-8"))
    data["terms"]["Terms of Service"]["remove"] = "p:nth-of-type(4)"
    declaration.write_text(json.dumps(data), "utf-8")
    tracked.track()
    output = tmp_path / "out" / "demo.zip"
    result = CliRunner().invoke(app, ["dataset", "--config", str(tracked.config), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"{output}: 5 versions of 2 services" in result.output
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        assert names[-2:] == ["demo/README.md", "demo/LICENSE"]
        versions = names[:-2]
        assert len(versions) == 5
        pattern = re.compile(
            r"^demo/(Example|Service B!)/(Terms of Service|Privacy Policy)/"
            r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.md$"
        )
        assert all(pattern.match(name) for name in versions), versions
        terms = sorted(name for name in versions if "/Terms of Service/" in name)
        assert len(terms) == 3  # first record, change, technical upgrade
        texts = [archive.read(name).decode("utf-8") for name in terms]
        assert "You agree to the rules." in texts[0] and "You agree to the new rules." in texts[1]
        assert "Contact us by mail." in texts[1] and "Contact us by mail." not in texts[2]
        versions_repository = tmp_path / "collection" / "versions" / "Example" / "Terms of Service.md"
        assert texts[2] == versions_repository.read_text("utf-8")
        text = archive.read("demo/README.md").decode("utf-8")
        assert text.startswith(
            f"# Open Terms Archive — Demo & Co collection — {long_date(datetime.now(UTC))}\n\n"
        )
        assert "the contractual documents of 2 service providers" in text
        assert "[https://example.org/demo-versions](https://example.org/demo-versions)" in text
        license_text = archive.read("demo/LICENSE").decode("utf-8")
        assert "Open Database License (ODbL)" in license_text and len(license_text) > 20_000


def test_the_default_name_is_otas_and_a_missing_repository_is_one_line(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Without --output the archive is the engine's TITLE-YYYY-MM-DD.zip; no versions repository: exit 2."""
    tracked = make_collection(tmp_path, httpserver)
    missing = CliRunner().invoke(app, ["dataset", "--config", str(tracked.config)])
    assert missing.exit_code == 2 and missing.output.count("\n") == 1 and "versions" in missing.output
    tracked.serve("the rules")
    tracked.track()
    (tmp_path / "ota.toml").write_text(
        (tmp_path / "ota.toml").read_text("utf-8") + '[dataset]\ntitle = "demo"\n', "utf-8"
    )
    import os

    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, ["dataset"])
    finally:
        os.chdir(previous)
    name = f"demo-{datetime.now(UTC):%Y-%m-%d}"
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / f"{name}.zip") as archive:
        assert f"{name}/README.md" in archive.namelist() and len(archive.namelist()) == 5


def test_a_repository_without_versions_gives_no_dataset(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A versions repository with nothing recorded yet: one line, exit 2, and no empty archive."""
    tracked = make_collection(tmp_path, httpserver)
    subprocess.run(["git", "init", "-q", str(tmp_path / "versions")], check=True)
    output = tmp_path / "dataset.zip"
    result = CliRunner().invoke(app, ["dataset", "--config", str(tracked.config), "--output", str(output)])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "versions: has no versions yet: no dataset written" in result.output
    assert not output.exists() and list(tmp_path.glob(".dataset.zip*")) == []


def test_an_archive_that_cannot_be_written_is_named_and_nothing_is_left(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """--output naming a folder: the message names that path (not the temporary file beside it)."""
    tracked = make_collection(tmp_path, httpserver)
    tracked.serve("the rules")
    tracked.track()
    folder = tmp_path / "releases"
    folder.mkdir()
    result = CliRunner().invoke(app, ["dataset", "--config", str(tracked.config), "--output", str(folder)])
    assert result.exit_code == 2 and result.output == f"ota: {folder}: cannot be written: Is a directory\n"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".releases")] == []


def test_the_readme_names_the_period_and_leaves_out_an_unknown_repository() -> None:
    """The README gives the first and last dates as OTA writes them; without a URL, no empty link."""
    text = readme(
        title="t",
        release=datetime(2025, 11, 3, tzinfo=UTC),
        services=380,
        first=datetime(2012, 10, 3, tzinfo=UTC),
        last=datetime(2025, 11, 3, tzinfo=UTC),
        versions_url="",
    )
    assert text.startswith(
        "# Open Terms Archive — t — November 3, 2025\n\nThis dataset consolidates the "
        "contractual documents of 380 service providers, in all their versions that were "
        "accessible online between October 3, 2012 and November 3, 2025.\n"
    )
    assert "[](" not in text


def _commit(repo: Path, path: str, text: str, subject: str, stamp: str) -> None:
    """A record committed by hand, dated `stamp` (author and committer)."""
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, "utf-8")
    env = {**os.environ, "GIT_AUTHOR_DATE": f"{stamp} +0000", "GIT_COMMITTER_DATE": f"{stamp} +0000"}
    subprocess.run(["git", "-C", str(repo), "add", "--", path], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", subject], check=True, env=env)


@pytest.mark.usefixtures("git_env")
def test_a_dataset_names_its_files_as_the_engines_with_its_renaming_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A versions repository holding services and terms types the engine's rules rename, exported:
    the same entries, in the same order, with the same contents as the engine 14.1's archive (the
    listing below follows its `generate` and `applyRules`), every file readable by all, the README
    titled as the engine's and counting services once renamed."""
    monkeypatch.chdir(tmp_path)  # no declarations or metadata.yml: the title is "ota"
    repo = tmp_path / "versions"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    records = [  # file, content, subject, seconds since 1700000000
        ("Grok/Terms of Service.md", "Grok 1", FIRST, 0),
        ("OpenAI/Terms Of Service.md", "OpenAI 1", FIRST, 100),
        ("BlaBlaCar/Commercial Terms.md", "Sale 1", FIRST, 200),
        ("Github/privacy_policy.md", "GitHub 1", FIRST, 300),
        ("Example/Privacy Policy.md", "Example 1", FIRST, 400),
        ("README.md", "not a record", "Add README", 450),
        ("Grok/Terms of Service.md", "Grok 2", CHANGE, 500),
        # one second: a technical upgrade, then the change fetched with it
        ("Example/Privacy Policy.md", "Example 1b", TECHNICAL_UPGRADE, 600),
        ("Example/Privacy Policy.md", "Example 2", CHANGE, 600),
        # one second, two terms: the engine lists the newer commit first
        ("Grok/Privacy Policy.md", "Grok P", FIRST, 700),
        ("Example/Terms of Service.md", "Example T", FIRST, 700),
    ]
    for path, text, subject, seconds in records:
        _commit(repo, path, text, f"{subject} {path[:-3]}", str(1_700_000_000 + seconds))
    output = tmp_path / "out" / "genai-2025-01-01.zip"
    result = CliRunner().invoke(app, ["dataset", "--versions", str(repo), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"{output}: 10 versions of 6 services" in result.output
    expected = [
        ("xAI/Terms of Service/2023-11-14T22-13-20Z.md", "Grok 1"),
        ("ChatGPT/Terms of Service/2023-11-14T22-15-00Z.md", "OpenAI 1"),
        ("DALL·E/Terms of Service/2023-11-14T22-15-00Z.md", "OpenAI 1"),
        ("BlaBlaCar/General Conditions of Sale/2023-11-14T22-16-40Z.md", "Sale 1"),
        ("GitHub/Privacy Policy/2023-11-14T22-18-20Z.md", "GitHub 1"),
        ("Example/Privacy Policy/2023-11-14T22-20-00Z.md", "Example 1"),
        ("xAI/Terms of Service/2023-11-14T22-21-40Z.md", "Grok 2"),
        # the engine writes "Example 2" then "Example 1b" under this name; ota only the newer
        ("Example/Privacy Policy/2023-11-14T22-23-20Z.md", "Example 2"),
        ("Example/Terms of Service/2023-11-14T22-25-00Z.md", "Example T"),
        ("xAI/Privacy Policy/2023-11-14T22-25-00Z.md", "Grok P"),
        ("README.md", None),
        ("LICENSE", None),
    ]
    with zipfile.ZipFile(output) as archive:
        entries = archive.infolist()
        assert [entry.filename for entry in entries] == [f"genai-2025-01-01/{name}" for name, _ in expected]
        for entry, (_, text) in zip(entries, expected, strict=True):
            mode = entry.external_attr >> 16
            assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o644, entry.filename
            if text is not None:
                assert archive.read(entry).decode("utf-8") == text, entry.filename
        readme_text = archive.read("genai-2025-01-01/README.md").decode("utf-8")
    title, _, body = readme_text.partition("\n\n")
    assert title == f"# Open Terms Archive — ota — {long_date(datetime.now(UTC))}"
    assert body.startswith(
        "This dataset consolidates the contractual documents of 6 service providers, in all their versions "
        "that were accessible online between November 14, 2023 and November 14, 2023.\n"
    )


def test_the_engines_rules_rename_a_service_into_one_or_several_and_its_terms_types() -> None:
    """`rename` applies the engine's three rules in its order: service, terms type, terms type of that
    service; a service that became several gives one name each; others are left as they are."""
    rules = engine_rules()
    assert rename("Grok", "Terms of Service", rules) == [("xAI", "Terms of Service")]
    assert rename("OpenAI", "cookies_policy", rules) == [
        ("ChatGPT", "Trackers Policy"),
        ("DALL·E", "Trackers Policy"),
    ]
    assert rename("BlaBlaCar", "Commercial Terms", rules) == [("BlaBlaCar", "General Conditions of Sale")]
    assert rename("Skype", "undefined", rules) == [("Skype", "Parent Organization Terms")]
    assert rename("Mistral AI", "Terms of Service", rules) == [("Mistral AI", "Terms of Service")]
    # the engine carries the terms type renamed for one new service over to the next
    carried = Rules(
        service_names={"Old": ["A", "B"]},
        terms_types={},
        terms_types_by_service={"A": {"T": "U"}, "B": {"U": "V", "T": "W"}},
    )
    assert rename("Old", "T", carried) == [("A", "U"), ("B", "V")]
    assert (
        rename("Gone", "T", Rules(service_names={"Gone": []}, terms_types={}, terms_types_by_service={}))
        == []
    )


def test_the_default_name_is_the_engines_sanitized_title_and_the_date() -> None:
    """The title lowercased, anything but ASCII letters, digits, `.`, `-`, `_` as `-` (one per UTF-16
    unit, as JavaScript counts), then the release's UTC date."""
    release = datetime(2025, 1, 2, 23, 30, tzinfo=UTC)
    assert default_name("Demo & Co collection", release) == "demo---co-collection-2025-01-02.zip"
    assert default_name("GenAI EU 😀.x_y-Z", release) == "genai-eu---.x_y-z-2025-01-02.zip"


def test_the_rules_are_the_engines_files_unchanged() -> None:
    """The three rule files are byte for byte those their README names (copied from the engine)."""
    folder = Path(ota.dataset.__file__).parent / "rules"
    listed = re.findall(r"^    ([0-9a-f]{64})  (\S+\.json)$", (folder / "README.md").read_text("utf-8"), re.M)
    assert sorted(name for _, name in listed) == sorted(path.name for path in folder.glob("*.json"))
    for digest, name in listed:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
