"""`ota track` end to end: a collection served on 127.0.0.1, real git repositories in tmp_path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.store.folder import lock
from tests.conftest import fetch_settings
from tests.pdfs import make_pdf

TERMS_PAGE = """<html><head><title>Terms</title><script>var x = 1;</script></head>
<body><nav>Menu</nav><main><h1>Terms of Service</h1><p>You agree to {clause}.</p>
<p>See the <a href="/privacy">privacy policy</a>.</p></main><footer>© Example</footer></body></html>"""

RANGE_PAGE = """<html><body><h2 id="intro">Introduction</h2><p>Not part of it.</p>
<h2 id="rules">Rules</h2><p>Be kind.</p><p>Be honest.</p>
<h2 id="end">Appendix</h2><p>Other.</p></body></html>"""

GUIDELINES_A = "<html><body><article><h2>Part A</h2><p>Rule A.</p></article></body></html>"
GUIDELINES_B = "<html><body><div class='c'><h2>Part B</h2><p>Rule B.</p></div></body></html>"
#: For the runs whose failures are retried (a refused connection, a name that does not resolve):
#: 10 ms before the first retry instead of 1 s, the attempts and their messages unchanged.
QUICK_RETRIES = "[fetch]\nbackoff_base = 0.01\n"


def quick_retries(root: Path) -> Path:
    """The collection at `root`, its ota.toml given `QUICK_RETRIES`."""
    config = root / "ota.toml"
    config.write_text(config.read_text("utf-8") + QUICK_RETRIES, "utf-8")
    return root


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit_count(repo: Path) -> int:
    if not (repo / ".git").exists():
        return 0
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True
    )
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    """A site with a terms page, a range page, two guideline pages and a PDF."""
    httpserver.expect_request("/terms").respond_with_data(
        TERMS_PAGE.format(clause="the rules"), content_type="text/html; charset=utf-8"
    )
    httpserver.expect_request("/charter").respond_with_data(RANGE_PAGE, content_type="text/html")
    httpserver.expect_request("/guidelines/a").respond_with_data(GUIDELINES_A, content_type="text/html")
    httpserver.expect_request("/guidelines/b").respond_with_data(GUIDELINES_B, content_type="text/html")
    httpserver.expect_request("/privacy.pdf").respond_with_data(
        make_pdf("Privacy Policy", "We collect what you give us. We keep it one year."),
        content_type="application/pdf",
    )
    return httpserver


def write_collection(root: Path, server: HTTPServer, extra: dict[str, dict] | None = None) -> Path:
    """A collection folder with one service declaring four kinds of terms, and ota.toml."""
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    service = {
        "name": "Example",
        "terms": {
            "Terms of Service": {"fetch": server.url_for("/terms"), "select": "main", "remove": "footer"},
            "Privacy Policy": {"fetch": server.url_for("/privacy.pdf")},
            "Community Guidelines": {
                "select": "h2, p",
                "combine": [
                    {"fetch": server.url_for("/guidelines/a")},
                    {"fetch": server.url_for("/guidelines/b"), "select": ".c"},
                ],
            },
            "Acceptable Use Policy": {
                "fetch": server.url_for("/charter"),
                "select": [{"startBefore": "#rules", "endBefore": "#end"}],
            },
        },
    }
    (declarations / "Example.json").write_text(json.dumps(service, indent=2), "utf-8")
    for name, data in (extra or {}).items():
        (declarations / f"{name}.json").write_text(json.dumps(data, indent=2), "utf-8")
    (root / "ota.toml").write_text(
        '[recorder]\nsnapshot_link_template = "https://example.org/snapshots/commit/%SNAPSHOT_ID"\n', "utf-8"
    )
    return root


def track(root: Path, *args: str) -> tuple[int, str]:
    """Run `ota track` on the collection at `root`: its exit code and what it printed (the summary
    and error lines; its logs go to `root/ota.log`)."""
    logs = [] if "--log-file" in args else ["--log-file", str(root / "ota.log")]
    result = CliRunner().invoke(
        app, ["track", "--config", str(root / "ota.toml"), "--no-progress", *logs, *args]
    )
    return result.exit_code, result.output


def test_first_run_records_every_terms_then_a_second_run_records_nothing(
    site: HTTPServer, tmp_path: Path
) -> None:
    """First run: one snapshot per source document and one version per terms; second: no commit."""
    root = write_collection(tmp_path, site)
    code, output = track(root)
    assert code == 0, output
    assert "4 terms tracked" in output and "5 new snapshots" in output and "4 new versions" in output
    snapshots, versions = root / "snapshots", root / "versions"
    assert sorted(git(snapshots, "ls-files").splitlines()) == [
        "Example/Acceptable Use Policy.html",
        "Example/Community Guidelines #guidelines-a.html",
        "Example/Community Guidelines #guidelines-b.html",
        "Example/Privacy Policy.pdf",
        "Example/Terms of Service.html",
    ]
    assert (versions / "Example" / "Terms of Service.md").read_text("utf-8") == (
        "Terms of Service\n================\n\nYou agree to the rules.\n\n"
        f"See the [privacy policy]({site.url_for('/privacy')})."
    )
    assert (versions / "Example" / "Acceptable Use Policy.md").read_text("utf-8") == (
        "Rules\n-----\n\nBe kind.\n\nBe honest."
    )
    assert (versions / "Example" / "Community Guidelines.md").read_text("utf-8") == (
        "Part A\n------\n\nRule A.\n\n- - -\n\nPart B\n------\n\nRule B."
    )
    assert "We collect what you give us." in (versions / "Example" / "Privacy Policy.md").read_text("utf-8")
    assert commit_count(snapshots) == 5 and commit_count(versions) == 4

    code, output = track(root)
    assert code == 0, output
    assert "0 new snapshots" in output and "0 new versions" in output and "4 unchanged" in output
    assert commit_count(snapshots) == 5 and commit_count(versions) == 4
    for repo in (snapshots, versions):
        assert git(repo, "status", "--porcelain") == ""
        subprocess.run(["git", "-C", str(repo), "fsck", "--strict"], check=True, capture_output=True)


def test_a_changed_page_gives_one_snapshot_and_one_version_with_ota_messages(
    site: HTTPServer, tmp_path: Path
) -> None:
    """After a page changes: exactly one new snapshot and one new version, OTA's subjects and trailers."""
    root = write_collection(tmp_path, site)
    assert track(root)[0] == 0
    site.clear()
    site.expect_request("/terms").respond_with_data(
        TERMS_PAGE.format(clause="the new rules"), content_type="text/html; charset=utf-8"
    )
    for path, body in (
        ("/charter", RANGE_PAGE),
        ("/guidelines/a", GUIDELINES_A),
        ("/guidelines/b", GUIDELINES_B),
    ):
        site.expect_request(path).respond_with_data(body, content_type="text/html")
    site.expect_request("/privacy.pdf").respond_with_data(
        make_pdf("Privacy Policy", "We collect what you give us. We keep it one year."),
        content_type="application/pdf",
    )
    code, output = track(root)
    assert code == 0, output
    snapshots, versions = root / "snapshots", root / "versions"
    assert commit_count(snapshots) == 6 and commit_count(versions) == 5
    snapshot_id = git(snapshots, "rev-parse", "HEAD").strip()
    assert (
        git(snapshots, "log", "-1", "--format=%s").strip() == "Record new changes of Example Terms of Service"
    )
    body = git(snapshots, "log", "-1", "--format=%b")
    assert "X-fetcher: htmlOnly" in body
    assert f"X-source-document-location: {site.url_for('/terms')}" in body
    # ota's trailer after OTA's three, read by git as any trailer: the page's HTTP status.
    assert body.rstrip().endswith("\nX-fetch-status: 200"), body
    assert git(snapshots, "log", "-1", "--format=%(trailers:key=X-fetch-status,valueonly)").strip() == "200"
    assert (
        git(versions, "log", "-1", "--format=%s").strip() == "Record new changes of Example Terms of Service"
    )
    version_body = git(versions, "log", "-1", "--format=%b")
    assert version_body.startswith(
        f"This version was recorded after extracting from snapshot https://example.org/snapshots/commit/{snapshot_id}"
    )
    assert "X-engine-version: ota " in version_body
    # The version is dated by the snapshot it cites: the fetch date.
    assert (
        git(versions, "log", "-1", "--format=%aI").strip()
        == git(snapshots, "log", "-1", "--format=%aI").strip()
    )
    assert (
        git(versions, "log", "-1", "--format=%an <%ae>").strip()
        == "Open Terms Archive Bot <bot@opentermsarchive.org>"
    )
    assert "You agree to the new rules." in (versions / "Example" / "Terms of Service.md").read_text("utf-8")


