"""Failure reports: one issue per terms not tracked anymore, on a local GitHub-like and GitLab-like
forge; labels from the error text, never two issues, closed when tracking resumes, and forge
errors or rate limits never fatal."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ota.declarations import SourceDocument, Terms
from ota.errors import ExtractError, FetchError, RecordError
from ota.outcome import Outcome, Recorded, Report, Stage
from ota.report.forge import FORGES, Forge
from ota.report.issues import (
    LABELS,
    MANAGED_MARKER,
    MAX_SEARCHES,
    NEEDS_INTERVENTION,
    UNKNOWN_FAILURE,
    issue_title,
    labels_for,
    make_forge,
    report_issues,
)
from ota.settings import ReportSettings, ServeSettings, Settings
from tests.forge_server import REPOSITORY, TOKEN, FakeForge, forge_fixture  # noqa: F401  (a fixture)
from tests.test_dropin import PAGE, collection, write_service
from tests.test_track import track

NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
URL = "https://example.com/terms"
TERMS = Terms("Example", "Terms of Service", (SourceDocument(URL, select=("main",), remove=(".ads",)),))
TITLE = issue_title("Example", "Terms of Service")


def settings_for(forge: FakeForge, **report: object) -> Settings:
    tokens = {f"{forge.kind}_token": TOKEN}
    return Settings(
        serve=ServeSettings(public_url="https://archive.example.org"),
        report=ReportSettings(
            repository=REPOSITORY,
            forge=forge.kind,
            api_url=forge.api_url,
            versions_repository="collection/versions",
            **tokens,  # type: ignore[arg-type]
            **report,  # type: ignore[arg-type]
        ),
    )


def failed(error: Exception, stage: Stage = Stage.FETCH, terms: Terms = TERMS) -> Outcome:
    return Outcome.failure(terms, stage, error)


def not_found() -> Outcome:
    return failed(FetchError(URL, f"Received HTTP code 404 when trying to fetch '{URL}'", status=404))


def no_match() -> Outcome:
    snapshot = Recorded("unchanged", "a" * 40, "Example/Terms of Service.html", NOW)
    error = ExtractError(f"The provided selector \"main\" has no match in the web page at '{URL}'")
    return Outcome.failure(TERMS, Stage.EXTRACT, error, [snapshot])


def run(*outcomes: Outcome) -> Report:
    return Report(outcomes=list(outcomes))


def sync(forge: FakeForge, report: Report, **options: object) -> object:
    settings = settings_for(forge)
    made = make_forge(settings)
    assert made is not None
    with made:
        return report_issues(report, settings, made, now=NOW, **options)  # type: ignore[arg-type]


def test_a_failing_terms_gets_one_issue_with_otas_title_labels_and_a_body_to_act_on(
    forge: FakeForge,
) -> None:
    """The first failure opens an issue (labels created first); the same failure again does nothing."""
    sync(forge, run(not_found()))
    [issue] = forge.titled("`Example` ‧ `Terms of Service` ‧ not tracked anymore")
    assert issue.labels == ["document not found", NEEDS_INTERVENTION]
    assert set(forge.labels) == set(LABELS)
    assert all(label["description"].endswith(MANAGED_MARKER) for label in forge.labels.values())
    assert f"Received HTTP code 404 when trying to fetch '{URL}'" in issue.body
    assert f"- [ ] <{URL}>" in issue.body and "`select`: `main`" in issue.body and "`.ads`" in issue.body
    assert "declarations/Example.json" in issue.body
    assert "https://archive.example.org/services/Example/Terms%20of%20Service" in issue.body
    assert "collection/versions" in issue.body and "Example/Terms%20of%20Service.md" in issue.body
    requests_before = len(forge.requests)

    sync(forge, run(not_found()))

    assert len(forge.issues) == 1 and issue.comments == []
    writes = [r for r in forge.requests[requests_before:] if r[0] != "GET"]
    assert writes == []  # labels exist, the issue says the same: nothing to write


def test_another_failure_relabels_the_issue_keeps_its_own_labels_and_comments(forge: FakeForge) -> None:
    """When the reason changes, OTA's labels are replaced, contributors' are kept, the body is a comment."""
    issue = forge.add_issue(TITLE, labels=("document not found", NEEDS_INTERVENTION, "help wanted"))
    sync(forge, run(no_match()))
    assert len(forge.issues) == 1
    assert issue.labels == ["document structure changed", NEEDS_INTERVENTION, "help wanted"]
    [comment] = issue.comments
    assert "has no match" in comment and "recorded as a snapshot" in comment


def test_tracking_resumed_comments_and_closes_the_issue(forge: FakeForge) -> None:
    """A terms tracked again (even unchanged) closes its open issue with a 'Tracking resumed' comment."""
    issue = forge.add_issue(TITLE, labels=("document not found",))
    other = forge.add_issue(issue_title("Other", "Privacy Policy"))
    sync(forge, run(Outcome("Example", "Terms of Service", "unchanged", TERMS)))
    assert issue.state == "closed"
    assert issue.comments == [
        "### Tracking resumed\n\n"
        "These terms have been tracked successfully since 29 November 2026 at 12:30 UTC."
    ]
    assert other.state == "open" and other.comments == []  # not tried in this run: left alone


def test_a_closed_issue_is_reopened_never_duplicated(forge: FakeForge) -> None:
    """A terms failing again reopens its closed issue, found by searching its title."""
    forge.add_issue("`Example` ‧ `Privacy Policy` ‧ not tracked anymore", state="closed")
    issue = forge.add_issue(TITLE, state="closed", labels=("document not found",))
    sync(forge, run(not_found()))
    assert len(forge.titled(TITLE)) == 1
    assert issue.state == "open" and len(issue.comments) == 1


def test_many_open_issues_are_read_page_by_page(forge: FakeForge) -> None:
    """Open issues are listed through the pagination links: the fifth one is found, not duplicated."""
    for number in range(4):
        forge.add_issue(issue_title(f"Service{number}", "Terms of Service"))
    issue = forge.add_issue(TITLE)
    sync(forge, run(Outcome("Example", "Terms of Service", "changed", TERMS)))
    assert issue.state == "closed"
    assert sum(1 for method, path in forge.requests if method == "GET" and "/issues" in path) >= 3


def test_failures_of_ota_itself_open_no_issue(forge: FakeForge) -> None:
    """A bug of ota or a repository it cannot write is not the declaration's fault."""
    bug = failed(RuntimeError("bug"), Stage.INTERNAL)
    disk_full = failed(RecordError("/v", "disk full"), Stage.RECORD)
    sync(forge, run(bug, disk_full))
    assert forge.issues == {}


