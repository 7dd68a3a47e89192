"""Recording snapshots and versions in real git repositories, checked with the real `git` CLI."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ota.declarations import SourceDocument, Terms
from ota.errors import RecordError
from ota.outcome import Recorded
from ota.store import repository as gitrepo
from ota.store.records import (
    cited_snapshot_ids,
    cited_snapshots_any_engine,
    declared_source_count,
    extension_for,
    fetch_status,
    kind_of,
    parse_snapshot_path,
    parse_version_path,
    record_kind,
    record_snapshot,
    record_version,
    snapshot_message,
    snapshot_path,
    subject,
    trailers,
    version_message,
    version_path,
    version_path_for,
)
from ota.store.repository import Repository

ROOT = Path(__file__).resolve().parent.parent
ENGINE = "6.0.0"
FETCHED = datetime(2024, 5, 1, 12, 20, 30, 500_000, tzinfo=timezone(timedelta(hours=2)))
LINK = "https://github.com/OpenTermsArchive/demo-snapshots/commit/%SNAPSHOT_ID"

TOS = Terms(
    service_id="Service B!",
    type="Terms of Service",
    documents=(SourceDocument(location="https://b.example/terms", select=("main",)),),
)
COMBINED = Terms(
    service_id="service·A",
    type="Community Guidelines",
    combined=True,
    documents=(
        SourceDocument(location="https://a.example/legal/terms", select=("main",), id="legal-terms"),
        SourceDocument(location="https://a.example/", select=("main",), id=""),
    ),
)


pytestmark = pytest.mark.usefixtures("git_env")


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def assert_healthy(repo: Path) -> None:
    """fsck-clean, nothing to commit, index stat data matching the files."""
    fsck = subprocess.run(
        ["git", "-C", str(repo), "fsck", "--strict", "--no-dangling", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fsck.returncode == 0 and not fsck.stdout.strip() and not fsck.stderr.strip(), fsck
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    git(repo, "diff-files", "--quiet")  # exits 1 if any index entry's stat data mismatches its file
    if git(repo, "rev-list", "--all"):  # the trees ota wrote are those git writes for the same files
        assert git(repo, "write-tree") == git(repo, "rev-parse", "HEAD^{tree}")
    assert not list((repo / ".git").glob("*.lock"))


def last(repo: Path, fmt: str, *paths: str) -> str:
    return git(repo, "log", "-1", f"--format={fmt}", "--date=iso-strict", "--", *paths)


# -- formats ----------------------------------------------------------------------------------


def test_paths_follow_ota_naming() -> None:
    """Snapshot and version paths are SERVICE/TYPE[ #DOCUMENT_ID].ext, the extension from the MIME type."""
    [document] = TOS.documents
    assert snapshot_path(TOS, document, "text/html; charset=utf-8") == "Service B!/Terms of Service.html"
    assert snapshot_path(TOS, document, "application/pdf") == "Service B!/Terms of Service.pdf"
    assert snapshot_path(TOS, document, "application/xhtml+xml") == "Service B!/Terms of Service.html"
    first, root = COMBINED.documents
    assert snapshot_path(COMBINED, first, "text/html") == "service·A/Community Guidelines #legal-terms.html"
    assert snapshot_path(COMBINED, root, "text/html") == "service·A/Community Guidelines.html"
    assert version_path(COMBINED) == "service·A/Community Guidelines.md"
    assert [extension_for(m) for m in ("text/markdown", "text/plain", "text/x-weird", "image/svg+xml")] == [
        "md",
        "txt",
        "txt",
        "svg",
    ]


def test_a_snapshot_message_says_the_http_status_in_a_trailer_of_its_own() -> None:
    """`X-fetch-status: 200` follows OTA's trailers; `fetch_status` reads it back, and says None
    for OTA's messages, which have none, and for a value that is not a status."""
    first, _ = COMBINED.documents
    message = snapshot_message(
        COMBINED, first, first_record=True, engine_version=ENGINE, fetcher="htmlOnly", status=200
    )
    assert message.endswith(
        "X-fetcher: htmlOnly\nX-source-document-location: https://a.example/legal/terms\n"
        "X-fetch-status: 200\n"
    )
    assert fetch_status(message) == 200
    assert fetch_status(message.replace("200", "2000")) is None
    ota = snapshot_message(COMBINED, first, first_record=True, engine_version=ENGINE, fetcher="htmlOnly")
    assert "X-fetch-status" not in ota and fetch_status(ota) is None


def test_messages_match_ota_layout() -> None:
    """Messages are OTA's paragraphs (as `git commit -m` stores them) with trailers last."""
    first, _ = COMBINED.documents
    assert snapshot_message(COMBINED, first, first_record=True, engine_version=ENGINE, fetcher="fullDom") == (
        "First record of service·A Community Guidelines\n"
        "\n"
        "Document ID legal-terms\n"
        "\n"
        "X-engine-version: 6.0.0\n"
        "X-fetcher: fullDom\n"
        "X-source-document-location: https://a.example/legal/terms\n"
    )
    message = version_message(
        COMBINED, first_record=False, snapshot_ids=["abc1", "def2"], engine_version=ENGINE, link_template=LINK
    )
    assert message == (
        "Record new changes of service·A Community Guidelines\n"
        "\n"
        "This version was recorded after extracting from and assembling the following snapshots"
        " from 2 source documents:\n"
        "- https://github.com/OpenTermsArchive/demo-snapshots/commit/abc1\n"
        "- https://github.com/OpenTermsArchive/demo-snapshots/commit/def2\n"
        "\n"
        "X-engine-version: 6.0.0\n"
    )
    upgrade = version_message(
        TOS, first_record=False, technical_upgrade=True, snapshot_ids=["abc1"], engine_version=ENGINE
    )
    assert upgrade == (
        "Apply technical or declaration upgrade on Service B! Terms of Service\n"
        "\n"
        "This version was recorded after extracting from snapshot abc1\n"
        "\n"
        "X-engine-version: 6.0.0\n"
    )
    first_upgrade = version_message(
        TOS, first_record=True, technical_upgrade=True, snapshot_ids=["a"], engine_version=""
    )
    assert first_upgrade == (
        "First record of Service B! Terms of Service\n\n"
        "This version was recorded after extracting from snapshot a\n"
    )


def test_every_format_written_is_parsed_back() -> None:
    """What this module writes (paths, subjects, sources, trailers), its parsers read again, with
    OTA's older engines' subjects and citations too: the viewer, verify and the dataset use them."""
    first, _ = COMBINED.documents
    for terms in (TOS, COMBINED):
        assert parse_version_path(version_path(terms)) == (terms.service_id, terms.type)
        assert version_path_for(terms.service_id, terms.type) == version_path(terms)
        for document in terms.documents:
            path = snapshot_path(terms, document, "application/pdf")
            assert parse_snapshot_path(path) == (terms.service_id, terms.type)
    assert [parse_version_path(p) for p in ("a/b.html", "a/b/c.md", "a/.md", "README.md")] == [None] * 4
    for first_record, upgrade, kind in (
        (True, False, "first"),
        (False, False, "change"),
        (False, True, "upgrade"),
    ):
        written = subject(TOS, first_record=first_record, technical_upgrade=upgrade)
        assert kind_of(written) == kind
        assert record_kind(written, TOS.service_id, TOS.type) == kind
        assert record_kind(written, TOS.service_id, "Privacy Policy") is None
    assert [kind_of(s) for s in ("Start tracking A B", "Update A B", "Refilter A B", "Updated README")] == [
        "first",
        "change",
        "upgrade",
        None,
    ]
    message = snapshot_message(COMBINED, first, first_record=True, engine_version=ENGINE, fetcher="fullDom")
    assert trailers(message) == {
        "x-engine-version": ENGINE,
        "x-fetcher": "fullDom",
        "x-source-document-location": first.location,
    }
    assert trailers("Subject only: not a trailer\n") == {}
    ids = ["a" * 40, "b" * 40]
    combined = version_message(
        COMBINED, first_record=False, snapshot_ids=ids, engine_version=ENGINE, link_template=LINK
    )
    assert cited_snapshot_ids(combined) == ids == cited_snapshots_any_engine(combined)
    assert declared_source_count(combined) == 2
    assert (
        declared_source_count(
            version_message(TOS, first_record=True, snapshot_ids=ids[:1], engine_version="")
        )
        is None
    )
    older = "Update A B\n\nThis version was recorded after filtering snapshot https://x/commit/abc1234\n"
    assert cited_snapshot_ids(older) == [] and cited_snapshots_any_engine(older) == ["abc1234"]


# -- recording --------------------------------------------------------------------------------


def test_snapshot_first_then_unchanged_then_change(tmp_path: Path) -> None:
    """A snapshot is committed when first seen and when its bytes change, never when they do not."""
    folder = tmp_path / "snapshots"
    [document] = TOS.documents
    common = {"mime_type": "text/html", "fetcher": "htmlOnly", "engine_version": ENGINE}
    with Repository.open(folder) as repo:
        first = record_snapshot(repo, TOS, document, b"<p>v1</p>", fetch_date=FETCHED, **common)
        same = record_snapshot(
            repo, TOS, document, b"<p>v1</p>", fetch_date=FETCHED + timedelta(hours=1), **common
        )
        changed = record_snapshot(
            repo, TOS, document, b"<p>v2</p>", fetch_date=FETCHED + timedelta(days=1), **common
        )
    path = "Service B!/Terms of Service.html"
    assert first == Recorded("first", first.commit_id, path, datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC))
    assert same == Recorded("unchanged", first.commit_id, path, first.date)  # what a version must cite
    assert changed.kind == "change"
    assert git(folder, "rev-list", "--all").split() == [changed.commit_id, first.commit_id]
    assert git(folder, "log", "-1", "--format=%B", first.commit_id) == (
        "First record of Service B! Terms of Service\n\n"
        "X-engine-version: 6.0.0\nX-fetcher: htmlOnly\nX-source-document-location: https://b.example/terms\n\n"
    )
    assert last(folder, "%s") == "Record new changes of Service B! Terms of Service\n"
    assert last(folder, "%(trailers:key=X-fetcher,valueonly)").strip() == "htmlOnly"
    assert (folder / path).read_bytes() == b"<p>v2</p>"
    assert git(folder, "show", f"{first.commit_id}:{path}") == "<p>v1</p>"
    assert_healthy(folder)