def test_combined_terms_version_cites_its_snapshots_in_declaration_order(
    site: HTTPServer, tmp_path: Path
) -> None:
    """A combined terms' version lists one snapshot link per source document, in declaration order."""
    root = write_collection(tmp_path, site)
    assert track(root, "-t", "Community Guidelines")[0] == 0
    snapshots, versions = root / "snapshots", root / "versions"
    ids = {
        message.split("\n")[2].removeprefix("Document ID "): sha
        for sha, message in (
            (sha, git(snapshots, "log", "-1", "--format=%B", sha))
            for sha in git(snapshots, "rev-list", "HEAD").split()
        )
    }
    body = git(versions, "log", "-1", "--format=%b")
    assert body.startswith(
        "This version was recorded after extracting from and assembling the following snapshots "
        "from 2 source documents:\n"
        f"- https://example.org/snapshots/commit/{ids['guidelines-a']}\n"
        f"- https://example.org/snapshots/commit/{ids['guidelines-b']}\n"
    )


def test_failures_are_reported_and_never_stop_the_others(site: HTTPServer, tmp_path: Path) -> None:
    """A 404, a refused connection, a selector without match and a broken file: the rest is tracked."""
    site.expect_request("/gone").respond_with_data("Not found", status=404)
    site.expect_request("/redesigned").respond_with_data(
        "<html><body><div>New layout</div></body></html>", content_type="text/html"
    )
    extra = {
        "Gone": {
            "name": "Gone",
            "terms": {"Terms of Service": {"fetch": site.url_for("/gone"), "select": "main"}},
        },
        "Unreachable": {
            "name": "Unreachable",
            "terms": {"Terms of Service": {"fetch": "http://127.0.0.1:9/terms", "select": "main"}},
        },
        "Redesigned": {
            "name": "Redesigned",
            "terms": {"Terms of Service": {"fetch": site.url_for("/redesigned"), "select": "main"}},
        },
    }
    root = write_collection(tmp_path, site, extra)
    (root / "declarations" / "Broken.json").write_text(
        '{"name": "Broken", "terms": {"Terms of Service": {}}}'
    )
    code, output = track(quick_retries(root))
    assert code == 1, output
    assert "4 terms tracked" in output and "4 failed" in output
    assert f"Received HTTP code 404 when trying to fetch '{site.url_for('/gone')}'" in output
    assert "ECONNREFUSED" in output and "http://127.0.0.1:9/terms" in output
    assert 'The provided selector "main" has no match in the web page at' in output
    assert "Broken.json" in output
    versions = root / "versions"
    assert sorted(git(versions, "ls-files").splitlines()) == [
        "Example/Acceptable Use Policy.md",
        "Example/Community Guidelines.md",
        "Example/Privacy Policy.md",
        "Example/Terms of Service.md",
    ]
    # The page that lost its content was kept as evidence, but gave no version.
    assert "Redesigned/Terms of Service.html" in git(root / "snapshots", "ls-files")


