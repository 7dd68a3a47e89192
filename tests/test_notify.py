"""Notifications: one message per run through Apprise, to a local SMTP server and a local webhook;
a channel that is down or hangs is logged and never holds or fails the run."""

from __future__ import annotations

import email
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer

from ota.report.notify import MAX_LISTED, message, message_type, send
from tests.test_dropin import PAGE, collection, write_service
from tests.test_track import track

STARTED = "2026-11-29T12:30:00Z"


def change(service: str, status: str = "changed", url: str | None = None) -> dict[str, Any]:
    return {"service_id": service, "terms_type": "Terms of Service", "status": status, "url": url}


def failure(service: str, error: str = "Received HTTP code 404") -> dict[str, Any]:
    return {"service_id": service, "terms_type": "Privacy Policy", "stage": "fetch", "error": error}


def summary(changes: list[dict[str, Any]] = (), failures: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"started": STARTED, "outcome": "partial", "changes": list(changes), "failures": list(failures)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """An SMTP server on 127.0.0.1 keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# -- the message ---------------------------------------------------------------------------------------


def test_a_message_lists_the_terms_that_changed_with_their_links() -> None:
    """First records and changes, each with its viewer link; technical upgrades only when asked."""
    run = summary(
        [change("A", "first", "https://x/A/Terms%20of%20Service"), change("B"), change("C", "upgraded")]
    )
    title, body = message(run, ["changes"]) or ("", "")
    assert title == "ota: 2 terms changed"
    assert "- A › Terms of Service (first record) https://x/A/Terms%20of%20Service" in body
    assert "- B › Terms of Service (change)" in body and "C ›" not in body
    assert (
        "C › Terms of Service (technical upgrade)" in (message(run, ["changes", "upgrades"]) or ("", ""))[1]
    )


def test_a_change_links_to_the_viewers_diff_page_and_failures_are_sent_as_failures(
    httpserver: HTTPServer,
) -> None:
    run = summary([{**change("B", url="https://x/B/ToS"), "diff_url": "https://x/versions/abc/diff"}])
    assert (
        "- B › Terms of Service (change) https://x/versions/abc/diff"
        in (message(run, ["changes"]) or ("", ""))[1]
    )
    assert message_type(run, ["changes", "failures"]) == "info"
    failing = summary([change("B")], [failure("C")])
    assert message_type(failing, ["changes", "failures"]) == "failure"
    assert message_type(failing, ["changes", "new_failures"]) == "info"  # not new: not told
    assert (
        message_type(failing, ["changes", "new_failures"], new_failures={("C", "Privacy Policy")})
        == "failure"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    send([f"json://127.0.0.1:{httpserver.port}/hook"], "ota: 1 failing", "C\n", timeout=30, kind="failure")
    assert json.loads(httpserver.log[0][0].data)["type"] == "failure"


def test_nothing_asked_for_happened_sends_nothing() -> None:
    """Only upgrades and failures, with `on = ["changes"]`: no message."""
    assert message(summary([change("C", "upgraded")], [failure("D")]), ["changes"]) is None


def test_failures_are_told_when_asked_and_new_failures_only_once() -> None:
    """ "failures" tells every failing terms; "new_failures" only those that started failing now."""
    run = summary([], [failure("D"), failure("E", "Timed out after 30 seconds")])
    title, body = message(
        run, ["changes", "failures"], failing_since={("D", "Privacy Policy"): "2026-11-26"}
    ) or (
        "",
        "",
    )
    assert title == "ota: 2 failing"
    assert "- D › Privacy Policy (failing since 2026-11-26): Received HTTP code 404" in body
    assert "- E › Privacy Policy: Timed out after 30 seconds" in body
    title, body = message(run, ["new_failures"], new_failures={("E", "Privacy Policy")}) or ("", "")
    assert title == "ota: 1 started failing" and "D ›" not in body and "E ›" in body


def test_a_long_list_is_cut_and_counted() -> None:
    """A run that changed hundreds of terms sends a bounded message."""
    run = summary([change(f"S{n}") for n in range(MAX_LISTED + 7)])
    _, body = message(run, ["changes"]) or ("", "")
    assert body.count("(change)") == MAX_LISTED and "… and 7 more" in body


# -- the channels --------------------------------------------------------------------------------------


def test_an_email_reaches_a_local_smtp_server(smtp: tuple[Inbox, int]) -> None:
    """mailto:// through Apprise: the subject is the title, the body the message."""
    inbox, port = smtp
    url = f"mailto://127.0.0.1:{port}?from=ota@example.org&to=ops@example.org&mode=insecure"
    result = send([url], "ota: 1 terms changed", "- A › Terms of Service (change) https://x/A\n", timeout=30)
    assert result.failed == [] and len(result.sent) == 1
    [mail] = inbox.messages
    assert b"Subject: ota: 1 terms changed" in mail and b"https://x/A" in mail


def test_a_webhook_receives_the_message_as_json(httpserver: HTTPServer) -> None:
    """json:// posts the title and body to the receiver."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    result = send([f"json://127.0.0.1:{httpserver.port}/hook"], "ota: title", "body text\n", timeout=30)
    assert len(result.sent) == 1
    [(request, _)] = httpserver.log
    payload = json.loads(request.data)
    assert payload["title"] == "ota: title" and payload["message"] == "body text"


def test_a_channel_down_is_logged_and_the_others_are_sent(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused connection and a URL Apprise does not know fail alone; the webhook gets its message."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    urls = [
        f"json://127.0.0.1:{free_port()}/down",
        "nonsense://x",
        f"json://127.0.0.1:{httpserver.port}/hook",
    ]
    with caplog.at_level(logging.WARNING, "ota.report"):
        result = send(urls, "t", "b", timeout=30)
    assert len(result.sent) == 1 and len(result.failed) == 2
    assert "notification URL not understood by Apprise, skipped: nonsense://x" in caplog.text
    assert "/down failed: " in caplog.text and "no reason given" not in caplog.text  # Apprise's reason
    assert len(httpserver.log) == 1


def test_a_channel_that_never_answers_is_given_up_after_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    """A server that accepts and never answers: send returns after its timeout, the channel failed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.WARNING, "ota.report"):
            url = f"json://127.0.0.1:{listener.getsockname()[1]}/hook?rto=30"
            result = send([url], "t", "b", timeout=1)
        assert result.sent == [] and len(result.failed) == 1
        assert "no answer within 1 s" in caplog.text
    finally:
        for connection in accepted:
            connection.close()
        listener.close()