def test_author_committer_and_dates_are_the_bot_at_fetch_time(tmp_path: Path) -> None:
    """Author and committer are the bot, both dated with the fetch date in UTC to the second."""
    folder = tmp_path / "snapshots"
    with Repository.open(folder) as repo:
        repo.commit("S/T.html", b"x", message="m\n", date=FETCHED)
    with Repository.open(folder, author_name="Other Bot", author_email="other@example.org") as repo:
        repo.commit("S/T.html", b"y", message="m\n", date=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    log = git(folder, "log", "--format=%an|%ae|%ad|%cn|%ce|%cd", "--date=iso-strict").splitlines()
    bot, other = "Open Terms Archive Bot|bot@opentermsarchive.org", "Other Bot|other@example.org"
    assert log == [
        f"{other}|2025-01-02T03:04:05+00:00|{other}|2025-01-02T03:04:05+00:00",
        f"{bot}|2024-05-01T10:20:30+00:00|{bot}|2024-05-01T10:20:30+00:00",
    ]
    with Repository.open(folder) as repo, pytest.raises(ValueError, match="timezone-aware"):
        repo.commit("S/T.html", b"z", message="m\n", date=datetime(2025, 1, 1))


def test_combined_terms_snapshots_and_version(tmp_path: Path) -> None:
    """Combined terms: one snapshot per document (Document ID in the body), one version citing them all."""
    snapshots_folder, versions_folder = tmp_path / "snapshots", tmp_path / "versions"
    with (
        Repository.open(snapshots_folder) as snapshots,
        Repository.open(versions_folder, cited=snapshots) as versions,
    ):
        ids = []
        for number, document in enumerate(COMBINED.documents):
            recorded = record_snapshot(
                snapshots,
                COMBINED,
                document,
                f"<p>{number}</p>".encode(),
                mime_type="text/html",
                fetch_date=FETCHED + timedelta(minutes=number),
                fetcher="htmlOnly",
                engine_version=ENGINE,
            )
            ids.append(recorded.commit_id)
        version = record_version(
            versions,
            COMBINED,
            "0\n\n- - -\n\n1",
            snapshot_ids=ids,
            date=FETCHED + timedelta(minutes=1),
            engine_version=ENGINE,
            link_template=LINK,
        )
    assert version.kind == "first"
    assert git(snapshots_folder, "ls-files").splitlines() == [
        "service·A/Community Guidelines #legal-terms.html",
        "service·A/Community Guidelines.html",
    ]
    body = git(snapshots_folder, "log", "-1", "--format=%b", ids[0])
    assert body.startswith("Document ID legal-terms\n\nX-engine-version: 6.0.0\n")
    assert "Document ID" not in git(snapshots_folder, "log", "-1", "--format=%b", ids[1])
    assert git(versions_folder, "log", "-1", "--format=%B") == (
        "First record of service·A Community Guidelines\n\n"
        "This version was recorded after extracting from and assembling the following snapshots"
        " from 2 source documents:\n"
        f"- {LINK.replace('%SNAPSHOT_ID', ids[0])}\n- {LINK.replace('%SNAPSHOT_ID', ids[1])}\n\n"
        "X-engine-version: 6.0.0\n\n"
    )
    assert last(versions_folder, "%ad") == "2024-05-01T10:21:30+00:00\n"
    assert (versions_folder / "service·A/Community Guidelines.md").read_text() == "0\n\n- - -\n\n1"
    assert_healthy(snapshots_folder)
    assert_healthy(versions_folder)


def test_version_kinds(tmp_path: Path) -> None:
    """A version is first, then a change or a technical upgrade, and unchanged text records nothing."""
    with Repository.open(tmp_path / "versions") as repo:
        kwargs = {"snapshot_ids": ["abc"], "date": FETCHED, "engine_version": ENGINE}
        kinds = [
            record_version(repo, TOS, "v1", **kwargs).kind,
            record_version(repo, TOS, "v1", **kwargs).kind,
            record_version(repo, TOS, "v2", **kwargs).kind,
            record_version(repo, TOS, "v3", technical_upgrade=True, **kwargs).kind,
        ]
    assert kinds == ["first", "unchanged", "change", "upgrade"]
    subjects = git(tmp_path / "versions", "log", "--format=%s").splitlines()
    assert subjects[0] == "Apply technical or declaration upgrade on Service B! Terms of Service"


def test_unusual_paths_are_recorded_as_is(tmp_path: Path) -> None:
    """Spaces, `#`, `!`, non-ASCII and nested folders go into git and the working tree unchanged."""
    folder = tmp_path / "repo"
    paths = ["Service B!/Terms of Service #legal-terms.html", "service·A/Privacy Policy.md", "Ünï/a/b c.txt"]
    with Repository.open(folder) as repo:
        for path in paths:
            repo.commit(path, path.encode(), message=f"{path}\n", date=FETCHED)
        for bad in ("../escape.html", ".git/config", "a//b", "/abs", "a/./b", "S/.GIT"):
            with pytest.raises(RecordError, match="invalid record path"):
                repo.commit(bad, b"x", message="m\n", date=FETCHED)
        assert repo.paths() == sorted(paths)
    assert sorted(git(folder, "-c", "core.quotepath=false", "ls-files", "-z").split("\0")[:-1]) == sorted(
        paths
    )
    assert all((folder / path).read_text() == path for path in paths)
    assert_healthy(folder)


def test_trees_are_sorted_as_git_sorts_them(tmp_path: Path) -> None:
    """Names around `/` in git's order (a-b, a.b, a/, a0), a file replaced by a folder: trees as git's."""
    folder = tmp_path / "repo"
    names = ["S/a.html", "S/a-b", "S/a0", "S/a.b/x", "S/a/x", "S/b", "T", "S/c/d/e.html", "Ünï/é.md"]
    with Repository.open(folder) as repo:
        for number, name in enumerate(names):
            repo.commit(name, str(number).encode(), message=f"{name}\n", date=FETCHED)
        with pytest.raises(RecordError, match="'S/b' is a file"):
            repo.commit("S/b/c.html", b"x", message="m\n", date=FETCHED)
        with pytest.raises(RecordError, match="'S/a' is a folder"):
            repo.commit("S/a", b"x", message="m\n", date=FETCHED)
        assert repo.paths() == sorted(name for name in names if "/" in name)
    assert_healthy(folder)


# -- reading ----------------------------------------------------------------------------------


def test_latest_matches_git_log_after_commits_made_with_git(tmp_path: Path) -> None:
    """latest() is the commit `git log -1 -- path` names, also after commits made outside ota."""
    folder = tmp_path / "repo"
    with Repository.open(folder) as repo:
        for day in range(3):
            for name in ("a", "b", "c"):
                repo.commit(
                    f"S/{name}.html",
                    f"{name}{day if name != 'c' else 0}".encode(),
                    message=f"{name} {day}\n",
                    date=FETCHED + timedelta(days=day),
                )
    (folder / "S/b.html").write_text("edited by a human")
    (folder / "T").mkdir()
    (folder / "T/new.html").write_text("new")
    (folder / "README.md").write_text("readme")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "human edit")
    with Repository.open(folder) as repo:
        assert repo.paths() == ["S/a.html", "S/b.html", "S/c.html", "T/new.html"]
        for path in ["S/a.html", "S/b.html", "S/c.html", "T/new.html", "README.md"]:
            record = repo.latest(path)
            assert record is not None
            assert record.commit_id == last(folder, "%H", path).strip()
            assert record.subject == last(folder, "%s", path).strip()
            assert record.date.isoformat() == last(folder, "%ad", path).strip()
            assert record.content == (folder / path).read_bytes()
        assert repo.latest("S/missing.html") is None
        from ota.store.reader import RepositoryReader

        history = [change.commit_id for change in RepositoryReader.open(folder).history("S/c.html")]
        assert history == git(folder, "log", "--format=%H", "--", "S/c.html").split()
        repo.commit("S/a.html", b"a3", message="ota again\n", date=FETCHED + timedelta(days=9))
    assert last(folder, "%s", "S/a.html") == "ota again\n"
    assert_healthy(folder)