def test_issues_open_after_the_failures_in_a_row_asked_for(forge: FakeForge) -> None:
    """With after_failures = 2, the first failed run opens nothing and the second opens the issue."""
    settings = replace(settings_for(forge), report=replace(settings_for(forge).report, after_failures=2))
    made = make_forge(settings)
    assert made is not None
    key = ("Example", "Terms of Service")
    with made:
        report_issues(run(not_found()), settings, made, failing_runs={key: 1}, now=NOW)
        assert forge.issues == {}
        report_issues(run(not_found()), settings, made, failing_runs={key: 2}, now=NOW)
    assert len(forge.titled(TITLE)) == 1


def test_a_forge_error_on_one_issue_does_not_stop_the_others(
    forge: FakeForge, caplog: pytest.LogCaptureFixture
) -> None:
    """A server error creating one issue is logged; the next terms still gets its issue."""
    other = Terms("Other", "Privacy Policy", (SourceDocument(URL, select=("main",)),))
    forge.broken_titles.add(TITLE)
    with caplog.at_level(logging.WARNING, "ota.report"):
        timed_out = failed(FetchError(URL, "Timed out after 30 seconds"), terms=other)
        result = sync(forge, run(not_found(), timed_out))
    assert len(forge.titled(issue_title("Other", "Privacy Policy"))) == 1
    assert forge.titled(TITLE) == []
    assert "HTTP 500" in caplog.text and result.errors  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4102444800"}),
        (429, {"ratelimit-remaining": "0", "ratelimit-reset": "4102444800"}),
        (429, {"retry-after": "3600"}),
    ],
)
def test_a_rate_limit_stops_reporting_for_this_run_and_is_logged(
    forge: FakeForge, caplog: pytest.LogCaptureFixture, status: int, headers: dict[str, str]
) -> None:
    """A long rate limit is not waited for: reporting stops with a warning, nothing is raised."""
    forge.queued.append((status, headers))
    with caplog.at_level(logging.WARNING, "ota.report"):
        result = sync(forge, run(not_found()))
    assert forge.issues == {}
    assert "rate limited" in caplog.text and "next run" in caplog.text
    assert result.errors  # type: ignore[attr-defined]
    sync(forge, run(not_found()))  # the next run does what this one could not
    assert len(forge.titled(TITLE)) == 1


