"""Failure reports, Open Terms Archive's way: one issue per terms that is not tracked anymore.

On the declarations repository (`[report] repository`), with a token from the environment:

- a terms that fails (for `[report] after_failures` runs in a row) gets an issue titled
  `` `SERVICE_ID` ‧ `TERMS TYPE` ‧ not tracked anymore `` with labels chosen from the error text
  (OTA's labels, created on the repository when missing) and a body saying what failed, the
  URLs, the selectors, and links to the declaration, the latest version and snapshot;
- an issue already open for it is left alone when its labels say the same, else relabelled with
  the new description as a comment; a closed one is reopened (never a second issue);
- a terms tracked again gets a "Tracking resumed" comment on its open issue, which is closed.

Only positive evidence acts: a terms this run did not try is left as it is, so a run can be
synchronised again safely, and what a rate limit stopped is done at the next run. Failures of
ota itself (a bug, a repository it cannot write) are not the declaration's fault: no issue.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

from ota.declarations import RangeSelector, Selector, Terms
from ota.fetch.proxy import bypasses_proxy, proxies_of
from ota.outcome import Outcome, Report, Stage
from ota.report.forge import FORGES, Forge, ForgeError, ForgeUnavailable, Issue, RateLimited
from ota.report.links import snapshot_url, viewer_url
from ota.report.summary import error_text
from ota.settings import Settings

log = logging.getLogger("ota.report.issues")

#: Labels are OTA's, so a collection keeps its labels when it changes engines: name → (colour,
#: description). OTA marks the labels it manages with this suffix in their description.
MANAGED_MARKER = "- Auto-managed by OTA engine"
NEEDS_INTERVENTION = "⚠ needs intervention"
UNKNOWN_FAILURE = "failed for an unknown reason"
LABELS: dict[str, tuple[str, str]] = {
    "domain lookup failed": ("FFFFFF", "Fetching failed because the domain temporarily failed to resolve"),
    "domain resolution failed": ("FFFFFF", "Fetching failed because the domain fails to resolve on DNS"),
    "document load timed out": ("FFFFFF", "Fetching failed with a timeout error"),
    "document not found": ("FFFFFF", "Fetch location is outdated"),
    "document structure changed": ("FFFFFF", "Selectors do not match any content in the document"),
    "document was empty": ("FFFFFF", "Fetching failed because the server returns an empty content"),
    "received empty response": ("FFFFFF", "Fetching failed because server returned an empty response"),
    "document access forbidden": ("FFFFFF", "Fetching failed with a 403 (forbidden) HTTP code"),
    "access limit exceeded": ("FFFFFF", "Fetching failed with a 429 (too many requests) HTTP code"),
    "server errored": ("FFFFFF", "Fetching failed with a 500 (internal server error) HTTP code"),
    "upstream server errored": ("FFFFFF", "Fetching failed with a 502 (bad gateway) HTTP code"),
    "server was unavailable": ("FFFFFF", "Fetching failed with a 503 (service unavailable) HTTP code"),
    "invalid selector": ("FFFFFF", "Some selectors cannot be understood by the engine"),
    "certificate expired": ("FFFFFF", "Fetching failed because the domain SSL certificate has expired"),
    "certificate was invalid": (
        "FFFFFF",
        "Fetching failed because the SSL certificate failed to verify",
    ),
    "redirected too many times": ("FFFFFF", "Fetching failed because of too many redirects"),
    UNKNOWN_FAILURE: ("FFFFFF", "Fetching failed for an undetermined reason that needs investigation"),
    NEEDS_INTERVENTION: ("FDD42A", "Requires contributors intervention to restore tracking"),
}
#: Text in the error → its labels; the first match wins (OTA's table, plus the codes ota reports
#: where Node reports a sentence: CERT_HAS_EXPIRED for "certificate has expired"…).
_LABELS_BY_TEXT: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("has no match",), ("document structure changed", NEEDS_INTERVENTION)),
    (("HTTP code 404",), ("document not found", NEEDS_INTERVENTION)),
    (("HTTP code 403",), ("document access forbidden",)),
    (("HTTP code 429",), ("access limit exceeded",)),
    (("HTTP code 500",), ("server errored",)),
    (("HTTP code 502",), ("upstream server errored",)),
    (("HTTP code 503",), ("server was unavailable",)),
    (("Timed out after",), ("document load timed out",)),
    (("EAI_AGAIN",), ("domain lookup failed",)),
    (("ENOTFOUND",), ("domain resolution failed",)),
    (("Response is empty",), ("received empty response",)),
    (
        (
            "unable to verify the first certificate",
            "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
            "UNABLE_TO_GET_ISSUER_CERT",
            "SELF_SIGNED_CERT",
            "ERR_TLS_CERT_ALTNAME_INVALID",
            "CERT_NOT_YET_VALID",
        ),
        ("certificate was invalid",),
    ),
    (("certificate has expired", "CERT_HAS_EXPIRED"), ("certificate expired",)),
    (("maximum redirect reached",), ("redirected too many times",)),
    (("not a valid selector", "not a valid CSS selector"), ("invalid selector", NEEDS_INTERVENTION)),
    (("empty content",), ("document was empty",)),
)
#: Beyond this many terms without an open issue, closed issues are listed once instead of searched
#: for one by one (GitHub allows 30 searches a minute).
MAX_SEARCHES = 10
#: Stages whose failures are ota's or its machine's, not the declaration's.
_NOT_REPORTED = {Stage.INTERNAL, Stage.RECORD}


def issue_title(service_id: str, terms_type: str) -> str:
    """OTA's title, which identifies a terms' issue: `` `Foo` ‧ `Privacy Policy` ‧ not tracked anymore ``."""
    return f"`{service_id}` ‧ `{terms_type}` ‧ not tracked anymore"


def labels_for(errors: Iterable[str]) -> list[str]:
    """The labels for a failure, chosen from its error messages as OTA chooses them."""
    text = "\n".join(errors)
    for needles, labels in _LABELS_BY_TEXT:
        if any(needle in text for needle in needles):
            return list(labels)
    return [UNKNOWN_FAILURE]


@dataclass
class SyncResult:
    """What a synchronisation did (issue URLs), and what it could not do."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def make_forge(settings: Settings) -> Forge | None:
    """The forge failure reports go to, or None when they are off (no repository or no token)."""
    report = settings.report
    if not report.repository:
        return None
    if not report.token:
        names = f"OTA_ENGINE_{report.kind.upper()}_TOKEN or {report.kind.upper()}_TOKEN"
        log.warning("failure reports are off: [report] repository is set but %s is not", names)
        return None
    forge = FORGES[report.kind]
    api_url = report.api_url or forge.default_api
    return forge(
        report.repository,
        report.token,
        api_url=api_url,
        base_url=report.base_url,
        timeout=report.timeout,
        proxy=_proxy_for(api_url, settings),
        verify=_verify(settings),
    )


