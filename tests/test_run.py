"""One tracking run as `ota track` and the scheduler make it (`ota.tracking.launch`): every date it records
given by its clock, its errors handled alike for both callers, and the signals that stop it."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.errors import SettingsError
from ota.schedule import run_once
from ota.settings import load_settings
from ota.tracking.launch import Selection, stop_on_signals, track_once
from ota.tracking.run import StopRequest

PAGE = "<html><body><main><p>You agree to {clause}.</p></main></body></html>"


def collection(root: Path, server: HTTPServer, clause: str = "the rules") -> Path:
    """One service with one terms, served by `server`; its ota.toml."""
    server.clear()
    server.expect_request("/terms").respond_with_data(PAGE.format(clause=clause), content_type="text/html")
    if not (root / "declarations").exists():
        (root / "declarations").mkdir(parents=True)
        terms = {"Terms of Service": {"fetch": server.url_for("/terms"), "select": "main"}}
        (root / "declarations" / "Example.json").write_text(json.dumps({"name": "Example", "terms": terms}))
        (root / "ota.toml").write_text("[track]\nextract_workers = 0\n", "utf-8")
    return root / "ota.toml"


def dates(repo: Path) -> list[str]:
    """Each commit's author and committer dates, newest first."""
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%aI %cI"], check=True, capture_output=True, text=True
    )
    return log.stdout.split()


def test_every_date_a_run_records_is_its_clocks(httpserver: HTTPServer, tmp_path: Path) -> None:
    """Two runs given instants a day apart, in the past: their snapshot and version commits and the
    status file carry those instants, not the time they ran at."""
    first, second = datetime(2024, 3, 1, 8, 0, tzinfo=UTC), datetime(2024, 3, 2, 8, 0, tzinfo=UTC)
    config = collection(tmp_path, httpserver)
    result = track_once(load_settings(config), now=first)
    assert result.exit_code == 0 and result.report is not None and result.report.versions("first") == 1
    collection(tmp_path, httpserver, "new rules")
    result = track_once(load_settings(config), now=second)
    assert result.exit_code == 0 and result.report is not None and result.report.versions("change") == 1

    days = ["2024-03-02T08:00:00Z"] * 2 + ["2024-03-01T08:00:00Z"] * 2
    for repo in ("snapshots", "versions"):
        assert [d.replace("+00:00", "Z") for d in dates(tmp_path / repo)] == days
    status = json.loads((tmp_path / ".ota" / "status.json").read_text("utf-8"))
    assert status["last_run"]["started"] == status["last_run"]["finished"] == "2024-03-02T08:00:00Z"


def test_a_run_that_cannot_run_is_one_error_for_both_callers(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown service: the run records nothing, returns the error with exit code 2, and the
    status file says the run failed; the scheduler's run logs the same error and goes on."""
    settings = load_settings(collection(tmp_path, httpserver))
    result = track_once(settings, Selection(services=("Nope",)))
    assert result.report is None and isinstance(result.error, SettingsError) and result.exit_code == 2
    assert "Nope" in str(result.error)
    assert not (tmp_path / "versions").exists() and not (tmp_path / "snapshots").exists()
    status = json.loads((tmp_path / ".ota" / "status.json").read_text("utf-8"))
    assert status["last_run"]["outcome"] == "error" and "Nope" in status["last_run"]["error"]

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ota.tracking.run"):
        run_once(settings, ("Nope",), ())  # returns: the schedule goes on
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert errors == [f"the run could not run: {result.error}"]


def test_a_first_signal_asks_to_stop_a_second_exits_at_once() -> None:
    """Inside `stop_on_signals`, SIGTERM requests the stop (naming it); SIGINT then exits with 130;
    outside, the previous handlers are back."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with stop_on_signals(StopRequest()) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5) and stop.reason == "SIGTERM"
        with pytest.raises(SystemExit) as exited:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # never reached: the handler runs in this (the main) thread, at once
    assert exited.value.code == 130
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_bug_of_ota_in_a_run_is_one_line_and_exit_2(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug during the run (here an exception injected in place of the run): `ota track` says it in
    one line and exits 2, the log keeps its traceback; no traceback reaches the user."""
    import ota.tracking.launch

    async def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(ota.tracking.launch, "run_tracking", broken)
    config = collection(tmp_path, httpserver)
    log = tmp_path / "ota.log"
    result = CliRunner().invoke(
        app, ["track", "--config", str(config), "--no-progress", "--log-file", str(log)]
    )
    assert result.exit_code == 2, result.output
    assert result.output == (
        "ota: a bug of ota stopped the run (ZeroDivisionError: injected); the log has its traceback\n"
    )
    logged = log.read_text("utf-8")
    assert "the run failed with an error of ota" in logged and "Traceback" in logged
