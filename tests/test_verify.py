"""`ota verify` end to end: repositories written by `ota track` from pages served on 127.0.0.1,
a declarations folder kept in git, then each kind of tampering and what verify says about it."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.settings import ENGINE_VERSION
from tests.conftest import needs_chromium, past_instants, track_at
from tests.pdfs import make_pdf

PAGE = """<html><body><nav>Menu</nav><main><h1>Terms</h1><p>You agree to {clause}.</p>
<p class="extra">We may change them.</p></main></body></html>"""
GUIDE_A = "<html><body><article><h2>Part A</h2><p>Rule A.</p></article></body></html>"
GUIDE_B = "<html><body><div class='c'><h2>Part B</h2><p>Rule B.</p></div></body></html>"
LINK = "https://example.org/snapshots/commit/%SNAPSHOT_ID"
BOT = ("Open Terms Archive Bot", "bot@opentermsarchive.org")


def git(repo: Path, *args: str, env: dict[str, str] | None = None, data: bytes | None = None) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
        input=data,
    )
    return result.stdout.decode()


def as_bot(date: datetime | None = None) -> dict[str, str]:
    """Environment for a git commit made by hand in the bot's name, at `date`."""
    env = {
        "GIT_AUTHOR_NAME": BOT[0],
        "GIT_AUTHOR_EMAIL": BOT[1],
        "GIT_COMMITTER_NAME": BOT[0],
        "GIT_COMMITTER_EMAIL": BOT[1],
    }
    if date is not None:
        stamp = f"{int(date.timestamp())} +0000"
        env |= {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    return env


def declaration(server: HTTPServer, *, select: str = "main", remove: str | None = None) -> dict[str, object]:
    terms: dict[str, object] = {"fetch": server.url_for("/terms"), "select": select}
    if remove:
        terms["remove"] = remove
    return {
        "name": "Example",
        "terms": {
            "Terms of Service": terms,
            "Community Guidelines": {
                "select": "h2, p",
                "combine": [
                    {"fetch": server.url_for("/guide/a")},
                    {"fetch": server.url_for("/guide/b"), "select": ".c"},
                ],
            },
        },
    }


def commit_declaration(root: Path, name: str, data: dict[str, object], date: datetime) -> None:
    """Write a declaration and commit it in the declarations repository at `date`."""
    folder = root / "declarations"
    (folder / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", f"Update {name}", env=as_bot(date) | {"GIT_AUTHOR_NAME": "Contributor"})


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/terms").respond_with_data(
        PAGE.format(clause="the rules"), content_type="text/html"
    )
    httpserver.expect_request("/guide/a").respond_with_data(GUIDE_A, content_type="text/html")
    httpserver.expect_request("/guide/b").respond_with_data(GUIDE_B, content_type="text/html")
    httpserver.expect_request("/other").respond_with_data(
        "<html><body><main><p>Other terms.</p></main></body></html>", content_type="text/html"
    )
    return httpserver


def collection(tmp_path: Path, server: HTTPServer, settings: str = "") -> Path:
    """A collection whose declarations folder is a git repository, its first commit a day ago."""
    root = tmp_path / "collection"
    (root / "declarations").mkdir(parents=True)
    git(root / "declarations", "init", "-q", "-b", "main")
    commit_declaration(root, "Example", declaration(server), datetime.now(UTC) - timedelta(days=1))
    (root / "ota.toml").write_text(
        f'[recorder]\nsnapshot_link_template = "{LINK}"\n{settings}[track]\nextract_workers = 1\n', "utf-8"
    )
    return root


def track(root: Path, *args: str, at: datetime | None = None) -> None:
    """Track the collection at `root` (`args`: `-s SERVICE`, `-t TERMS_TYPE`): with the library,
    every date being `at`, if given; else with `ota track`."""
    if at is not None:
        chosen = list(zip(args[::2], args[1::2], strict=True))
        services = tuple(value for option, value in chosen if option == "-s")
        terms_types = tuple(value for option, value in chosen if option == "-t")
        track_at(root / "ota.toml", at, services=services, terms_types=terms_types)
        return
    result = CliRunner().invoke(app, ["track", "--config", str(root / "ota.toml"), "--no-progress", *args])
    assert result.exit_code == 0, result.output


def verify(root: Path, *args: str) -> tuple[int, str, dict[str, object]]:
    report = root / "verify.json"
    result = CliRunner().invoke(
        app, ["verify", "--config", str(root / "ota.toml"), "--no-progress", "--json", str(report), *args]
    )
    data = json.loads(report.read_text("utf-8")) if report.exists() else {}
    return result.exit_code, result.output, data


def findings(data: dict[str, object], severity: str = "unexplained") -> list[dict[str, str]]:
    return [f for f in data["findings"] if f["severity"] == severity]  # type: ignore[attr-defined, index]


def latest_snapshot(root: Path, path: str) -> str:
    return git(root / "snapshots", "log", "-1", "--format=%H", "--", path).strip()


def hand_version(root: Path, text: str, snapshot_id: str, *, subject: str, env: dict[str, str]) -> None:
    """Commit a version by hand, in ota's message format, citing `snapshot_id`."""
    versions = root / "versions"
    (versions / "Example" / "Terms of Service.md").write_text(text, "utf-8")
    message = (
        f"{subject} Example Terms of Service\n\nThis version was recorded after extracting from snapshot "
        f"{LINK.replace('%SNAPSHOT_ID', snapshot_id)}\n\nX-engine-version: {ENGINE_VERSION}\n"
    )
    git(versions, "add", "-A")
    git(versions, "commit", "-q", "-F", "-", env=env, data=message.encode())


def test_a_history_recorded_by_ota_track_verifies(site: HTTPServer, tmp_path: Path) -> None:
    """Every version of a clean history (first records, a change, combined terms) is reproduced: exit 0."""
    root = collection(tmp_path, site)
    track(root)
    site.clear()
    site.expect_request("/terms").respond_with_data(PAGE.format(clause="new rules"), content_type="text/html")
    site.expect_request("/guide/a").respond_with_data(GUIDE_A, content_type="text/html")
    site.expect_request("/guide/b").respond_with_data(GUIDE_B, content_type="text/html")
    track(root)
    code, output, data = verify(root)
    assert code == 0, output
    assert "3 versions checked" in output
    assert "3 reproduced, 0 explained, 0 unverifiable, 0 unexplained" in output
    assert data["counts"]["reproduced"] == 3 and data["ok"] is True  # type: ignore[index]
    code, output, _ = verify(root, "--since", "2999-01-01")
    assert code == 0 and "0 versions checked" in output
    code, output, _ = verify(root, "--since", "yesterday")
    assert code == 2 and "--since yesterday: not a date" in output


def test_a_version_edited_and_committed_by_hand_is_reported(site: HTTPServer, tmp_path: Path) -> None:
    """A version edited by hand is not what its snapshot gives, and its author is not the bot."""
    root = collection(tmp_path, site)
    track(root)
    snapshot = latest_snapshot(root, "Example/Terms of Service.html")
    edited = "Terms\n=====\n\nYou agree to nothing."
    env = {"GIT_AUTHOR_NAME": "Someone", "GIT_AUTHOR_EMAIL": "someone@example.org"}
    env |= {"GIT_COMMITTER_NAME": "Someone", "GIT_COMMITTER_EMAIL": "someone@example.org"}
    hand_version(root, edited, snapshot, subject="Record new changes of", env=env)
    code, output, data = verify(root)
    assert code == 1, output
    checks = {(f["check"], f["path"]) for f in findings(data)}
    assert ("reproduction", "Example/Terms of Service.md") in checks
    assert ("author", "Example/Terms of Service.md") in checks
    assert "Someone <someone@example.org> (1)" in output
    assert "1 unexplained" in output


def test_a_version_citing_a_missing_snapshot_is_reported(site: HTTPServer, tmp_path: Path) -> None:
    """A version citing a snapshot commit the snapshots repository does not have is unexplained."""
    root = collection(tmp_path, site)
    track(root)
    hand_version(root, "Anything.", "0123456789" * 4, subject="Record new changes of", env=as_bot())
    code, _output, data = verify(root)
    assert code == 1
    [finding] = findings(data)
    assert finding["check"] == "citation" and "does not have" in finding["message"]


def test_a_commit_out_of_date_order_is_reported(site: HTTPServer, tmp_path: Path) -> None:
    """A version dated before the version it follows makes 'the terms on a date' ill-defined: reported."""
    root = collection(tmp_path, site)
    track(root, at=past_instants(1)[0])
    first = git(root / "versions", "log", "-1", "--format=%at%n%B", "--", "Example/Terms of Service.md")
    first_date = datetime.fromtimestamp(int(first.split("\n", 1)[0]), UTC)
    first_text = (root / "versions" / "Example" / "Terms of Service.md").read_text("utf-8")
    snapshot = latest_snapshot(root, "Example/Terms of Service.html")
    site.clear()
    site.expect_request("/terms").respond_with_data(PAGE.format(clause="new rules"), content_type="text/html")
    site.expect_request("/guide/a").respond_with_data(GUIDE_A, content_type="text/html")
    site.expect_request("/guide/b").respond_with_data(GUIDE_B, content_type="text/html")
    track(root)
    # The first text again, from its own snapshot, but dated before the change it follows.
    hand_version(root, first_text, snapshot, subject="Record new changes of", env=as_bot(first_date))
    code, output, data = verify(root)
    assert code == 1, output
    [finding] = findings(data)
    assert finding["check"] == "date" and "dated before the record it follows" in finding["message"]


def test_a_declaration_changed_without_a_technical_upgrade_is_reported(
    site: HTTPServer, tmp_path: Path
) -> None:
    """A declaration committed after a version, that gives another text, calls for a technical upgrade:
    without one it is unexplained once ota recorded anything since, explained before, fine after one."""
    tracked, changed, declared, tracked_again = past_instants(4)
    root = collection(tmp_path, site)
    track(root, at=tracked)
    commit_declaration(root, "Example", declaration(site, remove=".extra"), changed)
    code, output, data = verify(root)
    assert code == 0, output  # explained differences are accepted by default
    [finding] = findings(data, "explained")
    assert finding["check"] == "upgrade" and finding["cause"] == "ota has recorded nothing since"
    # ota records something else after the change, but not the upgrade of this terms.
    commit_declaration(
        root,
        "Other",
        {"name": "Other", "terms": {"Imprint": {"fetch": site.url_for("/other"), "select": "main"}}},
        declared,
    )
    track(root, "-s", "Other", at=tracked_again)
    code, output, data = verify(root)
    assert code == 1, output
    [finding] = findings(data)
    assert finding["check"] == "upgrade" and finding["path"] == "Example/Terms of Service.md"
    assert "no technical upgrade was recorded" in finding["message"]
    # A whole run records the upgrade; but the run in between still did not: that stays reported.
    track(root)
    assert "Apply technical or declaration upgrade on Example Terms of Service" in git(
        root / "versions", "log", "--format=%s"
    )
    code, _output, data = verify(root, "-t", "Terms of Service")
    assert [f["check"] for f in findings(data)] == ["upgrade"]


def test_a_technical_upgrade_after_a_declaration_change_verifies(site: HTTPServer, tmp_path: Path) -> None:
    """A declaration change followed by ota's technical upgrade: both versions reproduce with the
    declaration of their own date, read from the declarations repository's history."""
    tracked, changed = past_instants(2)
    root = collection(tmp_path, site)
    track(root, at=tracked)
    commit_declaration(root, "Example", declaration(site, remove=".extra"), changed)
    track(root)
    code, output, _data = verify(root)
    assert code == 0, output
    assert "3 versions checked" in output and "3 reproduced" in output


def test_a_version_recorded_with_an_older_declaration_is_explained(site: HTTPServer, tmp_path: Path) -> None:
    """A declaration committed a little before a version, but not the one it was extracted with (a
    deployment that lagged), explains the difference: it names the commit that gives the text."""
    root = collection(tmp_path, site)
    track(root)
    first_date = datetime.fromtimestamp(int(git(root / "versions", "log", "-1", "--format=%at").strip()), UTC)
    # A change committed an hour before the version, which the tracker had not received yet.
    commit_declaration(root, "Example", declaration(site, remove=".extra"), first_date - timedelta(hours=1))
    code, output, data = verify(root, "-t", "Terms of Service")
    assert code == 0 and "1 explained" in output
    [finding] = findings(data, "explained")
    assert finding["check"] == "reproduction" and "a declaration change near that date" in finding["cause"]
    settings = (root / "ota.toml").read_text("utf-8") + "[verify]\naccept_explained = false\n"
    (root / "ota.toml").write_text(settings, "utf-8")
    code, output, _ = verify(root, "-t", "Terms of Service")
    assert code == 1, output


def test_verify_needs_the_repositories(tmp_path: Path) -> None:
    """Without a versions repository nothing can be checked: exit 2, naming it."""
    (tmp_path / "declarations").mkdir()
    result = CliRunner().invoke(
        app,
        [
            "verify",
            "--no-progress",
            "--declarations",
            str(tmp_path / "declarations"),
            "--snapshots",
            str(tmp_path / "snapshots"),
            "--versions",
            str(tmp_path / "versions"),
        ],
    )
    assert result.exit_code == 2 and "snapshots" in result.output


def test_without_git_the_history_file_gives_the_declaration_in_force(
    site: HTTPServer, tmp_path: Path
) -> None:
    """In a declarations folder that is not a git repository, SERVICE.history.json entries are in
    force until their validUntil: a version recorded before a change reproduces with the old entry,
    and the change that followed it calls for a technical upgrade."""
    root = tmp_path / "plain"
    (root / "declarations").mkdir(parents=True)
    old = declaration(site)
    (root / "declarations" / "Example.json").write_text(json.dumps(old), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")
    track(root, "-t", "Terms of Service", at=past_instants(1)[0])
    (root / "declarations" / "Example.json").write_text(
        json.dumps(declaration(site, remove=".extra")), "utf-8"
    )
    code, output, data = verify(root)
    assert code == 1
    [finding] = findings(data)
    assert finding["check"] == "reproduction" and "(Example.json)" in finding["message"]
    history = {
        "Terms of Service": [
            {**old["terms"]["Terms of Service"], "validUntil": datetime.now(UTC).isoformat()}
        ]
    }  # type: ignore[index]
    (root / "declarations" / "Example.history.json").write_text(json.dumps(history), "utf-8")
    code, output, data = verify(root)
    assert not findings(data), output  # reproduced with the history entry…
    [finding] = findings(data, "explained")  # …and the change after it awaits its technical upgrade
    assert finding["check"] == "upgrade" and "(Example.json)" in finding["message"]


@needs_chromium
@pytest.mark.browser
def test_versions_made_with_javascript_filters_are_reproduced(site: HTTPServer, tmp_path: Path) -> None:
    """A terms whose declaration names a filter of SERVICE.filters.js (kept in the declarations
    repository) is extracted again with that filter, in the browser: reproduced, not just explained."""
    root = collection(tmp_path, site)
    data = declaration(site)
    data["terms"]["Terms of Service"]["filter"] = ["dropExtra"]  # type: ignore[index]
    (root / "declarations" / "Example.filters.js").write_text(
        "export function dropExtra(document) { document.querySelector('.extra').remove(); }\n", "utf-8"
    )
    commit_declaration(root, "Example", data, datetime.now(UTC) - timedelta(hours=12))
    track(root)
    assert "We may change them" not in (root / "versions" / "Example" / "Terms of Service.md").read_text()

    code, output, _ = verify(root)

    assert code == 0, output
    assert "2 reproduced, 0 explained, 0 unverifiable, 0 unexplained" in output


@needs_chromium
@pytest.mark.browser
def test_without_chromium_pdfs_and_javascript_filters_are_explained(site: HTTPServer, tmp_path: Path) -> None:
    """Versions of a PDF (read by pdf.js) and of a page with JavaScript filters, verified where
    Chromium cannot start: explained by what needs it, not unexplained; exit 0."""
    root = collection(tmp_path, site)
    site.expect_request("/policy.pdf").respond_with_data(
        make_pdf("Privacy Policy", "We keep what you give us one year."), content_type="application/pdf"
    )
    data = declaration(site)
    data["terms"]["Terms of Service"]["filter"] = ["dropExtra"]  # type: ignore[index]
    data["terms"]["Privacy Policy"] = {"fetch": site.url_for("/policy.pdf")}  # type: ignore[index]
    (root / "declarations" / "Example.filters.js").write_text(
        "export function dropExtra(document) { document.querySelector('.extra').remove(); }\n", "utf-8"
    )
    commit_declaration(root, "Example", data, datetime.now(UTC) - timedelta(hours=12))
    track(root)
    config = root / "ota.toml"
    config.write_text(config.read_text("utf-8") + f'[fetch]\nbrowser_path = "{tmp_path / "no-chromium"}"\n')

    code, output, data = verify(root)

    assert code == 0, output
    assert "1 reproduced, 2 explained, 0 unverifiable, 0 unexplained" in output, output
    causes = sorted(finding["cause"] for finding in findings(data, "explained"))
    assert causes == [
        "JavaScript filters need Chromium, not available here",
        "PDF text needs Chromium's pdf.js, not available here",
    ]


def serve(site: HTTPServer, clause: str) -> None:
    site.clear()
    site.expect_request("/terms").respond_with_data(PAGE.format(clause=clause), content_type="text/html")
    site.expect_request("/guide/a").respond_with_data(GUIDE_A, content_type="text/html")
    site.expect_request("/guide/b").respond_with_data(GUIDE_B, content_type="text/html")


def test_a_forged_digit_is_shown_with_the_words_around_it(site: HTTPServer, tmp_path: Path) -> None:
    """A version whose "16" was changed to "18" by hand: the finding quotes both digits, in context."""
    root = collection(tmp_path, site)
    serve(site, "be at least 16 years old to form a binding contract")
    track(root, "-t", "Terms of Service")
    recorded = (root / "versions" / "Example" / "Terms of Service.md").read_text("utf-8")
    snapshot = latest_snapshot(root, "Example/Terms of Service.html")
    hand_version(root, recorded.replace("16", "18"), snapshot, subject="Record new changes of", env=as_bot())
    code, output, data = verify(root)
    assert code == 1, output
    [finding] = findings(data)
    assert finding["check"] == "reproduction"
    message = finding["message"]
    assert "'…to be at least 18 years old to form…' in the version" in message, message
    assert "'…to be at least 16 years old to form…' when extracted again" in message, message


def test_versions_citing_snapshots_of_another_repository_are_unverifiable(
    site: HTTPServer, tmp_path: Path
) -> None:
    """Versions of an older collection (Open Terms Archive's engine, no trailer) citing snapshots of the
    repositories it was split from, by link with an abbreviated id or by bare id, are unverifiable
    with that cause, not unexplained: exit 0, unless `[verify] strict`."""
    root = collection(tmp_path, site)
    versions = root / "versions"
    (versions / "Example").mkdir(parents=True)
    git(versions, "init", "-q", "-b", "main")
    citations = [
        "https://github.com/ambanum/OpenTermsArchive-snapshots/commit/e1dea3ed01ff",
        "https://github.com/ambanum/CGUs-snapshots/commit/fb6516d711d",
        "0123456789abcdef0123456789abcdef01234567",
    ]
    date = datetime.now(UTC) - timedelta(days=3)
    for number, citation in enumerate(citations):
        (versions / "Example" / "Privacy Policy.md").write_text(f"Old terms {number}.", "utf-8")
        subject = "Start tracking" if number == 0 else "Update"
        message = f"{subject} Example Privacy Policy\n\nThis version was recorded after filtering snapshot "
        message += f"{citation}\n"
        git(versions, "add", "-A")
        stamp = as_bot(date + timedelta(hours=number)) | {"GIT_AUTHOR_NAME": "AmbNum Bot"}
        git(versions, "commit", "-q", "-F", "-", env=stamp, data=message.encode())
    track(root)  # ota goes on in the same repositories
    code, output, data = verify(root)
    assert code == 0, output
    unverifiable = findings(data, "unverifiable")
    assert len(unverifiable) == 3 and all(f["check"] == "citation" for f in unverifiable)
    assert {f["cause"] for f in unverifiable} == {"cited snapshot not in this repository"}
    assert data["counts"]["unverifiable"] == 3 and data["counts"]["unexplained"] == 0  # type: ignore[index]
    assert data["causes"]["unverifiable"] == {"cited snapshot not in this repository": 3}  # type: ignore[index]
    assert "unverifiable: 3 × cited snapshot not in this repository" in output
    assert "AmbNum Bot <bot@opentermsarchive.org> (3)" in output
    settings = (root / "ota.toml").read_text("utf-8") + "[verify]\nstrict = true\n"
    (root / "ota.toml").write_text(settings, "utf-8")
    code, output, _ = verify(root)
    assert code == 1, output


def test_a_declaration_changed_without_git_is_kept_for_verification(site: HTTPServer, tmp_path: Path) -> None:
    """A declarations folder that is not a git repository: after a declaration change, `ota track`
    records the technical upgrade and keeps the superseded entry in SERVICE.history.json, so that
    `ota verify` reproduces every version, those before the change included."""
    root = tmp_path / "plain"
    (root / "declarations").mkdir(parents=True)
    (root / "declarations" / "Example.json").write_text(json.dumps(declaration(site)), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")
    track(root, at=past_instants(1)[0])
    assert not (root / "declarations" / "Example.history.json").exists()  # nothing changed yet
    changed = declaration(site, select="p")
    (root / "declarations" / "Example.json").write_text(json.dumps(changed), "utf-8")
    track(root)
    subjects = git(root / "versions", "log", "--format=%s")
    assert "Apply technical or declaration upgrade on Example Terms of Service" in subjects
    history = json.loads((root / "declarations" / "Example.history.json").read_text("utf-8"))
    [entry] = history["Terms of Service"]
    assert entry["select"] == "main" and entry["validUntil"].endswith(".000Z")
    assert "Community Guidelines" not in history  # its entry did not change
    code, output, data = verify(root)
    assert code == 0, output
    assert "3 versions checked" in output and "3 reproduced" in output
    assert not findings(data) and not findings(data, "explained")


def test_a_declaration_edited_during_a_run_is_kept_as_the_run_read_it(
    site: HTTPServer, tmp_path: Path
) -> None:
    """Without git, the entry kept for the next run's history is the one this run tracked with, not
    the file as it is when the run ends: edited while its terms is being tracked, the next run adds
    the entry used to the history file, and every version verifies."""
    from ota.settings import load_settings
    from ota.tracking.launch import Selection, track_once

    root = tmp_path / "plain"
    (root / "declarations").mkdir(parents=True)
    path = root / "declarations" / "Example.json"
    path.write_text(json.dumps(declaration(site)), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")

    def edit(_outcome: object) -> None:  # once the terms is tracked, before the run ends
        path.write_text(json.dumps(declaration(site, select="p")), "utf-8")

    selection = Selection(terms_types=("Terms of Service",))
    result = track_once(load_settings(root / "ota.toml"), selection, now=past_instants(1)[0], on_outcome=edit)
    assert result.exit_code == 0, result.error
    kept = json.loads((root / "versions" / ".git" / "ota-declarations.json").read_text("utf-8"))
    assert kept["Example"]["Terms of Service"]["select"] == "main"
    track(root, "-t", "Terms of Service")
    history = json.loads((root / "declarations" / "Example.history.json").read_text("utf-8"))
    assert [entry["select"] for entry in history["Terms of Service"]] == ["main"]
    code, output, _ = verify(root)
    assert code == 0, output


def test_without_the_history_verify_says_what_to_do(site: HTTPServer, tmp_path: Path) -> None:
    """A declaration changed by hand in a folder that is not a git repository, and not tracked since:
    the difference is unexplained, and the finding says how to make it verifiable."""
    root = tmp_path / "plain"
    (root / "declarations").mkdir(parents=True)
    (root / "declarations" / "Example.json").write_text(json.dumps(declaration(site)), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")
    track(root, "-t", "Terms of Service")
    (root / "declarations" / "Example.json").write_text(json.dumps(declaration(site, select="p")), "utf-8")
    code, _output, data = verify(root)
    assert code == 1
    [finding] = findings(data)
    assert "add the entry in force then to Example.history.json with its validUntil" in finding["cause"]


def test_a_history_file_ota_cannot_complete_is_left_as_it_is_and_named(
    site: HTTPServer, tmp_path: Path
) -> None:
    """A SERVICE.history.json that is not an object: the run still records, says in one line which
    file it could not complete, and leaves that file as it was."""
    root = tmp_path / "plain"
    (root / "declarations").mkdir(parents=True)
    (root / "declarations" / "Example.json").write_text(json.dumps(declaration(site)), "utf-8")
    (root / "declarations" / "Example.history.json").write_text("[]\n", "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")
    track(root, "-t", "Terms of Service", at=past_instants(1)[0])
    (root / "declarations" / "Example.json").write_text(json.dumps(declaration(site, select="p")), "utf-8")
    result = CliRunner().invoke(
        app, ["track", "--config", str(root / "ota.toml"), "--no-progress", "-t", "Terms of Service"]
    )
    assert result.exit_code == 0, result.output
    assert "Example.history.json: is not an object, so no earlier declaration was added" in result.output
    assert (root / "declarations" / "Example.history.json").read_text("utf-8") == "[]\n"