def test_no_declarations_folder_exits_2(tmp_path: Path) -> None:
    """Nothing can run without a declarations folder: exit code 2 and a message naming it."""
    (tmp_path / "ota.toml").write_text("")
    code, output = track(tmp_path, "--declarations", str(tmp_path / "missing"))
    assert code == 2
    assert "missing" in output


def test_unwritable_repository_exits_2(site: HTTPServer, tmp_path: Path) -> None:
    """A repository path that is a file, not a folder: exit 2, nothing fetched."""
    root = write_collection(tmp_path, site)
    (root / "snapshots").write_text("not a folder")
    code, output = track(root)
    assert code == 2, output
    assert "snapshots" in output


@pytest.mark.parametrize(
    "problem", ["locked by another run", "versions is not a repository", "versions on a read-only mount"]
)
def test_both_repositories_are_locked_and_checked_before_the_first_request(
    site: HTTPServer, tmp_path: Path, problem: str
) -> None:
    """A second run, or a versions folder that cannot be used, stops in one line (exit 2) before
    any page is requested; a read-only repository says so once, with no noise from the calls that
    could not run."""
    root = write_collection(tmp_path, site)
    assert track(root)[0] == 0
    site.clear_log()
    held = None
    if problem == "locked by another run":
        held = lock(root / "versions" / ".git", root / "versions")
    elif problem == "versions is not a repository":
        shutil.rmtree(root / "versions" / ".git")
    elif not read_only_mount(root / "versions"):
        pytest.skip("this machine cannot make a read-only bind mount (needs root)")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ota.cli", "track", "--config", str(root / "ota.toml"), "--no-progress",
             "--log-file", str(root / "ota.log")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        if held is not None:
            os.close(held)
        else:
            subprocess.run(["umount", str(root / "versions")], check=False, capture_output=True)
    assert result.returncode == 2, result.stderr
    expected = {
        "locked by another run": "in use by another ota process",
        "versions is not a repository": "exists and is not a git repository",
        "versions on a read-only mount": "cannot be written (Read-only file system",
    }[problem]
    assert result.stdout == ""
    [line] = result.stderr.splitlines()  # one line: no "Future exception was never retrieved"
    assert line.startswith(f"ota: {root / 'versions'}: {expected}"), result.stderr
    assert site.log == []  # nothing requested
    log = (root / "ota.log").read_text("utf-8")
    assert "Future exception" not in log and "KeyError" not in log and "Traceback" not in log, log