def test_a_short_retry_after_is_waited_once(forge: FakeForge) -> None:
    """`Retry-After: 2` is waited (2 s) and the request made again."""
    forge.queued.append((429, {"retry-after": "2"}))
    waits: list[float] = []
    settings = settings_for(forge)
    client: Forge = FORGES[forge.kind](
        REPOSITORY, TOKEN, api_url=forge.api_url, sleep=waits.append, now=lambda: NOW
    )
    with client:
        report_issues(run(not_found()), settings, client, now=NOW)
    assert waits == [2.0]
    assert len(forge.titled(TITLE)) == 1


def test_an_unreachable_forge_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A forge that refuses connections stops the reports for this run after one warning."""
    settings = Settings(
        report=ReportSettings(
            repository=REPOSITORY, api_url="http://127.0.0.1:9", github_token=TOKEN, timeout=2
        )
    )
    made = make_forge(settings)
    assert made is not None
    with caplog.at_level(logging.WARNING, "ota.report"), made:
        result = report_issues(run(not_found(), not_found()), settings, made, now=NOW)
    assert len(result.errors) == 1 and "127.0.0.1:9" in caplog.text


def test_without_a_token_reports_are_off_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A repository set but no token in the environment: a warning naming the variables, no forge."""
    with caplog.at_level(logging.WARNING, "ota.report"):
        assert make_forge(Settings(report=ReportSettings(repository=REPOSITORY))) is None
    assert "OTA_ENGINE_GITHUB_TOKEN or GITHUB_TOKEN" in caplog.text
    assert make_forge(Settings()) is None


@pytest.mark.parametrize(
    ("message", "labels"),
    [
        ('The provided selector "main" has no match in the web page', ["document structure changed"]),
        ("Received HTTP code 404 when trying to fetch 'u'", ["document not found"]),
        ("Received HTTP code 403 when trying to fetch 'u'", ["document access forbidden"]),
        ("Received HTTP code 429 when trying to fetch 'u'", ["access limit exceeded"]),
        ("Received HTTP code 500 when trying to fetch 'u'", ["server errored"]),
        ("Received HTTP code 502 when trying to fetch 'u'", ["upstream server errored"]),
        ("Received HTTP code 503 when trying to fetch 'u'", ["server was unavailable"]),
        ("Timed out after 30 seconds when trying to fetch 'u'", ["document load timed out"]),
        ("Network system error ENOTFOUND occurred when trying to fetch 'u'", ["domain resolution failed"]),
        ("Network system error EAI_AGAIN occurred when trying to fetch 'u'", ["domain lookup failed"]),
        ("Network system error CERT_HAS_EXPIRED occurred when trying to fetch 'u'", ["certificate expired"]),
        ("Network system error UNABLE_TO_VERIFY_LEAF_SIGNATURE occurred", ["certificate was invalid"]),
        ("maximum redirect reached at: u", ["redirected too many times"]),
        ("Received an empty content when fetching 'u'", ["document was empty"]),
        ("Response is empty when trying to fetch 'u'", ["received empty response"]),
        ("d.json: terms › T › select: 'a[' is not a valid CSS selector", ["invalid selector"]),
        ("Network system error ECONNREFUSED occurred", [UNKNOWN_FAILURE]),
    ],
)
def test_labels_are_chosen_from_the_error_text_as_ota_does(message: str, labels: list[str]) -> None:
    """Each of ota's messages (OTA's words) gets OTA's label, plus 'needs intervention' where OTA adds it."""
    assert [label for label in labels_for([message]) if label != NEEDS_INTERVENTION] == labels
    assert all(label in LABELS for label in labels_for([message]))


