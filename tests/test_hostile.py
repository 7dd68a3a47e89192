"""Hostile pages and declarations: each fails what it touches, with one clear line, and nothing else."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
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


# -- repositories are append-only evidence -----------------------------------------------------------

PAGE = "<html><body><main><p>Rule {}.</p></main></body></html>"


def tracked_collection(server: HTTPServer, root: Path, rule: str = "one") -> Path:
    """A collection of two terms on the test server, tracked once."""
    server.expect_request("/a").respond_with_data(PAGE.format(rule), content_type="text/html")
    server.expect_request("/b").respond_with_data(PAGE.format("b"), content_type="text/html")
    declarations = root / "declarations"
    declarations.mkdir()
    terms = {
        "Terms of Service": {"fetch": server.url_for("/a"), "select": "main"},
        "Privacy Policy": {"fetch": server.url_for("/b"), "select": "main"},
    }
    (declarations / "S.json").write_text(json.dumps({"name": "S", "terms": terms}), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")
    code, output = track(root)
    assert code == 0, output
    return root


def change_page(server: HTTPServer, rule: str) -> None:
    server.clear()
    server.expect_request("/a").respond_with_data(PAGE.format(rule), content_type="text/html")
    server.expect_request("/b").respond_with_data(PAGE.format("b"), content_type="text/html")


def human_git(repo: Path, *args: str) -> None:
    import subprocess

    env = {"GIT_AUTHOR_NAME": "A Human", "GIT_AUTHOR_EMAIL": "human@example.org"}
    env |= {"GIT_COMMITTER_NAME": "A Human", "GIT_COMMITTER_EMAIL": "human@example.org"}
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )


def test_a_committed_hand_edit_is_never_recorded_over(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A version edited and committed by hand: the terms' next change fails with a message naming
    the commit (reported at the run too); the other terms are tracked; reverting the edit lets
    ota record again."""
    root = tracked_collection(httpserver, tmp_path)
    versions = root / "versions"
    (versions / "S" / "Terms of Service.md").write_text("Rule one, as a human would have it.", "utf-8")
    human_git(versions, "commit", "-qam", "fix the rule")
    edit = git(versions, "rev-parse", "HEAD").strip()
    change_page(httpserver, "two")

    code, output = track(root)

    assert code == 1, output
    assert f"S/Terms of Service.md: changed by commit {edit[:12]} (A Human <human@example.org>" in output
    assert (
        f"warning: {versions}: commit {edit[:12]} by A Human <human@example.org> "
        "changed S/Terms of Service.md" in output
    )
    assert (versions / "S" / "Terms of Service.md").read_text(
        "utf-8"
    ) == "Rule one, as a human would have it."

    human_git(versions, "revert", "--no-edit", edit)
    code, output = track(root)
    assert code == 0, output
    assert (versions / "S" / "Terms of Service.md").read_text("utf-8") == "Rule two."
    assert git(versions, "log", "-1", "--format=%s").strip() == "Record new changes of S Terms of Service"