def test_first_use_of_a_repository_built_by_git(tmp_path: Path) -> None:
    """An existing repository (as OTA leaves it) gets its path index from one walk of its history."""
    folder = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(folder))
    for round_ in range(3):
        for name in ("x", "y"):
            (folder / "Svc").mkdir(exist_ok=True)
            (folder / f"Svc/{name}.html").write_text(f"{name}{round_ % (2 if name == 'x' else 3)}")
            git(folder, "add", "-A")
            git(folder, "commit", "-q", "--allow-empty", "-m", f"Record {name} {round_}")
    (folder / "Svc/x.html").write_text("uncommitted edit stays")  # a first use must not throw work away
    with Repository.open(folder) as repo:
        for path in ("Svc/x.html", "Svc/y.html"):
            record = repo.latest(path)
            assert record is not None and record.commit_id == last(folder, "%H", path).strip()
    assert (folder / "Svc/x.html").read_text() == "uncommitted edit stays"


def test_unflushed_commits_are_readable_and_published_at_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits are visible to ota at once, to git after a flush, which happens every FLUSH_EVERY commits."""
    monkeypatch.setattr(gitrepo, "FLUSH_EVERY", 3)
    folder = tmp_path / "repo"
    with Repository.open(folder) as repo:
        first = repo.commit("S/a.html", b"1", message="one\n", date=FETCHED)
        assert repo.latest("S/a.html") is not None and repo.latest("S/a.html").commit_id == first  # type: ignore[union-attr]
        assert git(folder, "rev-list", "--all") == ""
        repo.commit("S/a.html", b"2", message="two\n", date=FETCHED)
        third = repo.commit("S/b.html", b"3", message="three\n", date=FETCHED)
        assert git(folder, "rev-parse", "main").strip() == third
        assert_healthy(folder)
        fourth = repo.commit("S/b.html", b"4", message="four\n", date=FETCHED)
        repo.flush()
        assert git(folder, "rev-parse", "main").strip() == fourth
    assert_healthy(folder)


def test_many_packs_are_merged_at_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each flush writes a pack; past MAX_PACKS, close() merges them so lookups stay fast."""
    monkeypatch.setattr(gitrepo, "FLUSH_EVERY", 1)
    monkeypatch.setattr(gitrepo, "MAX_PACKS", 4)
    folder = tmp_path / "repo"
    with Repository.open(folder) as repo:
        for number in range(12):
            repo.commit(f"S/{number % 3}.html", str(number).encode(), message=f"{number}\n", date=FETCHED)
    assert len(list((folder / ".git/objects/pack").glob("*.idx"))) <= 4
    assert git(folder, "rev-list", "--count", "main").strip() == "12"
    assert_healthy(folder)


