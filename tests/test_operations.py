"""Running unattended: JSON logs, a summary naming every terms, Ctrl-C and SIGTERM ending a run
cleanly, and `--schedule` (a run at start, never two at once, stopped by SIGTERM)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.test_status import status
from tests.test_track import commit_count, git, track

ROOT = Path(__file__).resolve().parent.parent
PAGE = "<html><body><main><p>Rule {}.</p></main></body></html>"


def serve(server: HTTPServer, *, delay: float = 0.0) -> None:
    """The pages of `collection`, each answered after `delay` seconds, and /gone, a 404."""
    import re

    def page(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        time.sleep(delay)
        return Response(PAGE.format(request.path), content_type="text/html")

    server.expect_request(re.compile(r"/p/\d+")).respond_with_handler(page)
    server.expect_request("/gone").respond_with_data("Not found", status=404)


def collection(root: Path, server: HTTPServer, count: int, *, delay: float = 0.0) -> Path:
    """`count` services of one terms each, served (after `delay` seconds) by `server`."""
    serve(server, delay=delay)
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    for number in range(count):
        terms = {"Terms of Service": {"fetch": server.url_for(f"/p/{number}"), "select": "main"}}
        (declarations / f"S{number:03}.json").write_text(json.dumps({"name": f"S{number}", "terms": terms}))
    gone = {"Imprint": {"fetch": server.url_for("/gone"), "select": "main"}}
    (declarations / "Gone.json").write_text(json.dumps({"name": "Gone", "terms": gone}))
    (root / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")
    return root


def events(log: Path) -> list[dict]:
    """Every line of a JSON log, parsed (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in log.read_text("utf-8").splitlines()]


def test_json_logs_have_one_event_per_line_with_time_level_service_and_terms_type(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """--log-format json: a dated start and end, one event per terms that changed or failed (at
    WARNING, with its URL and HTTP status); the summary on stdout names every terms."""
    root = collection(tmp_path, httpserver, 3)
    code, output = track(root, "--log-format", "json")
    assert code == 1, output

    logged = events(root / "ota.log")
    assert all({"time", "level", "logger", "message"} <= event.keys() for event in logged)
    assert logged[0]["message"] == "run started (the whole collection)" and logged[0]["time"].endswith("Z")
    firsts = [event for event in logged if event.get("status") == "first"]
    assert sorted(event["service"] for event in firsts) == ["S000", "S001", "S002"]
    assert all(event["level"] == "INFO" and event["terms_type"] == "Terms of Service" for event in firsts)
    (failure,) = [event for event in logged if event.get("status") == "failed"]
    assert failure["level"] == "WARNING" and failure["service"] == "Gone" and failure["stage"] == "fetch"
    assert failure["url"] == httpserver.url_for("/gone") and failure["http_status"] == 404
    (end,) = [event for event in logged if event["message"].startswith("run finished in ")]
    assert end["logger"] == "ota.tracking.run" and end["counts"]["first"] == 3

    lines = output.splitlines()
    assert lines[0].startswith("3 terms tracked in ")
    assert [line.split(" (")[0] for line in lines[1:4]] == [
        "first record: S000 › Terms of Service",
        "first record: S001 › Terms of Service",
        "first record: S002 › Terms of Service",
    ]
    assert lines[-1].startswith("failed: Gone › Imprint: Received HTTP code 404")


def _ota(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ota.cli",
            "track",
            "--config",
            str(root / "ota.toml"),
            "--no-progress",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _wait_for(condition, seconds: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_sigterm_ends_a_run_cleanly_and_says_what_was_done(httpserver: HTTPServer, tmp_path: Path) -> None:
    """SIGTERM in the middle of a run: no more terms start, those in progress are abandoned, what
    was recorded is published (sound repositories), the log says so, and the exit code is 143."""
    root = collection(tmp_path, httpserver, 60, delay=0.2)
    (root / "ota.toml").write_text("[track]\nextract_workers = 1\n[fetch]\nper_host = 2\n", "utf-8")
    process = _ota(root, "--log-file", str(root / "ota.log"), "--log-format", "json")
    log = root / "ota.log"
    assert _wait_for(
        lambda: (
            log.exists() and sum('"status": "first"' in line for line in log.read_text().splitlines()) >= 4
        )
    )
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 143, output
    assert "interrupted by SIGTERM" in output.splitlines()[0]
    (end,) = [
        event for event in events(log) if event["message"].startswith("run interrupted by SIGTERM after ")
    ]
    assert end["level"] == "WARNING" and end["counts"]["first"] >= 4
    recorded = commit_count(root / "versions")
    assert 4 <= recorded < 61
    for repo in ("snapshots", "versions"):
        assert git(root / repo, "status", "--porcelain") == ""
        subprocess.run(["git", "-C", str(root / repo), "fsck", "--strict"], check=True, capture_output=True)
    # The next run completes the work; the pages need no delay any more (it kept the run going
    # until SIGTERM came).
    httpserver.clear()
    serve(httpserver)
    code, output = track(root)
    assert code == 1 and commit_count(root / "versions") == 60, output


def test_schedule_runs_at_start_never_overlaps_and_stops_on_sigterm(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """`--schedule` with a tick every second: a run starts at once, runs never overlap (each
    'run started' is followed by its 'run finished' before the next), and SIGTERM stops the
    scheduler cleanly, logged, with exit code 143."""
    root = collection(tmp_path, httpserver, 5, delay=0.3)
    (root / "ota.toml").write_text('[track]\nextract_workers = 1\nschedule = "* * * * * *"\n', "utf-8")
    log = root / "ota.log"
    process = _ota(root, "--schedule", "--log-file", str(log), "--log-format", "json")

    def finished_runs() -> int:
        return log.read_text().count("run finished in ") if log.exists() else 0

    assert _wait_for(lambda: finished_runs() >= 2), log.read_text() if log.exists() else "no log"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 143, output
    logged = [
        event["message"] for event in events(log) if event["logger"] in ("ota.tracking.run", "ota.schedule")
    ]
    assert logged[0].startswith("tracking on schedule '* * * * * *' (UTC), starting now")
    runs = [
        message.split(" ")[1]
        for message in logged
        if message.startswith(("run started", "run finished", "run interrupted"))
    ]
    assert runs[:4] == ["started", "finished", "started", "finished"]
    assert all(a != b for a, b in itertools.pairwise(runs))  # started and ended alternate: no overlap
    assert logged[-1] == "scheduler stopped by SIGTERM"
    assert not any(event["logger"].startswith("apscheduler") for event in events(log))
    code, output = status(root)  # no longer said to be started
    assert code == 0 and "(UTC), started " in output and ", stopped by SIGTERM " in output, output