def test_a_committed_deletion_is_not_a_new_first_record(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A version deleted by a commit: ota refuses to record it again as a 'First record'."""
    root = tracked_collection(httpserver, tmp_path)
    versions = root / "versions"
    human_git(versions, "rm", "-q", "S/Terms of Service.md")
    human_git(versions, "commit", "-qm", "remove")
    change_page(httpserver, "two")

    code, output = track(root)

    assert code == 1 and "S/Terms of Service.md: deleted by commit" in output, output
    assert "First record" not in git(versions, "log", "-1", "--format=%s")
    assert len(git(versions, "log", "--format=%H", "--", "S/Terms of Service.md").split()) == 2


def test_an_uncommitted_edit_is_never_overwritten(httpserver: HTTPServer, tmp_path: Path) -> None:
    """An edit in the working tree, staged or not, is kept and the terms fails saying how to resolve
    it; the other terms of the run are tracked."""
    root = tracked_collection(httpserver, tmp_path)
    versions = root / "versions"
    edited = versions / "S" / "Terms of Service.md"
    edited.write_text("my notes", "utf-8")
    (versions / "S" / "Privacy Policy.md").write_text("staged notes", "utf-8")
    human_git(versions, "add", "S/Privacy Policy.md")
    change_page(httpserver, "two")
    httpserver.clear()
    httpserver.expect_request("/a").respond_with_data(PAGE.format("two"), content_type="text/html")
    httpserver.expect_request("/b").respond_with_data(PAGE.format("b2"), content_type="text/html")

    code, output = track(root)

    assert code == 1, output
    assert (
        "S/Terms of Service.md: was edited in the working tree; ota records nothing over a change" in output
    )
    assert "S/Privacy Policy.md: has a change staged in the index" in output
    assert edited.read_text("utf-8") == "my notes"
    assert git(versions, "diff", "--cached", "--name-only").strip() == "S/Privacy Policy.md"
    assert "Record new changes" not in git(versions, "log", "--format=%s")


# -- errors of the disk and of git state files -------------------------------------------------------


def _mount(*args: str) -> bool:
    """Run mount; False when this machine does not let the test mount (not root, no capability)."""
    import subprocess

    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


def _umount(target: Path) -> None:
    import subprocess

    subprocess.run(["umount", str(target)], capture_output=True, check=False)


def test_a_read_only_repository_is_one_line_and_exit_2(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A versions repository on a read-only file system stops the run before anything is fetched,
    with one line naming it (it was a traceback with exit 1)."""
    import pytest

    root = tracked_collection(httpserver, tmp_path)
    versions = root / "versions"
    if not _mount("--bind", "-o", "ro", str(versions), str(versions)):
        pytest.skip("this machine does not let the test mount a read-only folder")
    try:
        code, output = track(root)
    finally:
        _umount(versions)
    assert code == 2, output
    assert output.strip().splitlines() == [
        f"ota: {versions}: cannot be written (Read-only file system: {versions}/.git/ota-lock)"
    ]


def test_a_full_disk_keeps_the_summary_and_the_next_run_recovers(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The repositories on a disk that fills up: the run ends with its summary, then one line saying
    what could not be written (exit 2); once there is room, the next run records everything and the
    repositories are sound."""
    import random
    import subprocess

    import pytest

    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)):
        pytest.skip("this machine does not let the test mount a tmpfs")
    try:
        declarations = tmp_path / "declarations"
        declarations.mkdir()
        rng = random.Random(7)
        for number in range(30):  # 30 × 60 KB of text that does not compress: more than the 1 MB disk
            text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(60_000))
            httpserver.expect_request(f"/{number}").respond_with_data(
                f"<main><p>{text}</p></main>", content_type="text/html"
            )
            terms = {"Imprint": {"fetch": httpserver.url_for(f"/{number}"), "select": "main"}}
            (declarations / f"S{number:02}.json").write_text(json.dumps({"name": "S", "terms": terms}))
        (tmp_path / "ota.toml").write_text(
            '[collection]\nsnapshots = "disk/snapshots"\nversions = "disk/versions"\n'
            "[track]\nextract_workers = 0\n"
        )
        code, output = track(tmp_path)
        assert code == 2, output
        assert "terms tracked in" in output.splitlines()[0]
        assert "No space left on device" in output.splitlines()[-1]
        assert output.splitlines()[-1].startswith("ota: ")

        assert _mount("-o", "remount,size=64m", str(disk))
        code, output = track(tmp_path)
        assert code == 0, output
        for repo in ("snapshots", "versions"):
            assert len(git(disk / repo, "ls-files").splitlines()) == 30
            assert git(disk / repo, "status", "--porcelain") == ""
            subprocess.run(
                ["git", "-C", str(disk / repo), "fsck", "--strict"], check=True, capture_output=True
            )
        assert len(git(disk / "versions", "log", "--format=%H").split()) == 30
    finally:
        _umount(disk)


def test_damaged_git_state_files_are_rebuilt_not_fatal(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A corrupt .git/index is kept aside and rebuilt from HEAD (with a warning); an
    ota-extractions.json that cannot be written and an ota-tmp that is a file do not fail runs."""
    root = tracked_collection(httpserver, tmp_path)
    versions = root / "versions"
    (versions / ".git" / "index").write_bytes(b"DIRC" + b"\x00\x00\x00\x09" + b"garbage" * 20)
    (versions / ".git" / "ota-extractions.json").unlink()
    (versions / ".git" / "ota-extractions.json").mkdir()
    shutil.rmtree(versions / ".git" / "ota-tmp", ignore_errors=True)
    (versions / ".git" / "ota-tmp").write_text("not a folder")
    change_page(httpserver, "two")

    code, output = track(root)

    assert code == 0, output
    assert ".git/index could not be read" in output and "rebuilt from HEAD" in output
    assert "ota-extractions.json was not a file: it was moved to ota-extractions.json.unusable-" in output
    assert (versions / "S" / "Terms of Service.md").read_text("utf-8") == "Rule two."
    assert git(versions, "status", "--porcelain") == ""
    change_page(httpserver, "three")
    code, output = track(root)  # and the next run is clean
    assert code == 0 and "warning" not in output, output


# -- block pages and large losses are confirmed before they become evidence ---------------------------

RULES = (
    "<html><body><main><h1>Rules</h1>"
    + "".join(f"<p>Rule {n}: be kind to others.</p>" for n in range(60))
    + "</main></body></html>"
)
BLOCKED = (
    "<html><body><main><h1>Access denied</h1>"
    "<p>Please complete the captcha to continue.</p></main></body></html>"
)
SHORT = "<html><body><main><h1>Rules</h1><p>Rule 0: be kind to others.</p></main></body></html>"


def served(server: HTTPServer, *bodies: str) -> list[str]:
    """The server answers /rules with each body in turn (the last one from then on); what it served."""
    answers = list(bodies)
    log: list[str] = []

    def answer(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        body = answers.pop(0) if len(answers) > 1 else answers[0]
        log.append(body)
        return Response(body, content_type="text/html")

    server.clear()
    server.expect_request("/rules").respond_with_handler(answer)
    return log


def rules_collection(server: HTTPServer, root: Path) -> Path:
    served(server, RULES)
    (root / "declarations").mkdir()
    terms = {"Terms of Service": {"fetch": server.url_for("/rules"), "select": "main"}}
    (root / "declarations" / "S.json").write_text(json.dumps({"name": "S", "terms": terms}), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 0\nconfirm_pause = 0.1\n", "utf-8")
    code, output = track(root)
    assert code == 0, output
    return root


def versions_of(root: Path) -> list[str]:
    return git(root / "versions", "log", "--format=%s").splitlines()


def test_a_block_page_is_never_recorded_and_its_terms_is_suspect(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """An 'Access denied, complete the captcha' page that the selector still matches: fetched again,
    still blocked: no version, the snapshots kept, the terms reported suspect (exit 1); when the
    real page returns, nothing is recorded (no change ever happened)."""
    root = rules_collection(httpserver, tmp_path)
    log = served(httpserver, BLOCKED)

    code, output = track(root)

    assert code == 1, output
    assert len(log) == 2  # fetched again after the pause
    assert (
        "suspect: S › Terms of Service: not recorded: it looks like a block or challenge page "
        "('Access denied'" in output
    )
    assert "1 suspect (not recorded until confirmed)" in output
    assert versions_of(root) == ["First record of S Terms of Service"]
    assert "Access denied" in git(root / "snapshots", "show", "HEAD:S/Terms of Service.html")

    served(httpserver, RULES)
    code, output = track(root)
    assert code == 0 and versions_of(root) == ["First record of S Terms of Service"], output


@pytest.mark.parametrize("denied", ["Access&nbsp;denied", "Acc&shy;ess denied", "Access&#8203;denied"])
def test_a_block_page_written_with_invisible_characters_is_still_a_block_page(
    httpserver: HTTPServer, tmp_path: Path, denied: str
) -> None:
    """A non-breaking space, a soft hyphen or a zero-width space inside 'Access denied' does not
    make the block page a change that replaces the terms: it is still never recorded."""
    root = rules_collection(httpserver, tmp_path)
    served(httpserver, f"<html><body><main><h1>{denied}</h1><p>Reference #18.</p></main></body></html>")

    code, output = track(root)

    assert code == 1, output
    assert "not recorded: it looks like a block or challenge page" in output
    assert versions_of(root) == ["First record of S Terms of Service"]


def test_a_block_page_that_passes_records_nothing_false(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A block page at the first fetch and the real page at the second: nothing is recorded as a
    change, and the terms is unchanged."""
    root = rules_collection(httpserver, tmp_path)
    log = served(httpserver, BLOCKED, RULES)

    code, output = track(root)

    assert code == 0, output
    assert len(log) == 2 and "1 unchanged" in output
    assert versions_of(root) == ["First record of S Terms of Service"]


def test_a_large_loss_is_recorded_only_when_a_second_fetch_agrees(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Most of the text gone at one fetch only: nothing recorded; gone at both fetches: recorded as a
    change; an ordinary change is fetched once, never delayed."""
    root = rules_collection(httpserver, tmp_path)
    log = served(httpserver, SHORT, RULES)
    code, output = track(root)
    assert code == 0 and len(log) == 2 and versions_of(root) == ["First record of S Terms of Service"], output

    log = served(httpserver, SHORT)
    code, output = track(root)
    assert code == 0 and len(log) == 2, output
    assert versions_of(root)[0] == "Record new changes of S Terms of Service"

    log = served(httpserver, SHORT.replace("be kind", "be very kind"))
    code, output = track(root)
    assert code == 0 and len(log) == 1, output  # an ordinary change: one fetch
    assert len(versions_of(root)) == 3


def test_a_declaration_that_links_to_itself_fails_alone(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A symbolic link loop named like a declaration: one line naming it, in `ota validate` and
    `ota track`; the other services are checked and tracked."""
    httpserver.expect_request("/fine").respond_with_data(
        "<main><p>Fine.</p></main>", content_type="text/html"
    )
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    terms = {"Terms of Service": {"fetch": httpserver.url_for("/fine"), "select": "main"}}
    (declarations / "Fine.json").write_text(json.dumps({"name": "Fine", "terms": terms}), "utf-8")
    (declarations / "Loop.json").symlink_to("Loop.json")
    (tmp_path / "ota.toml").touch()
    message = f"{declarations / 'Loop.json'}: cannot be read: Too many levels of symbolic links"

    code, output = track(tmp_path)

    assert code == 1, output
    assert f"failed: {message}" in output
    assert git(tmp_path / "versions", "ls-files").strip() == "Fine/Terms of Service.md"
    result = CliRunner().invoke(
        app,
        [
            "validate",
            "--schema-only",
            "--config",
            str(tmp_path / "ota.toml"),
            "--declarations",
            str(declarations),
        ],
    )
    assert result.exit_code == 1 and f"error: {message}" in result.output, result.output


def test_a_stacked_compression_bomb_fails_its_terms_in_one_line(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """`Content-Encoding: gzip, gzip` around 64 MiB of zeros: that terms fails naming its URL and
    the bound, the other terms is tracked."""
    from tests.bombs import gzip_bomb

    headers = {"Content-Encoding": "gzip, gzip"}
    httpserver.expect_request("/bomb").respond_with_data(
        gzip_bomb(64 << 20, layers=2), content_type="text/html", headers=headers
    )
    httpserver.expect_request("/fine").respond_with_data(
        "<main><p>Fine.</p></main>", content_type="text/html"
    )
    (tmp_path / "declarations").mkdir()
    terms = {
        "Terms of Service": {"fetch": httpserver.url_for("/bomb"), "select": "main"},
        "Privacy Policy": {"fetch": httpserver.url_for("/fine"), "select": "main"},
    }
    (tmp_path / "declarations" / "B.json").write_text(json.dumps({"name": "B", "terms": terms}), "utf-8")
    (tmp_path / "ota.toml").write_text("[track]\nextract_workers = 0\n[fetch]\nmax_size = 1048576\n", "utf-8")

    code, output = track(tmp_path)

    assert code == 1, output
    url = httpserver.url_for("/bomb")
    assert (
        f"failed: B › Terms of Service: Response exceeds the maximum size of 1048576 bytes: '{url}'" in output
    )
    assert git(tmp_path / "versions", "ls-files").split() == ["B/Privacy", "Policy.md"]


def alias_bomb(levels: int) -> str:
    """YAML of `levels` anchors, each a list of ten aliases of the previous: 10^levels values."""
    lines = ["name: Bomb", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_metadata_alias_bomb_is_refused_in_one_line_everywhere(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """metadata.yml whose aliases expand to a million values: `ota validate` and `ota dataset`
    name it in one line; `ota serve` answers the metadata, the services and the home page without
    it, and says so once in its log."""
    from tests.serving import make_collection, served

    collection = make_collection(tmp_path, httpserver)
    collection.serve("the rules")
    collection.track()
    metadata = tmp_path / "metadata.yml"
    metadata.write_text(alias_bomb(6), "utf-8")
    expected = f"{metadata}: holds more than 100,000 values once its aliases are expanded (an alias bomb?)"
    config = ["--config", str(collection.config)]

    validated = CliRunner().invoke(app, ["validate", "--schema-only", *config])
    assert validated.exit_code == 1 and f"error: {expected}: not metadata" in validated.output, (
        validated.output
    )
    exported = CliRunner().invoke(app, ["dataset", "--output", str(tmp_path / "d.zip"), *config])
    assert (exported.exit_code, exported.output) == (2, f"ota: {expected}: not metadata\n")
    assert not (tmp_path / "d.zip").exists()
    with (
        caplog.at_level(logging.WARNING, "ota.web"),
        served(collection.settings()) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        answered = client.get("/api/v1/metadata")
        assert answered.status_code == 200 and "a5" not in answered.json()
        assert answered.json()["totalServices"] == 2
        assert client.get("/api/v1/services").status_code == 200
        assert client.get("/").status_code == 200
    assert [r.getMessage() for r in caplog.records if "metadata.yml" in r.getMessage()] == [
        f"{expected}: not metadata (the API's metadata leaves it out)"
    ]


def damage(index: Path, kept: int = 1) -> None:
    """Overwrite bytes inside every page of the index but its first `kept`: still a SQLite file (its
    header is intact), its tables' pages malformed."""
    data = bytearray(index.read_bytes())
    for start in range(kept * 4096 + 8, len(data), 4096):
        data[start : start + 200] = b"\xff" * 200
    index.write_bytes(bytes(data))


def test_a_damaged_viewer_index_is_rebuilt_and_the_viewer_keeps_answering(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bytes overwritten inside `versions/.git/ota-viewer.sqlite`: found at start (`PRAGMA
    quick_check`) and while serving (SQLite's "database disk image is malformed"), each said in one
    log line, the index rebuilt, and the home page, the API's versions and feed and a service page
    answer 200; what a track run publishes next is served."""
    import sqlite3

    from tests.serving import make_collection, served

    collection = make_collection(tmp_path, httpserver)
    collection.serve("the rules")
    collection.track()
    index = tmp_path / "versions" / ".git" / "ota-viewer.sqlite"
    pages = ("/", "/api/v1/versions", "/api/v1/feed", "/services/Example", "/api/v1/versions/Example")
    with (
        served(collection.settings()) as url,
        httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client,
    ):
        assert client.get("/").status_code == 200
    damage(index)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(index).execute("SELECT * FROM versions").fetchall()

    with (
        caplog.at_level(logging.WARNING, "ota.web"),
        served(collection.settings()) as url,
        httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client,
    ):
        assert {path: client.get(path).status_code for path in pages} == dict.fromkeys(pages, 200)
        assert len(client.get("/api/v1/versions").json()["data"]) == 3
        # While serving: the rebuilt index written into the file, damaged there (but `meta` and its key,
        # its first pages), then another connection's write makes the server's drop the pages it holds.
        other = sqlite3.connect(index)
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        damage(index, kept=3)
        other.execute("INSERT OR REPLACE INTO meta VALUES ('poke', '1')")
        other.commit()
        assert {path: client.get(path).status_code for path in pages} == dict.fromkeys(pages, 200)
        other.close()
        collection.serve("the new rules")
        collection.track()
        assert len(client.get("/api/v1/versions").json()["data"]) == 4
    said = [r.getMessage() for r in caplog.records if "ota-viewer.sqlite" in r.getMessage()]
    assert len(said) == 2 and all(
        line.startswith(f"{index}: damaged (") and line.endswith("): rebuilt from the repository")
        for line in said
    ), said
    assert not any(r.exc_info for r in caplog.records)


def test_a_damaged_search_index_is_rebuilt_and_search_keeps_answering(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bytes overwritten inside `versions/.git/ota-search.sqlite`: found at start and while serving,
    each said in one log line naming the file, the search index alone built again, and a phrase
    search answers 200 with the terms that contain it."""
    import sqlite3

    from ota.web.sqlite import sqlite_damage
    from tests.serving import make_collection, served

    collection = make_collection(tmp_path, httpserver)
    collection.serve("the rules of the forum. " + " ".join(f"word{i}" for i in range(5000)))
    collection.track()
    search = tmp_path / "versions" / ".git" / "ota-search.sqlite"

    def found(client: httpx.Client) -> int:
        deadline = time.monotonic() + 120  # a watchdog: the index is built in the background
        while True:
            body = client.get("/api/v1/search", params={"q": "rules of the forum"})
            assert body.status_code == 200, body.text
            if body.json()["complete"] or time.monotonic() > deadline:
                return int(body.json()["count"])
            time.sleep(0.1)

    with (
        served(collection.settings()) as url,
        httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client,
    ):
        assert found(client) == 1
    checkpoint = sqlite3.connect(search)
    assert checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    checkpoint.close()
    damage(search)
    damaged = sqlite3.connect(search)
    assert sqlite_damage(damaged) is not None
    damaged.close()

    with (
        caplog.at_level(logging.WARNING, "ota.web"),
        served(collection.settings()) as url,
        httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client,
    ):
        assert found(client) == 1
        other = sqlite3.connect(search)
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        damage(search, kept=3)
        other.execute("INSERT OR REPLACE INTO meta VALUES ('poke', '1')")
        other.commit()
        other.close()
        assert found(client) == 1
        assert client.get("/api/v1/versions").status_code == 200
    said = [r.getMessage() for r in caplog.records if "ota-search.sqlite" in r.getMessage()]
    assert len(said) == 2 and all(
        line.startswith(f"{search}: damaged (") and line.endswith("): rebuilt from the repository")
        for line in said
    ), said
    assert not any("ota-viewer.sqlite" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)