def test_a_versions_flush_publishes_the_snapshots_it_cites_first(tmp_path: Path) -> None:
    """With `cited=`, flushing versions (from any thread) first flushes the snapshots they cite."""
    with Repository.open(tmp_path / "snapshots") as snapshots:
        versions = Repository.open(tmp_path / "versions", cited=snapshots)
        snapshot = snapshots.commit("S/T.html", b"page", message="s\n", date=FETCHED)
        versions.commit("S/T.md", f"from {snapshot}".encode(), message="v\n", date=FETCHED)
        thread = threading.Thread(target=versions.flush)
        thread.start()
        thread.join()
        assert git(tmp_path / "snapshots", "rev-parse", "main").strip() == snapshot
    versions.commit("S/T.md", b"after the snapshots closed", message="v2\n", date=FETCHED)
    versions.close()
    assert git(tmp_path / "versions", "rev-list", "--count", "main").strip() == "2"


# -- opening ----------------------------------------------------------------------------------


def test_folders_that_are_not_repositories(tmp_path: Path) -> None:
    """A missing or empty folder becomes a repository on branch main; any other folder is refused."""
    with Repository.open(tmp_path / "new" / "snapshots"):
        pass
    assert git(tmp_path / "new" / "snapshots", "symbolic-ref", "HEAD") == "refs/heads/main\n"
    (tmp_path / "empty").mkdir()
    Repository.open(tmp_path / "empty").close()
    assert (tmp_path / "empty" / ".git").is_dir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine")
    with pytest.raises(RecordError, match="exists and is not a git repository"):
        Repository.open(tmp_path / "data")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["notes.txt"]
    with pytest.raises(RecordError, match="not a git repository"):
        Repository.open(tmp_path / "absent", create=False)