def _proxy_for(url: str, settings: Settings) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, ALL_PROXY, NO_PROXY), as for fetching."""
    proxies = proxies_of(settings.fetch.proxy_environment)
    parts = urlsplit(url)
    if bypasses_proxy(parts.hostname or "", proxies.get("no", "")):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    """The certificate authorities of SSL_CERT_FILE / SSL_CERT_DIR when set, else the default ones."""
    if settings.fetch.ca_file is None and settings.fetch.ca_dir is None:
        return True
    return ssl.create_default_context(
        cafile=str(settings.fetch.ca_file) if settings.fetch.ca_file else None,
        capath=str(settings.fetch.ca_dir) if settings.fetch.ca_dir else None,
    )


def report_issues(
    report: Report,
    settings: Settings,
    forge: Forge,
    *,
    failing_runs: Mapping[tuple[str, str], int] | None = None,
    failing_since: Mapping[tuple[str, str], str] | None = None,
    now: datetime,
) -> SyncResult:
    """Open, update and close issues on `forge` from this run's outcomes; never raises ForgeError.

    `failing_runs` gives the number of runs in a row each terms has failed (1 when absent), so
    that issues open after `[report] after_failures` runs; `failing_since` when it started failing.
    """
    result = SyncResult()
    failing_runs, failing_since = failing_runs or {}, failing_since or {}
    to_report = [
        outcome
        for outcome in report.outcomes
        if outcome.status == "failed"
        and outcome.stage not in _NOT_REPORTED
        and failing_runs.get((outcome.service_id, outcome.terms_type), 1) >= settings.report.after_failures
    ]
    tracked = [outcome for outcome in report.outcomes if outcome.tracked]
    try:
        open_issues = forge.open_issues()
        if to_report:
            _ensure_labels(forge)
        unknown = [o for o in to_report if issue_title(o.service_id, o.terms_type) not in open_issues]
        closed = forge.issues("closed") if len(unknown) > MAX_SEARCHES else None
        for outcome in sorted(to_report, key=lambda o: (o.service_id, o.terms_type)):
            key = (outcome.service_id, outcome.terms_type)
            since = failing_since.get(key) or now.strftime("%Y-%m-%dT%H:%M:%SZ")
            body = issue_body(outcome, settings, forge, since=since, runs=failing_runs.get(key, 1))
            _step(result, partial(_report_failure, forge, open_issues, closed, outcome, body, result))
        for outcome in sorted(tracked, key=lambda o: (o.service_id, o.terms_type)):
            issue = open_issues.get(issue_title(outcome.service_id, outcome.terms_type))
            if issue is not None:
                _step(result, partial(_close, forge, issue, now, result))
    except (RateLimited, ForgeUnavailable) as error:
        log.warning("failure reports stopped for this run (the rest is done at the next run): %s", error)
        result.errors.append(str(error))
    except ForgeError as error:
        log.warning("failure reports: %s", error)
        result.errors.append(str(error))
    return result


def _step(result: SyncResult, action: Callable[[], None]) -> None:
    """Run one issue's action; a forge error of that issue is logged, and the others go on."""
    try:
        action()
    except (RateLimited, ForgeUnavailable):
        raise
    except ForgeError as error:
        log.warning("failure reports: %s", error)
        result.errors.append(str(error))


