"""`ota dataset` end to end: the versions of a collection tracked by `ota track`, exported as Open
Terms Archive's ZIP (layout, file names, contents, README, LICENSE)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.dataset import long_date, readme
from tests.serving import make_collection


def test_the_dataset_holds_every_version_in_otas_layout(tmp_path: Path, httpserver: HTTPServer) -> None:
    """One Markdown file per version (technical upgrades too) at SERVICE/TYPE/DATE.md, README, LICENSE."""
    tracked = make_collection(tmp_path / "collection", httpserver)
    tracked.serve("the rules")
    tracked.track()
    time.sleep(1.1)
    tracked.serve("the new rules")
    tracked.track()
    time.sleep(1.1)
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
            f"# Open Terms Archive — Demo & Co collection — {long_date(datetime.now(UTC))} dataset\n"
        )
        assert "the contractual documents of 2 service providers" in text
        assert "[https://example.org/demo-versions](https://example.org/demo-versions)" in text
        license_text = archive.read("demo/LICENSE").decode("utf-8")
        assert "Open Database License (ODbL)" in license_text and len(license_text) > 20_000


def test_the_default_name_is_otas_and_a_missing_repository_is_one_line(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Without --output the archive is dataset-TITLE-YYYY-MM-DD.zip; no versions repository: exit 2."""
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
    name = f"dataset-demo-{datetime.now(UTC):%Y-%m-%d}"
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
        "# Open Terms Archive — t — November 3, 2025 dataset\n\nThis dataset consolidates the "
        "contractual documents of 380 service providers, in all their versions that were "
        "accessible online between October 3, 2012 and November 3, 2025.\n"
    )
    assert "[](" not in text