def test_a_folder_inside_another_repository_gets_its_own(tmp_path: Path) -> None:
    """Opening a folder inside a git checkout never commits to the enclosing repository."""
    git(tmp_path, "init", "-q", "-b", "main", "outer")
    with Repository.open(tmp_path / "outer" / "data" / "versions") as repo:
        repo.commit("S/T.md", b"x", message="m\n", date=FETCHED)
    assert git(tmp_path / "outer", "rev-list", "--all") == ""
    assert (tmp_path / "outer" / "data" / "versions" / ".git").is_dir()


def test_a_second_ota_process_is_refused(tmp_path: Path) -> None:
    """While one ota process has a repository open, another one (or a second open) is refused."""
    folder = tmp_path / "repo"
    code = (
        "from ota.store.repository import Repository\n"
        f"Repository.open({str(folder)!r}).close()\nprint('opened')"
    )
    with Repository.open(folder):
        with pytest.raises(RecordError, match="in use by another ota process"):
            Repository.open(folder)
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert other.returncode != 0 and "in use by another ota process" in other.stderr
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert other.stdout == "opened\n", other.stderr


# -- crashes ----------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import random, sys, os, signal
    from datetime import UTC, datetime, timedelta
    from ota.store import pack as gitpack
    from ota.store import repository as gitrepo
    from ota.store import worktree as gitwork
    from ota.store.repository import Repository

    folder, seed, flush_every, kill_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    gitrepo.FLUSH_EVERY = flush_every
    rng = random.Random(seed)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if kill_at == "after-pack":  # pack written, branch not moved
        original = gitrepo.write_pack
        gitrepo.write_pack = lambda *a: (original(*a), die())
    elif kill_at == "after-branch":  # branch moved, no file written
        gitwork.WorkTree.write_unpublished = die
    elif kill_at == "mid-files":  # some files written, index not
        calls = []
        original_add = gitwork.add_index_entry
        def add(*args):
            calls.append(1)
            die() if len(calls) == 3 else original_add(*args)
        gitwork.add_index_entry = add
    repo = Repository.open(folder)
    print("open", flush=True)
    date = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(100_000):
        name = f"Service {rng.randrange(6)}/Terms #{rng.randrange(4)}.html"
        content = os.urandom(rng.randrange(10, 60_000))
        repo.commit(name, content, message=f"Record {n}\\n", date=date + timedelta(seconds=n))
    """
)


def run_writer(folder: Path, seed: int, flush_every: int, kill_at: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder), str(seed), str(flush_every), kill_at or "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def check_after_crash(folder: Path, seed: int) -> None:
    """Reopening recovers, the repository is sound and clean, and recording goes on."""
    with Repository.open(folder) as repo:
        for path in repo.paths():
            record = repo.latest(path)
            assert record is not None and record.commit_id == last(folder, "%H", path).strip()
        repo.commit(f"After/crash {seed}.html", b"still works", message="after\n", date=FETCHED)
    assert_healthy(folder)
    assert (folder / f"After/crash {seed}.html").read_bytes() == b"still works"


@pytest.mark.parametrize("kill_at", ["after-pack", "after-branch", "mid-files"])
def test_kill_at_each_step_of_a_flush(tmp_path: Path, kill_at: str) -> None:
    """A writer SIGKILLed at each step of publishing leaves a repository the next open repairs."""
    folder = tmp_path / "repo"
    with Repository.open(folder) as repo:  # an existing history, so recovery has something to keep
        repo.commit("Service 0/Terms #0.html", b"before", message="before\n", date=FETCHED)
    writer = run_writer(folder, seed=1, flush_every=5, kill_at=kill_at)
    _, stderr = writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL, stderr
    # What a kill inside libgit2's own writes would add: its lock files, a half-written object.
    (folder / ".git/index.lock").write_bytes(b"DIRC half")
    (folder / ".git/refs/heads/main.lock").write_text("0" * 20)
    (folder / ".git/objects/tmp_object_git2_a1b2c3").write_bytes(b"x")
    # …and a `git repack` killed with the writer: its temporary packs (bench/faults.py kills them).
    git_leftovers = ["tmp_pack_Ab12Cd", "tmp_idx_Ef34Gh", f".tmp-4242-pack-{'c' * 40}.pack"]
    for name in git_leftovers:
        (folder / ".git/objects/pack" / name).write_bytes(b"PACK half")
    check_after_crash(folder, seed=1)
    assert not (folder / ".git/objects/tmp_object_git2_a1b2c3").exists()
    assert not any((folder / ".git/objects/pack" / name).exists() for name in git_leftovers)


def test_a_kill_while_the_publishing_marker_is_written_rewrites_no_file(tmp_path: Path) -> None:
    """An empty `ota-publishing` marker (killed between its creation and its write, so before the
    branch moved) makes reopening rewrite nothing: a file edited by hand stays as it is."""
    folder = tmp_path / "repo"
    with Repository.open(folder) as repo:
        repo.commit("Service/Terms.html", b"recorded", message="m\n", date=FETCHED)
    (folder / "Service/Terms.html").write_bytes(b"edited by hand")
    (folder / ".git/ota-publishing").write_text("")
    (folder / ".git/ota-session").write_text("4242\n")
    with Repository.open(folder):
        pass
    assert (folder / "Service/Terms.html").read_bytes() == b"edited by hand"
    assert not (folder / ".git/ota-publishing").exists()


GIT_CALLER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ota.store.folder import run_git

    gitdir = Path(sys.argv[1])
    # A git that starts a child and waits (as `git repack` waits for `git pack-objects`).
    run_git(gitdir, gitdir, "sleepy", config=("alias.sleepy=!sleep 60",))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_git_and_its_children_die_with_the_recording_process(tmp_path: Path) -> None:
    """A git started by a single-threaded process (the recording process), and the processes git
    starts, are killed when that process is killed, so none works on after the repository's lock
    is released."""
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    caller = subprocess.Popen(
        [sys.executable, "-c", GIT_CALLER, str(tmp_path / "repo" / ".git")], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120  # watchdogs: each loop ends once its condition holds
        while not any(command.startswith("sleep 60") for command in _session(caller.pid)):
            assert time.monotonic() < deadline, "the git alias never started"
            time.sleep(0.01)
        caller.kill()
        caller.wait()
        deadline = time.monotonic() + 120
        while _session(caller.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _session(caller.pid) == []
    finally:
        for pid in _session(caller.pid, pids=True):
            os.kill(int(pid), signal.SIGKILL)


def _session(session: int, *, pids: bool = False) -> list[str]:
    """The command lines (or pids) of a session's live processes, zombies left out."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] not in "ZX":
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append(entry if pids else command)
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_kill_at_random_moments(tmp_path: Path) -> None:
    """SIGKILL at random moments, repeatedly: every reopen succeeds and finds a sound repository."""
    folder = tmp_path / "repo"
    rng = random.Random(20240501)
    published = 0
    for seed in range(6):
        writer = run_writer(folder, seed=seed, flush_every=rng.choice([1, 3, 8]))
        assert writer.stdout is not None
        assert writer.stdout.readline() == "open\n"  # killed after open, mid-recording
        time.sleep(rng.uniform(0.05, 0.8))
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=30)
        check_after_crash(folder, seed)
        count = int(git(folder, "rev-list", "--count", "main"))
        assert count > published
        published = count