def _ensure_labels(forge: Forge) -> None:
    existing = forge.label_names()
    missing = [name for name in LABELS if name not in existing]
    if missing:
        log.info("creating the labels missing on %s: %s", forge.repository, ", ".join(missing))
    for name in missing:
        color, description = LABELS[name]
        forge.create_label(name, color, f"{description} {MANAGED_MARKER}")


def _report_failure(
    forge: Forge,
    open_issues: dict[str, Issue],
    closed: dict[str, Issue] | None,
    outcome: Outcome,
    body: str,
    result: SyncResult,
) -> None:
    """Open, reopen or relabel the terms' issue; `closed` is the closed issues when listed."""
    title = issue_title(outcome.service_id, outcome.terms_type)
    labels = labels_for(error_text(error, outcome.stage) for error in outcome.errors)
    issue = open_issues.get(title)
    if issue is None:
        issue = closed.get(title) if closed is not None else forge.find_closed(title)
    if issue is None:
        created = forge.create_issue(title, body, labels)
        open_issues[title] = created
        log.info("opened %s: %s", created.url, title)
        result.created.append(created.url)
        return
    managed = {label for label in issue.labels if label in LABELS}
    if issue.state == "open" and managed == set(labels):
        return  # the same failure, already reported
    kept = [label for label in issue.labels if label not in LABELS]  # contributors' own labels
    updated = forge.update(issue, state="open", labels=[*labels, *kept])
    forge.comment(updated, body)
    open_issues[title] = updated
    log.info("%s %s: %s", "reopened" if issue.state != "open" else "updated", updated.url, title)
    result.updated.append(updated.url)


def _close(forge: Forge, issue: Issue, now: datetime, result: SyncResult) -> None:
    forge.comment(issue, resumed_comment(now))
    forge.update(issue, state="closed")
    log.info("closed %s: tracking resumed", issue.url)
    result.closed.append(issue.url)


def resumed_comment(moment: datetime) -> str:
    """The comment closing an issue when its terms is tracked again."""
    return f"### Tracking resumed\n\nThese terms have been tracked successfully since {_date(moment)}."


