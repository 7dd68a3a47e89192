"""The run as JSON and the status file: failing terms kept across runs with the time they started
failing, cleared when tracked again; `ota status` and its health check."""

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
from ota.declarations import SourceDocument, Terms
from ota.errors import DeclarationError, FetchError
from ota.outcome import Outcome, Recorded, Report, Stage
from ota.report.deliver import scheduler_started
from ota.report.health import check_status, default_max_age, status_lines
from ota.report.status import (
    StatusError,
    declared_in,
    read_status,
    run_summary,
    updated_status,
)
from ota.schedule import run_once
from ota.settings import RecorderSettings, ServeSettings, Settings, load_settings
from ota.store.folder import lock
from tests.test_dropin import PAGE, collection, write_service
from tests.test_track import track

T0 = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
URL = "https://example.com/privacy"


def terms(service: str, terms_type: str = "Terms of Service") -> Terms:
    return Terms(service, terms_type, (SourceDocument(URL, select=("main",)),))


def changed(service: str, *kinds: str) -> Outcome:
    versions = tuple(
        Recorded(kind, f"{n}" * 40, f"{service}/Terms of Service.md", T0) for n, kind in enumerate(kinds)
    )  # type: ignore[arg-type]
    snapshot = Recorded("change", "f" * 40, f"{service}/Terms of Service.html", T0)
    status = {"first": "first", "change": "changed", "upgrade": "upgraded"}[kinds[-1]]
    return Outcome(service, "Terms of Service", status, terms(service), (snapshot,), versions)  # type: ignore[arg-type]


def forbidden(service: str) -> Outcome:
    error = FetchError(URL, f"Received HTTP code 403 when trying to fetch '{URL}'", status=403)
    return Outcome.failure(terms(service, "Privacy Policy"), Stage.FETCH, error)


def summary_of(report: Report, started: datetime, **options: object) -> dict:
    settings = Settings(
        serve=ServeSettings(public_url="https://archive.example.org"),
        recorder=RecorderSettings(snapshot_link_template="https://s/%SNAPSHOT_ID"),
    )
    return run_summary(report, settings, started=started, finished=started + timedelta(minutes=2), **options)  # type: ignore[arg-type]


def test_the_summary_has_every_change_and_every_failure_with_its_url_and_status() -> None:
    """Changed terms with their versions and links; failures with stage, text, URL and HTTP status."""
    report = Report(
        outcomes=[
            changed("A", "upgrade", "change"),
            changed("B", "first"),
            Outcome("C", "Terms of Service", "unchanged", terms("C")),
            forbidden("D"),
        ],
        declaration_errors=[DeclarationError(Path("declarations/E.json"), "invalid JSON")],
        seconds=12.5,
    )
    summary = summary_of(report, T0)
    assert summary["outcome"] == "partial" and summary["started"] == "2026-11-26T12:30:00Z"
    assert summary["counts"]["tracked"] == 3 and summary["counts"]["failed"] == 2
    assert summary["counts"]["changes"] == 1 and summary["counts"]["technical_upgrades"] == 1
    a, b = summary["changes"]
    assert (a["service_id"], a["status"], [v["kind"] for v in a["versions"]]) == (
        "A",
        "changed",
        ["upgrade", "change"],
    )
    assert a["url"] == "https://archive.example.org/services/A/Terms%20of%20Service"
    assert a["snapshot_urls"] == ["https://s/" + "f" * 40]
    assert b["status"] == "first"
    declaration, fetch = summary["failures"]
    assert declaration["service_id"] == "E" and declaration["terms_type"] is None
    assert (fetch["stage"], fetch["url"], fetch["status"]) == ("fetch", URL, 403)
    assert fetch["error"].startswith("Received HTTP code 403")
    json.dumps(summary)  # JSON-ready


def test_a_run_where_everything_failed_is_failed() -> None:
    """Nothing tracked and something failed: the outcome says the run failed entirely."""
    assert summary_of(Report(outcomes=[forbidden("D")]), T0)["outcome"] == "failed"
    assert summary_of(Report(), T0)["outcome"] == "ok"


def test_a_failing_terms_keeps_the_time_it_started_failing_until_it_is_tracked_again() -> None:
    """Three runs: since stays the first failure's, runs counts them; a tracked run clears it."""
    status = None
    for day in range(3):
        report = Report(outcomes=[forbidden("D"), changed("A", "change")])
        status = updated_status(
            status, summary_of(report, T0 + timedelta(days=day)), tracked=[("A", "Terms of Service")]
        )
    assert status is not None
    [entry] = status["failing"]
    assert entry["since"] == "2026-11-26T12:30:00Z" and entry["last"] == "2026-11-28T12:30:00Z"
    assert entry["runs"] == 3 and entry["status"] == 403
    assert "failing for 3 days (3 runs, since 2026-11-26 12:30:00 UTC)" in "\n".join(
        status_lines(status, now=T0 + timedelta(days=3, minutes=5))
    )
    tracked_again = Report(
        outcomes=[Outcome("D", "Privacy Policy", "unchanged", terms("D", "Privacy Policy"))]
    )
    status = updated_status(
        status, summary_of(tracked_again, T0 + timedelta(days=3)), tracked=[("D", "Privacy Policy")]
    )
    assert status["failing"] == []