def test_what_could_not_be_written_is_never_said_recorded(site: HTTPServer, tmp_path: Path) -> None:
    """The versions' objects folder read-only (as a full disk): exit 2, the summary lists no version
    that is not on the branch, the status says the run failed and `ota status --check` exits 1;
    once writable again, the next run records everything and the check passes."""
    root = write_collection(tmp_path, site)
    (root / "declarations" / "Other.json").write_text(json.dumps({"name": "Other", "terms": {
        "Terms of Service": {"fetch": site.url_for("/terms"), "select": "main"}}}), "utf-8")  # fmt: skip
    assert track(root, "-s", "Other")[0] == 0
    objects = root / "versions" / ".git" / "objects"
    if not read_only_mount(objects):
        pytest.skip("this machine cannot make a read-only bind mount (needs root)")
    try:
        code, output = track(root)
    finally:
        subprocess.run(["umount", str(objects)], check=True)
    assert code == 2, output
    assert "0 new versions" in output.splitlines()[0], output
    assert not re.findall(r"^(?:first record|changed|technical upgrade): ", output, re.M), output
    assert "failed: Example › Terms of Service: " in output and "not recorded" in output
    assert output.splitlines()[-1].startswith(f"ota: {root / 'versions'}: could not write a pack: ")
    status = json.loads((root / ".ota" / "status.json").read_text("utf-8"))
    assert (
        status["last_run"]["outcome"] == "failed" and "could not write a pack" in status["last_run"]["error"]
    )
    assert status["changes"] == [] and {entry["stage"] for entry in status["failing"]} == {"record"}
    check = CliRunner().invoke(app, ["status", "--config", str(root / "ota.toml"), "--check"])
    assert check.exit_code == 1 and "unhealthy: the last run failed: " in check.output, check.output

    code, output = track(root)  # writable again: everything is recorded

    assert code == 0, output
    recorded = re.findall(r"^first record: .* \(([0-9a-f]{12})\)$", output, re.M)
    assert len(recorded) == 4
    on_branch = git(root / "versions", "log", "--format=%h", "--abbrev=12").split()
    assert set(recorded) <= set(on_branch)
    check = CliRunner().invoke(app, ["status", "--config", str(root / "ota.toml"), "--check"])
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize("repository", ["versions", "snapshots"])
def test_a_symbolic_link_in_a_repository_is_never_written_through(
    site: HTTPServer, tmp_path: Path, repository: str
) -> None:
    """`ln -s ELSEWHERE versions/NewSvc` before NewSvc's first record: its terms fail in one line
    naming the link, nothing is written outside the repository, the other terms are recorded."""
    root = write_collection(tmp_path, site)
    assert track(root)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / repository / "NewSvc").symlink_to(elsewhere)
    terms = {"Terms of Service": {"fetch": site.url_for("/terms"), "select": "main"}}
    (root / "declarations" / "NewSvc.json").write_text(
        json.dumps({"name": "NewSvc", "terms": terms}), "utf-8"
    )
    site.expect_request("/terms2").respond_with_data(
        TERMS_PAGE.format(clause="new rules"), content_type="text/html"
    )
    terms = {"Terms of Service": {"fetch": site.url_for("/terms2"), "select": "main"}}
    (root / "declarations" / "Other.json").write_text(json.dumps({"name": "Other", "terms": terms}), "utf-8")

    code, output = track(root)

    assert code == 1, output
    assert list(elsewhere.iterdir()) == []
    link = root / repository / "NewSvc"
    assert f"failed: NewSvc › Terms of Service: {root / repository}: NewSvc/Terms of Service." in output
    assert (
        f"not written: {link} is a symbolic link (to {elsewhere}); ota never writes through a link" in output
    )
    assert "first record: Other › Terms of Service" in output
    assert "NewSvc" not in git(root / repository, "log", "--format=%s")