def issue_body(outcome: Outcome, settings: Settings, forge: Forge, *, since: str, runs: int) -> str:
    """What a contributor needs to fix the terms: what failed, where, with which selectors, links."""
    service_id, terms_type = outcome.service_id, outcome.terms_type
    terms = outcome.terms
    documents = terms.documents if terms is not None else ()
    several = len(documents) > 1
    recorded = bool(outcome.snapshots)
    started = datetime.fromisoformat(since.replace("Z", "+00:00"))
    lines = [
        f"### No version of the `{terms_type}` of service `{service_id}` is recorded anymore",
        "",
        f"Tracking these terms has failed since {_date(started)}"
        + (f" ({runs} runs in a row)." if runs > 1 else "."),
        "",
    ]
    if recorded:
        lines += [
            f"The source document{'s were' if several else ' was'} fetched and recorded as "
            f"{'snapshots' if several else 'a snapshot'}, but no version could be extracted. "
            "Once the declaration is fixed, the missed versions can still be recovered from "
            "the snapshots.",
            "",
        ]
    elif outcome.stage is Stage.FETCH:
        lines += ["The source document could not be fetched, so nothing was recorded.", ""]
    lines += ["### What went wrong", ""]
    for error in outcome.errors:
        lines += [f"{outcome.stage or 'internal'}:", "```", error_text(error, outcome.stage), "```", ""]
    if documents:
        lines += ["### Source documents", "", "Check that each one opens in a web browser:", ""]
        for document in documents:
            lines.append(f"- [ ] <{document.location}>")
            if document.select:
                lines.append(f"  - `select`: {_selectors(document.select)}")
            if document.remove:
                lines.append(f"  - `remove`: {_selectors(document.remove)}")
            if document.execute_client_scripts is not None:
                lines.append(f"  - `executeClientScripts`: {str(document.execute_client_scripts).lower()}")
        lines.append("")
    lines += _how_to_resume(outcome, terms)
    lines += ["### References", ""]
    declaration = forge.file_url(settings.report.repository, f"declarations/{service_id}.json")
    lines.append(f"- [Declaration]({declaration})")
    viewer = viewer_url(settings.serve.public_url, service_id, terms_type)
    if viewer:
        lines.append(f"- [These terms in the archive]({viewer})")
    if settings.report.versions_repository:
        version = forge.file_url(settings.report.versions_repository, f"{service_id}/{terms_type}.md")
        lines.append(f"- [Latest version]({version})")
    for snapshot in outcome.snapshots:
        link = snapshot_url(settings.recorder.snapshot_link_template, snapshot.commit_id)
        if link is None and settings.report.snapshots_repository:
            link = forge.file_url(settings.report.snapshots_repository, snapshot.path)
        if link:
            lines.append(f"- [Latest snapshot: {snapshot.path}]({link})")
    return "\n".join(lines) + "\n"


def _how_to_resume(outcome: Outcome, terms: Terms | None) -> list[str]:
    lines = ["### How to resume tracking", ""]
    if outcome.stage is Stage.DECLARATION:
        return [*lines, "Fix the declaration as the error above says.", ""]
    selectors = "- If the pages open in a browser: update the selectors"
    if terms is not None and not any(d.execute_client_scripts for d in terms.documents):
        selectors += ", or set `executeClientScripts: true` if the text appears only once scripts ran"
    return [
        *lines,
        f"{selectors}.",
        "- If the pages moved: update their URL (`fetch`).",
        "- If these terms were removed, or the service closed: move the entry to the service's "
        "history file (`declarations/SERVICE_ID.history.json`) with the date of this report as "
        "its `validUntil`.",
        "- If the pages open in a browser but never from the tracking server, the service may be "
        "blocking robots: changing the declaration will not help; tell the collection's "
        "administrators.",
        "",
    ]


def _selectors(selectors: tuple[Selector, ...]) -> str:
    return ", ".join(f"`{s.as_json() if isinstance(s, RangeSelector) else s}`" for s in selectors)


def _date(moment: datetime) -> str:
    return moment.strftime("%-d %B %Y at %H:%M UTC")