def test_terms_not_tried_stay_failing_unless_no_longer_declared(tmp_path: Path) -> None:
    """A selection leaves the others' failures alone; a whole run drops terms removed from the collection."""
    status = updated_status(None, summary_of(Report(outcomes=[forbidden("D"), forbidden("Gone")]), T0))
    selection = summary_of(Report(outcomes=[changed("A", "change")]), T0 + timedelta(days=1), services=["A"])
    assert len(updated_status(status, selection)["failing"]) == 2
    write_service(tmp_path, "D", {"Privacy Policy": {"fetch": URL, "select": "main"}})
    later = updated_status(status, selection, declared=declared_in(tmp_path / "declarations"))
    assert [entry["service_id"] for entry in later["failing"]] == ["D"]


def test_default_max_age_is_twice_the_schedules_interval() -> None:
    """Every 12 hours: 24 hours; every Monday: 14 days."""
    assert default_max_age("30 */12 * * *", T0) == timedelta(hours=24)
    assert default_max_age("0 3 * * 1", T0) == timedelta(days=14)


def test_the_check_fails_on_no_run_an_old_run_or_a_run_that_failed_entirely() -> None:
    """Each unhealthy state is named; a recent partial run is healthy; a new scheduler has a grace."""
    day = timedelta(days=1)
    assert check_status(None, now=T0, max_age=day) == ["no run recorded yet"]
    partial = updated_status(None, summary_of(Report(outcomes=[forbidden("D"), changed("A", "change")]), T0))
    assert check_status(partial, now=T0 + timedelta(hours=3), max_age=day) == []
    [problem] = check_status(partial, now=T0 + timedelta(days=3), max_age=day)
    assert problem.startswith("the last run finished 2 days ago")
    failed = updated_status(None, summary_of(Report(outcomes=[forbidden("D")]), T0))
    assert check_status(failed, now=T0, max_age=day) == [
        "the last run failed entirely: 1 failed, none tracked"
    ]
    waiting = {"scheduler": {"started": "2026-11-26T12:30:00Z", "schedule": "30 */12 * * *"}}
    assert check_status(waiting, now=T0 + timedelta(hours=5), max_age=day) == []
    assert check_status(waiting, now=T0 + timedelta(days=2), max_age=day) == [
        "no run since the scheduler started (more than 24 h ago)"
    ]


def test_a_scheduler_whose_process_is_gone_is_not_said_to_run(tmp_path: Path) -> None:
    """A scheduler killed (SIGKILL: it could not note its stop) is said to be gone, and gives the
    last run no grace; one whose process runs is said started."""
    child = subprocess.Popen(["sleep", "60"])
    child.kill()
    child.wait()
    host = os.uname().nodename
    started = {"started": "2026-11-26T12:30:00Z", "schedule": "30 */12 * * *", "host": host}
    killed = {"scheduler": {**started, "pid": child.pid}}
    [line] = [line for line in status_lines(killed, now=T0) if line.startswith("scheduler:")]
    gone = f"not running (its process {child.pid} is gone: killed?)"
    assert line.endswith(f"started 2026-11-26 12:30:00 UTC, {gone}")
    assert check_status(killed, now=T0 + timedelta(hours=5), max_age=timedelta(days=1)) == [
        "no run recorded yet"
    ]
    running = {"scheduler": {**started, "pid": os.getpid()}}
    [line] = [line for line in status_lines(running, now=T0) if line.startswith("scheduler:")]
    assert line.endswith("started 2026-11-26 12:30:00 UTC")


def test_an_unreadable_status_file_is_named(tmp_path: Path) -> None:
    """Not JSON: a StatusError naming the file."""
    path = tmp_path / "status.json"
    path.write_text("{not json")
    with pytest.raises(StatusError, match=r"status\.json: is not valid JSON"):
        read_status(path)


# -- end to end ----------------------------------------------------------------------------------------


def status(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["status", "--config", str(root / "ota.toml"), *args])
    return result.exit_code, result.output


