"""deliver(): each step after a run on its own; one that fails is logged and the others still run."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ota.declarations import SourceDocument, Terms
from ota.errors import FetchError
from ota.outcome import Outcome, Report, Stage
from ota.report.deliver import deliver
from ota.settings import CollectionSettings, NotifySettings, Settings, StatusSettings

URL = "https://example.com/privacy"


def failing_run() -> Report:
    terms = Terms("Example", "Privacy Policy", (SourceDocument(URL, select=("main",)),))
    error = FetchError(URL, f"Received HTTP code 404 when trying to fetch '{URL}'", status=404)
    return Report(outcomes=[Outcome.failure(terms, Stage.FETCH, error)], seconds=1.0)


def test_a_status_file_that_cannot_be_written_does_not_stop_the_notification(
    httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The status is still computed (the failure is new), the write error is logged in one line,
    and the notification of new failures is sent."""
    (tmp_path / "not-a-folder").write_text("")
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings = Settings(
        collection=CollectionSettings(declarations=tmp_path / "declarations"),
        status=StatusSettings(file=tmp_path / "not-a-folder" / "status.json"),
        notify=NotifySettings(urls=(f"json://127.0.0.1:{httpserver.port}/hook",), on=("new_failures",)),
    )
    with caplog.at_level(logging.WARNING, "ota.report"):
        delivery = deliver(failing_run(), settings)
    assert delivery.status is None and delivery.failed_steps == ["status"]
    assert "status failed: " in caplog.text and "cannot be written" in caplog.text
    [(request, _)] = httpserver.log
    message = json.loads(request.data)
    assert message["title"] == "ota: 1 started failing"
    assert "Example › Privacy Policy: Received HTTP code 404" in message["message"]


def test_a_json_summary_that_cannot_be_written_leaves_the_status_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """--json-summary naming a folder: logged; the status file is written all the same."""
    settings = replace(Settings(), status=StatusSettings(file=tmp_path / "state" / "status.json"))
    (tmp_path / "summary.json").mkdir()
    with caplog.at_level(logging.WARNING, "ota.report"):
        delivery = deliver(failing_run(), settings, json_summary=tmp_path / "summary.json")
    assert delivery.failed_steps == ["json summary"] and "json summary failed" in caplog.text
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state", "summary.json"]  # no leftover
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert status["failing"][0]["service_id"] == "Example"


def test_the_status_file_is_readable_by_others(tmp_path: Path) -> None:
    """Health checks and monitoring may run as another user: the file is 0644, not a temporary's 0600."""
    settings = replace(Settings(), status=StatusSettings(file=tmp_path / "status.json"))
    deliver(failing_run(), settings)
    assert (tmp_path / "status.json").stat().st_mode & 0o777 == 0o644