def test_an_edited_path_index_is_checked_against_the_history_before_recording(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """ota-records.json edited to say that T5's first commit last changed its file: the next run
    records the page's change only (no false technical upgrade back to the first text), says
    what it corrected, and `ota verify` agrees."""
    texts = iter(["Version A", "Version F", "Version G"])
    current = {"text": next(texts)}

    def page(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        return Response(f"<html><body><main><p>{current['text']} of the rules.</p></main></body></html>",
                        content_type="text/html")  # fmt: skip

    httpserver.expect_request("/t5").respond_with_handler(page)
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    terms = {"Terms of Service": {"fetch": httpserver.url_for("/t5"), "select": "main"}}
    (declarations / "T5.json").write_text(json.dumps({"name": "T5", "terms": terms}), "utf-8")
    (tmp_path / "ota.toml").write_text("")
    assert track(tmp_path)[0] == 0
    current["text"] = next(texts)
    assert track(tmp_path)[0] == 0
    versions = tmp_path / "versions"
    first, second = git(versions, "log", "--reverse", "--format=%H").split()
    index = versions / ".git" / "ota-records.json"
    data = json.loads(index.read_text("utf-8"))
    assert data["paths"]["T5/Terms of Service.md"] == second
    data["paths"]["T5/Terms of Service.md"] = first
    index.write_text(json.dumps(data), "utf-8")
    current["text"] = next(texts)

    code, output = track(tmp_path, "-s", "T5")

    assert code == 0, output
    assert "1 new versions (0 first records, 1 changes, 0 technical upgrades)" in output.splitlines()[0]
    assert (
        f"warning: {versions}: .git/ota-records.json said commit {first[:12]} last changed T5/Terms of "
        f"Service.md, which the history contradicts: corrected to {second[:12]}" in output
    )
    diff = git(versions, "show", "--format=%s", "HEAD")
    assert diff.startswith("Record new changes of T5 Terms of Service")
    assert "-Version F of the rules." in diff and "+Version G of the rules." in diff
    assert (
        json.loads(index.read_text("utf-8"))["paths"]["T5/Terms of Service.md"]
        == git(versions, "rev-parse", "HEAD").strip()
    )
    verified = CliRunner().invoke(app, ["verify", "--config", str(tmp_path / "ota.toml")])
    assert verified.exit_code == 0, verified.output


def read_only_mount(folder: Path) -> bool:
    """Bind-mount `folder` read-only on itself (root only); whether that could be done."""
    if os.geteuid() != 0:
        return False
    bind = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if bind.returncode != 0:
        return False
    remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True)
    if remount.returncode != 0:
        subprocess.run(["umount", str(folder)], capture_output=True)
        return False
    return True


@pytest.mark.parametrize(
    ("moment", "whom"),
    [
        ("while fetching", "its process group"),
        ("after the snapshots are published", "its process group"),
        # Alone, its recording and extraction processes must see it die and stop by themselves,
        # releasing the repositories' locks for the next run.
        ("while fetching", "the tracking process alone"),
    ],
)
def test_a_run_killed_midway_leaves_valid_repositories_and_the_next_run_completes(
    httpserver: HTTPServer, tmp_path: Path, moment: str, whom: str
) -> None:
    """SIGKILL mid-run: both repositories stay valid, and a re-run records every version."""
    import os
    import signal
    import sys
    import time

    served: list[str] = []
    delay = [0.02]  # per page, for the kill to land mid-run; none for the run after it

    def slow_page(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        served.append(request.path)
        time.sleep(delay[0])
        number = request.path.rsplit("/", 1)[1]
        return Response(
            f"<html><body><main><p>Terms {number}.</p></main></body></html>", content_type="text/html"
        )

    httpserver.expect_request(re.compile(r"/p/\d+")).respond_with_handler(slow_page)
    from ota.store.repository import FLUSH_EVERY

    declarations = tmp_path / "declarations"
    declarations.mkdir()
    # One batch of commits more than a repository publishes at once, and 50 pages: the kill after
    # the snapshots' first batch is published lands while the last pages are still served.
    count = FLUSH_EVERY + 50
    for number in range(count):
        url = httpserver.url_for(f"/p/{number}")
        data = {"name": f"S{number}", "terms": {"Terms of Service": {"fetch": url, "select": "main"}}}
        (declarations / f"S{number:03d}.json").write_text(json.dumps(data))
    (tmp_path / "ota.toml").write_text("")
    config = str(tmp_path / "ota.toml")
    command = [sys.executable, "-m", "ota.cli", "track", "--config", config, "--no-progress"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )

    def ready() -> bool:
        if moment == "while fetching":
            return len(served) >= count // 3
        # Commits are published in batches: snapshots first, then the versions citing them.
        return commit_count(tmp_path / "snapshots") >= FLUSH_EVERY

    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    if whom == "its process group":
        os.killpg(process.pid, signal.SIGKILL)
    else:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run must be killed before it ends"
    if whom == "the tracking process alone":
        deadline = time.monotonic() + 120  # a watchdog: it returns once they are gone
        while _session_processes(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _session_processes(process.pid), "processes of the killed run are still alive"
    for repo in ("snapshots", "versions"):
        if (tmp_path / repo / ".git").exists():
            subprocess.run(
                ["git", "-C", str(tmp_path / repo), "fsck", "--strict"], check=True, capture_output=True
            )

    delay[0] = 0.0
    code, output = track(tmp_path)
    assert code == 0, output
    for repo, suffix in (("snapshots", "html"), ("versions", "md")):
        files = git(tmp_path / repo, "ls-files").splitlines()
        assert sorted(files) == sorted(f"S{number:03d}/Terms of Service.{suffix}" for number in range(count))
        assert git(tmp_path / repo, "status", "--porcelain") == ""
        subprocess.run(
            ["git", "-C", str(tmp_path / repo), "fsck", "--strict"], check=True, capture_output=True
        )
    # Every file was committed exactly once: nothing recorded twice, nothing lost.
    assert commit_count(tmp_path / "snapshots") == count
    assert commit_count(tmp_path / "versions") == count


def _session_processes(session: int) -> list[int]:
    """The processes still alive in the session (process group tree) a run was started in."""
    import os

    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":  # sid, and not a zombie
                alive.append(int(entry))
    return alive


def test_terms_are_read_lazily_and_at_most_in_flight_are_started(site: HTTPServer, tmp_path: Path) -> None:
    """`track` pulls a terms from its iterable only when one finishes: a collection still being
    read is tracked meanwhile, and memory does not grow with the collection. Each terms started
    runs to its first fetch before the next is read: the network is busy from the first one."""
    import asyncio

    from ota.declarations import SourceDocument, Terms
    from ota.fetch import Fetcher
    from ota.store.extractions import ExtractionState
    from ota.store.records import Recording
    from ota.store.writer import Writer
    from ota.tracking.pool import ExtractionPool
    from ota.tracking.track import track as track_all

    in_flight, count = 3, 12
    ahead: list[int] = []  # at each pull: terms started minus outcomes received
    events: list[str] = []

    async def go() -> list[str]:
        outcomes: list[str] = []

        def terms_list():  # a generator, as a collection being loaded would be
            for number in range(count):
                ahead.append(number - len(outcomes))
                events.append(f"read {number}")
                location = site.url_for("/terms")
                yield Terms(f"Service {number}", "Terms of Service", (SourceDocument(location, ("main",)),))

        snapshots = await Writer.open(
            tmp_path / "snapshots", author_name="Bot", author_email="bot@example.org"
        )
        versions = await Writer.open(
            tmp_path / "versions", author_name="Bot", author_email="bot@example.org", cited=snapshots
        )
        try:
            async with Fetcher(fetch_settings()) as fetcher:
                async for outcome in track_all(
                    terms_list(),
                    fetch=lambda document: events.append("fetch") or fetcher.fetch(document.location),
                    extract=ExtractionPool(0),
                    snapshots=snapshots,
                    versions=versions,
                    state=ExtractionState.of(versions.path),
                    recording=Recording("ota test", ""),
                    in_flight=in_flight,
                ):
                    outcomes.append(outcome.status)
        finally:
            await versions.close()
            await snapshots.close()
        return outcomes

    assert asyncio.run(go()) == ["first"] * count
    assert len(ahead) == count and max(ahead) == in_flight
    assert events[:4] == ["read 0", "fetch", "read 1", "fetch"]
    assert commit_count(tmp_path / "versions") == count


def test_a_recording_process_that_cannot_start_is_a_record_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from ota import worker
    from ota.errors import RecordError
    from ota.store.writer import Writer

    monkeypatch.setattr(worker.sys, "executable", "/nonexistent/python")
    with pytest.raises(RecordError, match="could not start the recording process"):
        asyncio.run(Writer.open(tmp_path / "snapshots", author_name="Bot", author_email="bot@example.org"))


FILTERS_PY = '''
def dropFooter(document, parameters, source_document):
    """Remove the page's footer and, when given, the elements named by the parameters."""
    for node in document.css("footer"):
        node.decompose()
    for selector in parameters or ():
        for node in document.css(selector):
            node.decompose()
'''


def test_service_filters_from_a_filters_py_run_in_track(site: HTTPServer, tmp_path: Path) -> None:
    """A terms naming a function of SERVICE.filters.py is tracked with that filter applied, in a
    whole-collection run (read while tracking starts) as in a run selecting the service."""
    page = (
        "<html><body><main><h1>Rules</h1><p class='ad'>Buy now</p><p>Be {}.</p>"
        "<footer>Footer text</footer></main></body></html>"
    )
    site.expect_request("/filtered").respond_with_data(page.format("kind"), content_type="text/html")
    extra = {
        "Filtered": {
            "name": "Filtered",
            "terms": {
                "Terms of Service": {
                    "fetch": site.url_for("/filtered"),
                    "select": "main",
                    "filter": [{"dropFooter": [".ad"]}],
                }
            },
        }
    }
    root = write_collection(tmp_path, site, extra)
    (root / "declarations" / "Filtered.filters.py").write_text(FILTERS_PY, "utf-8")
    code, output = track(root)
    assert code == 0, output
    version = root / "versions" / "Filtered" / "Terms of Service.md"
    assert version.read_text("utf-8") == "Rules\n=====\n\nBe kind."

    site.clear()
    site.expect_request("/filtered").respond_with_data(page.format("honest"), content_type="text/html")
    code, output = track(root, "-s", "Filtered")
    assert code == 0, output
    assert "1 changes" in output
    assert version.read_text("utf-8") == "Rules\n=====\n\nBe honest."


def test_outcomes_reach_the_caller_as_they_happen_with_their_errors(site: HTTPServer, tmp_path: Path) -> None:
    """run_tracking hands each outcome to on_outcome before it returns; a failure keeps its error
    object (a FetchError with its URL and status) and a typed stage."""
    import asyncio

    from ota.errors import FetchError
    from ota.outcome import Stage
    from ota.settings import load_settings
    from ota.tracking.run import run_tracking

    site.expect_request("/gone").respond_with_data("Not found", status=404)
    extra = {
        "Gone": {"name": "Gone", "terms": {"Imprint": {"fetch": site.url_for("/gone"), "select": "main"}}}
    }
    root = write_collection(tmp_path, site, extra)
    seen = []
    report = asyncio.run(run_tracking(load_settings(root / "ota.toml"), on_outcome=seen.append))

    assert seen == report.outcomes and len(seen) == 5
    (failed,) = [outcome for outcome in seen if outcome.status == "failed"]
    assert (failed.service_id, failed.terms_type, failed.stage) == ("Gone", "Imprint", Stage.FETCH)
    assert isinstance(failed.error, FetchError)
    assert failed.error.url == site.url_for("/gone") and failed.error.status == 404
    changed = [outcome for outcome in seen if outcome.status == "first"]
    assert all(o.versions and o.versions[0].kind == "first" and o.snapshots for o in changed)


def test_a_bug_is_an_internal_failure_of_one_terms(tmp_path: Path) -> None:
    """An unexpected exception while tracking a terms is reported as an internal failure carrying the
    exception; the other terms are tracked."""
    import asyncio
    from datetime import UTC, datetime

    from ota.declarations import SourceDocument, Terms
    from ota.fetch import Page
    from ota.outcome import Stage
    from ota.store.extractions import ExtractionState
    from ota.store.records import Recording
    from ota.store.writer import Writer
    from ota.tracking.pool import ExtractionPool
    from ota.tracking.track import track as track_all

    async def fetch(document: SourceDocument) -> Page:
        if "bug" in document.location:
            raise ZeroDivisionError("a bug in ota")
        content = b"<main><p>Be kind.</p></main>"
        when = datetime(2026, 1, 1, tzinfo=UTC)
        return Page(document.location, document.location, content, "text/html", "htmlOnly", when)

    async def go() -> list:
        author = {"author_name": "Bot", "author_email": "bot@example.org"}
        snapshots = await Writer.open(tmp_path / "snapshots", **author)
        versions = await Writer.open(tmp_path / "versions", **author, cited=snapshots)
        items = [
            Terms("A", "Imprint", (SourceDocument("https://example.org/bug", ("main",)),)),
            Terms("B", "Imprint", (SourceDocument("https://example.org/terms", ("main",)),)),
        ]
        try:
            return [
                outcome
                async for outcome in track_all(
                    items,
                    fetch=fetch,
                    extract=ExtractionPool(0),
                    snapshots=snapshots,
                    versions=versions,
                    state=ExtractionState.of(versions.path),
                    recording=Recording("ota test"),
                )
            ]
        finally:
            await versions.close()
            await snapshots.close()

    outcomes = {outcome.service_id: outcome for outcome in asyncio.run(go())}
    assert outcomes["A"].stage is Stage.INTERNAL and isinstance(outcomes["A"].error, ZeroDivisionError)
    assert outcomes["B"].status == "first"


def test_a_run_where_no_host_resolves_says_the_machine_may_be_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every host's name fails to resolve (the resolver does not answer: this machine is offline):
    one line says so instead of one failure per terms; the status file still names each terms.
    (Names are refused here, before any query leaves the machine.)"""
    import socket

    def offline(host: object, *args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    declarations = tmp_path / "declarations"
    declarations.mkdir()
    for name in ("Alpha", "Beta", "Gamma"):
        terms = {"Terms of Service": {"fetch": f"https://{name.lower()}.example/terms", "select": "main"}}
        (declarations / f"{name}.json").write_text(json.dumps({"name": name, "terms": terms}))
    (tmp_path / "ota.toml").write_text("[track]\nextract_workers = 1\n" + QUICK_RETRIES)

    code, output = track(tmp_path)

    assert code == 1, output
    lines = output.splitlines()
    assert lines[0].startswith("0 terms tracked") and "3 failed" in lines[0]
    assert lines[1:] == [
        "failed: no host could be resolved: is this machine offline? "
        "(3 terms on 3 hosts, every one ENOTFOUND or EAI_AGAIN)"
    ]
    status = json.loads((tmp_path / ".ota" / "status.json").read_text("utf-8"))
    assert "EAI_AGAIN" in json.dumps(status["failing"])


def test_one_host_that_does_not_resolve_is_a_failure_of_its_own(
    site: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single name that does not resolve (a typo, a domain gone) is reported as the failure it is."""
    import socket

    resolve = socket.getaddrinfo

    def typo(host: object, *args: object, **kwargs: object) -> object:
        if host == "examlpe.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", typo)
    terms = {"Imprint": {"fetch": "https://examlpe.example/", "select": "main"}}
    extra = {"Typo": {"name": "Typo", "terms": terms}}
    code, output = track(quick_retries(write_collection(tmp_path, site, extra)))
    assert code == 1, output
    assert "offline" not in output
    assert "failed: Typo › Imprint: Network system error ENOTFOUND occurred" in output