def test_track_opens_an_issue_and_closes_it_when_tracking_resumes(
    httpserver: HTTPServer, forge: FakeForge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: `ota track` with [report] set and a token opens the issue of a 404, then closes it."""
    root = collection(tmp_path)
    with (root / "ota.toml").open("a", encoding="utf-8") as file:
        file.write(f'[report]\nrepository = "{REPOSITORY}"\nforge = "{forge.kind}"\n')
        file.write(f'api_url = "{forge.api_url}"\n')
    monkeypatch.setenv(f"{forge.kind.upper()}_TOKEN", TOKEN)
    httpserver.expect_request("/tos").respond_with_data("gone", status=404)
    terms = {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    write_service(root, "Example", terms)

    code, output = track(root)

    assert code == 1, output
    [issue] = forge.titled(TITLE)
    assert issue.state == "open" and "document not found" in issue.labels
    httpserver.clear()
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")

    code, output = track(root)

    assert code == 0, output
    assert issue.state == "closed" and "Tracking resumed" in issue.comments[-1]


def test_the_forge_is_reached_through_the_proxy_of_the_environment(forge: FakeForge) -> None:
    """HTTP_PROXY from the settings carries the API requests (forge.invalid only resolves there)."""
    base = forge.api_url.replace(f"127.0.0.1:{forge.server.port}", "forge.invalid")
    settings = settings_for(forge)
    settings = replace(
        settings,
        report=replace(settings.report, api_url=base),
        fetch=replace(settings.fetch, proxy_environment={"HTTP_PROXY": forge.server.url_for("/")}),
    )
    made = make_forge(settings)
    assert made is not None
    with made:
        report_issues(run(not_found()), settings, made, now=NOW)
    assert len(forge.titled(TITLE)) == 1


def test_many_new_failures_list_closed_issues_once_instead_of_searching_each(forge: FakeForge) -> None:
    """Past MAX_SEARCHES terms to look up, closed issues are listed: no search, the closed one reopened."""
    closed = forge.add_issue(issue_title("Service03", "Terms of Service"), state="closed")
    outcomes = [
        failed(
            FetchError(URL, "Timed out after 30 seconds"),
            terms=Terms(f"Service{n:02d}", "Terms of Service", TERMS.documents),
        )
        for n in range(MAX_SEARCHES + 2)
    ]
    sync(forge, run(*outcomes))
    assert len(forge.issues) == MAX_SEARCHES + 2 and closed.state == "open"
    assert not any("search" in path for _, path in forge.requests)


def test_links_point_at_the_forge_the_api_belongs_to() -> None:
    """GitHub Enterprise and self-hosted GitLab: the web address is the API's host unless set."""
    from ota.report.forge import GitHub, GitLab

    assert GitHub("o/r", "t").file_url("o/r", "a b.json") == "https://github.com/o/r/blob/HEAD/a%20b.json"
    enterprise = GitHub("o/r", "t", api_url="https://git.corp.example/api/v3")
    assert enterprise.file_url("o/r", "x.json") == "https://git.corp.example/o/r/blob/HEAD/x.json"
    gitlab = GitLab("g/s/r", "t", api_url="https://gitlab.example.org/api/v4")
    assert gitlab.file_url("g/s/r", "x.json") == "https://gitlab.example.org/g/s/r/-/blob/HEAD/x.json"
    assert (
        GitLab("g/r", "t", base_url="https://web.example").file_url("g/r", "x")
        == "https://web.example/g/r/-/blob/HEAD/x"
    )


def test_secrets_never_reach_the_log_whichever_library_says_them(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: a forge whose 401 body repeats the request's Authorization header, and a mail
    channel Apprise cannot load (its own ERROR line shows the password's first and last letters):
    `ota track`'s log file holds neither the token nor any part of the password."""
    from werkzeug import Request, Response

    token = "ghp_" + "Zq8" * 12
    root = collection(tmp_path)

    def echo(request: Request) -> Response:
        body = {"message": f"Bad credentials: {request.headers.get('Authorization')}"}
        return Response(json.dumps(body), status=401, content_type="application/json")

    httpserver.expect_request("/api/repos/collection/declarations/issues").respond_with_handler(echo)
    httpserver.expect_request("/tos").respond_with_data("gone", status=404)
    with (root / "ota.toml").open("a", encoding="utf-8") as file:
        file.write(
            f'[report]\nrepository = "{REPOSITORY}"\nforge = "github"\n'
            f'api_url = "{httpserver.url_for("/api")}"\n'
        )
        file.write(
            '[notify]\nurls = ["mailto://alice:Wonderland2026@127.0.0.1:1?to=bob@example.org&smtp=127.0.0.1"]\n'
        )
        file.write('on = ["failures"]\ntimeout = 20\n')
    monkeypatch.setenv("GITHUB_TOKEN", token)
    write_service(
        root, "Example", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    log = tmp_path / "ota.log"

    code, output = track(root, "--log-file", str(log))

    assert code == 1, output
    logged = log.read_text("utf-8")
    assert (
        "HTTP 401: Bad credentials: Bearer ***" in logged or "HTTP 401: Bad credentials: token ***" in logged
    )
    assert "Could not load E-Mail URL: mailto://***@" in logged, logged
    for secret in (token, token[4:], "Wonderland2026", "W...6", ":W"):
        assert secret not in logged, logged
