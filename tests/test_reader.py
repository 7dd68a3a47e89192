"""The read-only repository reader: published commits only, no lock, no writes, alongside `ota track`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ota.errors import RecordError
from ota.store.reader import RepositoryReader
from ota.store.repository import Repository

DAY = timedelta(days=1)
START = datetime(2024, 1, 1, 12, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("git_env")


def snapshot_of_gitdir(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file of the git directory with its size and modification time."""
    found = {}
    for path in (folder / ".git").rglob("*"):
        if path.is_file():
            stat = path.stat()
            found[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return found


def build(folder: Path) -> list[str]:
    """A repository with a history: A/x.md three times, B/y.md once; the commit ids, in order."""
    commits = []
    with Repository.open(folder) as repo:
        for day, (path, text) in enumerate(
            [("A/x.md", "one"), ("B/y.md", "why"), ("A/x.md", "two"), ("A/x.md", "three")]
        ):
            commit_id = repo.commit(path, text.encode(), message=f"change {day}\n", date=START + day * DAY)
            assert commit_id is not None
            commits.append(commit_id)
    return commits


def test_a_reader_gives_the_latest_record_history_and_the_record_in_force(tmp_path: Path) -> None:
    """latest, history (newest first), at(date) and paths describe the published history."""
    commits = build(tmp_path / "repo")
    reader = RepositoryReader.open(tmp_path / "repo")

    assert reader.head == commits[-1]
    assert reader.paths() == ["A/x.md", "B/y.md"]
    latest = reader.latest("A/x.md")
    assert latest is not None and latest.content == b"three" and latest.commit_id == commits[3]
    assert [change.commit_id for change in reader.history("A/x.md")] == [commits[3], commits[2], commits[0]]
    assert reader.history("nowhere.md") == []
    in_force = reader.at("A/x.md", START + DAY + timedelta(hours=1))
    assert in_force is not None and in_force.commit_id == commits[0]
    assert reader.at("A/x.md", START - DAY) is None
    exactly = reader.at("A/x.md", START + 2 * DAY)
    assert exactly is not None and exactly.commit_id == commits[2]
    record = reader.record(commits[2], "A/x.md")
    assert record is not None and record.content == b"two" and record.subject == "change 2"


def test_a_reader_writes_nothing_and_takes_no_lock(tmp_path: Path) -> None:
    """Opening and reading leave the git directory byte for byte as they were; a writer can still open."""
    build(tmp_path / "repo")
    (tmp_path / "repo" / ".git" / "ota-records.json").unlink()  # the reader must not rebuild it
    before = snapshot_of_gitdir(tmp_path / "repo")

    reader = RepositoryReader.open(tmp_path / "repo")
    reader.latest("A/x.md"), reader.history("A/x.md"), reader.paths(), reader.changes()
    with Repository.open(tmp_path / "repo"):  # no lock held by the reader
        pass
    after_writer = snapshot_of_gitdir(tmp_path / "repo")

    assert before.keys() <= after_writer.keys()
    reader2 = RepositoryReader.open(tmp_path / "repo")
    reader2.history("A/x.md")
    assert snapshot_of_gitdir(tmp_path / "repo") == after_writer


def test_a_reader_never_creates_a_repository(tmp_path: Path) -> None:
    """A missing folder or one that is not a repository is a RecordError; nothing is created."""
    with pytest.raises(RecordError, match="no such repository"):
        RepositoryReader.open(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
    (tmp_path / "plain").mkdir()
    with pytest.raises(RecordError, match="is not a git repository"):
        RepositoryReader.open(tmp_path / "plain")
    assert list((tmp_path / "plain").iterdir()) == []
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(RecordError, match="file: is a file, not a repository"):
        RepositoryReader.open(tmp_path / "file")


def test_a_reader_shows_only_published_commits_and_catches_up(tmp_path: Path) -> None:
    """Commits still in the writer's memory are not shown; after the writer publishes, refresh()
    moves to them and the history index catches up from where it was."""
    commits = build(tmp_path / "repo")
    reader = RepositoryReader.open(tmp_path / "repo")
    assert len(reader.history("A/x.md")) == 3
    with Repository.open(tmp_path / "repo") as repo:
        new = repo.commit("A/x.md", b"four", message="change 4\n", date=START + 10 * DAY)
        assert reader.refresh() is False and reader.head == commits[-1]
        repo.flush()
        assert reader.refresh() is True and reader.head == new
    assert [change.commit_id for change in reader.history("A/x.md")][:2] == [new, commits[3]]
    latest = reader.latest("A/x.md")
    assert latest is not None and latest.content == b"four"


def test_a_deletion_made_with_git_is_in_the_history(tmp_path: Path) -> None:
    """A file deleted by a commit made with git has no latest record and no record in force after."""
    build(tmp_path / "repo")
    subprocess.run(["git", "-C", str(tmp_path / "repo"), "rm", "-q", "B/y.md"], check=True)
    subprocess.run(["git", "-C", str(tmp_path / "repo"), "commit", "-qm", "remove"], check=True)
    reader = RepositoryReader.open(tmp_path / "repo")
    assert reader.latest("B/y.md") is None
    assert reader.history("B/y.md")[0].blob_id is None
    assert reader.at("B/y.md", datetime.now(UTC)) is None
    assert reader.paths() == ["A/x.md"]


TRACKER = """
import sys
from ota.cli import app
sys.argv = ["ota", "track", "--config", sys.argv[1], "--no-progress"]
app()
"""


def test_a_reader_reads_while_ota_track_writes_and_track_runs_while_a_reader_is_open(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A reader open on both repositories neither blocks `ota track` nor fails while it publishes:
    it only ever sees complete commits, and at the end it sees them all."""
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    page = "<html><body><main><p>Rule {}.</p></main></body></html>"
    for number in range(300):
        httpserver.expect_request(f"/terms/{number}").respond_with_data(
            page.format(number), content_type="text/html"
        )
        declaration = {
            "name": f"S{number}",
            "terms": {"Imprint": {"fetch": httpserver.url_for(f"/terms/{number}"), "select": "main"}},
        }
        (declarations / f"S{number:03}.json").write_text(json.dumps(declaration), "utf-8")
    (tmp_path / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")
    # A first commit so that both repositories exist before the reader opens them.
    for name in ("snapshots", "versions"):
        with Repository.open(tmp_path / name) as repo:
            repo.commit("Z/z.md", b"z", message="seed\n", date=START)
    readers = [RepositoryReader.open(tmp_path / name) for name in ("snapshots", "versions")]

    process = subprocess.Popen(
        [sys.executable, "-c", TRACKER, str(tmp_path / "ota.toml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    seen_heads: set[str | None] = set()
    while process.poll() is None:
        for reader in readers:
            reader.refresh()
            seen_heads.add(reader.head)
            for change in reader.changes()[-5:]:
                assert reader.record(change.commit_id, change.path) is not None
        time.sleep(0.05)
    output, _ = process.communicate()
    assert process.returncode == 0, output
    versions = readers[1]
    versions.refresh()
    assert len(versions.paths()) == 301
    latest = versions.latest("S123/Imprint.md")
    assert latest is not None and latest.content == b"Rule 123."
    assert len(seen_heads) >= 2  # the readers saw the branches move during the run