# -- packs --------------------------------------------------------------------------------------


def test_trees_are_stored_as_deltas_of_the_tree_they_replace(tmp_path: Path) -> None:
    """One commit changes one entry of the root tree: packs hold it as a delta, git reads it back."""
    from ota.store import pack as gitpack

    folder = tmp_path / "repo"
    services = [f"Service {number:03d}" for number in range(90)]  # 180 commits: one flush
    with Repository.open(folder) as repo:
        for round_ in range(2):
            for number, service in enumerate(services):
                content = f"{round_} {number}".encode()
                repo.commit(f"{service}/Terms.html", content, message="m\n", date=FETCHED)
    assert_healthy(folder)  # fsck rebuilds every object from its delta chain and checks its id
    (index,) = (folder / ".git/objects/pack").glob("*.idx")
    rows = [line.split() for line in git(folder, "verify-pack", "-v", str(index)).splitlines()]
    trees = [row for row in rows if len(row) >= 5 and row[1] == "tree"]
    deltas = [row for row in trees if len(row) == 7]  # id type size packed offset depth base
    assert len(trees) == 2 * 2 * len(services)  # a root tree and a service tree per commit
    assert len(deltas) > len(trees) * 0.4  # the root trees (the service trees are too small to gain)
    assert max(int(row[5]) for row in deltas) <= gitpack.MAX_DELTA_DEPTH
    root = git(folder, "ls-tree", "HEAD").splitlines()
    assert [line.split("\t")[1] for line in root] == services