def test_track_writes_the_status_and_the_json_summary_and_ota_status_reads_them(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Two runs of `ota track`: the status file keeps the failing terms since the first run, the
    JSON summary lists the failure with its URL and status, `ota status` prints both and
    `--check` passes (some failed, not all)."""
    root = collection(tmp_path)
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    httpserver.expect_request("/privacy").respond_with_data("gone", status=404)
    write_service(
        root,
        "Example",
        {
            "Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"},
            "Privacy Policy": {"fetch": httpserver.url_for("/privacy"), "select": "main"},
        },
    )
    code, output = track(root)
    assert code == 1, output
    first = json.loads((root / ".ota" / "status.json").read_text("utf-8"))
    [change] = first["changes"]
    assert (change["service_id"], change["status"]) == ("Example", "first")

    code, output = track(root, "--json-summary", str(tmp_path / "run.json"))

    assert code == 1, output
    run = json.loads((tmp_path / "run.json").read_text("utf-8"))
    [failure] = run["failures"]
    assert failure["url"] == httpserver.url_for("/privacy") and failure["status"] == 404
    assert run["changes"] == [] and run["counts"]["unchanged"] == 1
    current = json.loads((root / ".ota" / "status.json").read_text("utf-8"))
    [failing] = current["failing"]
    assert failing["since"] == first["failing"][0]["since"] and failing["runs"] == 2

    code, output = status(root, "--check")

    assert code == 0, output
    assert "partial" in output and "Example › Privacy Policy: failing for" in output and "(2 runs" in output
    code, output = status(root, "--json")
    assert code == 0 and json.loads(output)["failing"][0]["runs"] == 2


def test_status_check_fails_when_the_last_run_is_too_old_or_absent(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """--check: exit 1 without any run, exit 1 once the last run is older than --max-age."""
    root = collection(tmp_path)
    code, output = status(root, "--check")
    assert code == 1 and "unhealthy: no run recorded yet" in output
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    write_service(
        root, "Example", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    track(root)
    path = root / ".ota" / "status.json"
    current = json.loads(path.read_text("utf-8"))
    current["last_run"]["finished"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(current))

    code, output = status(root, "--check", "--max-age", "3600")

    assert code == 1 and "unhealthy: the last run finished" in output and "more than 60 min ago" in output


def test_a_run_that_could_not_run_is_recorded_and_fails_the_check(tmp_path: Path) -> None:
    """A versions repository that cannot be created: exit 2, and the status says the run could not run."""
    root = collection(tmp_path)
    write_service(root, "Example", {"Terms of Service": {"fetch": "https://example.com/", "select": "main"}})
    (root / "versions").write_text("a file where the repository should be")

    code, output = track(root)

    assert code == 2, output
    code, output = status(root, "--check")
    assert code == 1 and "unhealthy: the last run could not run:" in output and "versions" in output


def test_a_corrupt_status_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """`ota status` on a file that is not JSON: one line naming it."""
    root = collection(tmp_path)
    (root / ".ota").mkdir()
    (root / ".ota" / "status.json").write_text("{")
    code, output = status(root)
    assert code == 2 and output.startswith("ota: ") and "status.json: is not valid JSON" in output
    assert "Traceback" not in output


def test_a_run_overlapping_another_leaves_the_status_to_the_run_in_progress(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A run that finds the repositories locked exits 2, ends its log with an ERROR line saying why,
    and does not mark the collection as broken."""
    root = collection(tmp_path)
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    write_service(
        root, "Example", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    assert track(root)[0] == 0
    before = (root / ".ota" / "status.json").read_text("utf-8")
    held = lock(root / "snapshots" / ".git", root / "snapshots")  # as a run in progress holds it
    log = tmp_path / "track.log"
    try:
        code, output = track(root, "--log-format", "json", "--log-file", str(log))
    finally:
        os.close(held)
    assert code == 2 and "in use by another ota process" in output
    assert (root / ".ota" / "status.json").read_text("utf-8") == before
    events = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    assert events[0]["message"].startswith("run started")
    last = events[-1]
    assert last["level"] == "ERROR" and last["message"].startswith("the run could not run: ")
    assert "in use by another ota process" in last["message"]


def test_a_scheduled_run_delivers_like_ota_track(httpserver: HTTPServer, tmp_path: Path) -> None:
    """The scheduler notes when it started, and each scheduled run writes the status file."""
    root = collection(tmp_path)
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    terms = {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    write_service(root, "Example", terms)
    settings = load_settings(root / "ota.toml", environ=dict(os.environ))  # the suite allows 127.0.0.1

    scheduler_started(settings, "0 * * * *")
    run_once(settings, (), ())

    current = read_status(root / ".ota" / "status.json")
    assert current is not None
    assert current["scheduler"]["schedule"] == "0 * * * *"
    assert current["last_run"]["outcome"] == "ok" and current["changes"][0]["status"] == "first"


def test_json_summary_is_for_one_run(tmp_path: Path) -> None:
    """--json-summary with --schedule: one line saying to read the status file, exit 2."""
    code, output = track(collection(tmp_path), "--schedule", "--json-summary", str(tmp_path / "run.json"))
    assert code == 2 and "with --schedule, read the status file" in output