def test_secrets_of_a_url_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A failing channel is named in its private form: its password does not reach the logs."""
    with caplog.at_level(logging.INFO):
        send([f"json://user:hunter2secret@127.0.0.1:{free_port()}/hook"], "t", "b", timeout=30)
    assert "hunter2secret" not in caplog.text


# -- end to end ----------------------------------------------------------------------------------------


def test_track_notifies_the_changes_of_a_run_with_links_to_the_viewer(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """`ota track` with [notify] urls: one message for the run that recorded the terms, none for
    the run that changed nothing, and a link to `PUBLIC_URL/SERVICE/TERMS TYPE`."""
    root = collection(tmp_path)
    with (root / "ota.toml").open("a", encoding="utf-8") as file:
        file.write('[serve]\npublic_url = "https://archive.example.org/"\n')
        file.write(f'[notify]\nurls = ["json://127.0.0.1:{httpserver.port}/hook"]\n')
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    write_service(
        root, "Example Co", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )

    code, output = track(root)
    code_again, output_again = track(root)

    assert (code, code_again) == (0, 0), output + output_again
    hooks = [json.loads(request.data) for request, _ in httpserver.log if request.path == "/hook"]
    assert len(hooks) == 1
    assert hooks[0]["title"] == "ota: 1 terms changed"
    assert "Example Co › Terms of Service (first record)" in hooks[0]["message"]
    # A first record links to its version's page in the viewer (a change, to its diff page).
    assert "https://archive.example.org/versions/" in hooks[0]["message"]
    assert hooks[0]["type"] == "info"


def test_track_with_a_notification_channel_down_still_succeeds(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A notification that cannot be sent does not change the run's result."""
    root = collection(tmp_path)
    with (root / "ota.toml").open("a", encoding="utf-8") as file:
        file.write(f'[notify]\nurls = ["json://127.0.0.1:{free_port()}/hook"]\ntimeout = 10\n')
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    write_service(
        root, "Example", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    code, output = track(root)
    assert code == 0, output
    assert (root / "versions" / "Example" / "Terms of Service.md").exists()


def test_an_email_of_a_change_says_what_changed_by_section_and_quotes_the_words(
    httpserver: HTTPServer, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    """`ota track` then a change of the page: the e-mail of the change, through a real SMTP server,
    gives under the terms' line what changed by section and the words changed, and links to the
    viewer's diff page."""
    inbox, port = smtp
    root = collection(tmp_path)
    with (root / "ota.toml").open("a", encoding="utf-8") as file:
        file.write('[serve]\npublic_url = "https://archive.example.org/"\n')
        mail = f"mailto://127.0.0.1:{port}?from=ota@example.org&to=ops@example.org&mode=insecure"
        file.write(f'[notify]\nurls = ["{mail}"]\nsignificance = "cosmetic"\n')
    page = "<html><body><main><h1>Terms</h1><h2>1. Data</h2><p>We {verb} your data with partners.</p>"
    page += "<h2>2. Age</h2><p>You must be {age}.</p></main></body></html>"
    httpserver.expect_request("/tos").respond_with_data(
        page.format(verb="may share", age=13), content_type="text/html"
    )
    write_service(
        root, "Example Co", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    assert track(root)[0] == 0
    httpserver.clear()
    httpserver.expect_request("/tos").respond_with_data(
        page.format(verb="will never sell", age=13), content_type="text/html"
    )
    code, output = track(root)

    assert code == 0, output
    assert len(inbox.messages) == 2
    body = email.message_from_bytes(inbox.messages[1]).get_payload(decode=True).decode("utf-8")
    assert "Example Co › Terms of Service (change" in body
    lines = body.splitlines()
    at = next(k for k, line in enumerate(lines) if "Example Co › Terms of Service (change" in line)
    assert "https://archive.example.org/versions/" in lines[at] and lines[at].rstrip().endswith("/diff")
    assert lines[at + 1].strip() == "§1 reworded"
    assert lines[at + 2].strip() == "We [-may share-]{+will never sell+} your data with partners."