@pytest.mark.parametrize(
    "edit",
    [
        "insert",
        "delete",
        "replace-start",
        "replace-end",
        "grow-repeated",
        "shrink-repeated",
        "large",
        *(f"replace-{at}" for at in (0, 4095, 4096, 4097, 8191, 5903, 5904, 5905, 9999)),
    ],
)
def test_deltas_rebuild_the_object_for_git(tmp_path: Path, edit: str) -> None:
    """`make_delta()` output, written in a pack, is read back by git as the exact target bytes."""
    from ota.store.pack import BLOB, PendingObjects, make_delta, write_pack

    rng = random.Random(edit)
    base = bytes(rng.randrange(256) for _ in range(5000))
    targets = {
        "insert": base[:1234] + b"new entry" + base[1234:],
        "delete": base[:1234] + base[1300:],
        "replace-start": b"X" + base[1:],
        "replace-end": base[:-1] + b"X",
        "grow-repeated": b"a" * 4000 + b"b",
        "shrink-repeated": b"a" * 3999,
        "large": base * 40 + b"middle" + base * 40,  # copies longer than one instruction's 64 KiB
    }
    if edit.startswith("replace-") and edit[8:].isdigit():  # around the blocks compared at once
        at = int(edit[8:])
        base = base * 2
        targets[edit] = base[:at] + bytes([base[at] ^ 1]) + base[at + 1 :]
    if edit.endswith("repeated"):
        base = b"a" * 4000
    if edit == "large":
        base = base * 81
    target = targets[edit]
    assert len(make_delta(base, target)) < len(target) // 2
    git(tmp_path, "init", "-q")
    pending = PendingObjects()
    base_id = pending.put(BLOB, base)
    target_id = pending.put(BLOB, target, base=base_id)
    pack = write_pack(tmp_path / ".git/objects/pack", pending)
    rows = git(tmp_path, "verify-pack", "-v", str(pack.with_suffix(".idx"))).splitlines()
    assert any(row.startswith(str(target_id)) and row.split()[-1] == str(base_id) for row in rows)
    command = ["git", "-C", str(tmp_path), "cat-file", "blob", str(target_id)]
    read = subprocess.run(command, capture_output=True, check=False)
    assert read.returncode == 0 and read.stdout == target


def test_index_entries_carry_the_stat_data_of_the_files_ota_writes(tmp_path: Path) -> None:
    """The working-tree files ota writes are in the index with their size and modification time, so
    git does not hash them again (this relies on pygit2's cffi layer: a pygit2 upgrade that changes
    it fails here)."""
    from ota.store.pack import INDEX_STAT_DATA

    assert INDEX_STAT_DATA
    with Repository.open(tmp_path / "repo") as repo:
        repo.commit("S/a.md", b"hello", message="m\n", date=FETCHED)
    stat = (tmp_path / "repo" / "S" / "a.md").stat()
    debug = git(tmp_path / "repo", "ls-files", "--debug", "S/a.md")  # reads the index, never refreshes it
    assert f"mtime: {int(stat.st_mtime)}:" in debug and f"size: {stat.st_size}\t" in debug, debug
