"""Notifications: one message per run, through Apprise (e-mail, webhooks, chat services…).

Opt-in: `[notify] urls` (or `OTA_NOTIFY_URLS`) lists Apprise URLs, `[notify] on` what a message
tells ("changes": first records and changes; "upgrades": technical upgrades; "failures": every
terms failing; "new_failures": the terms that started failing in this run), and `[notify]
significance` which changes are worth telling (`ota.significance`; by default only substantive
ones: a cosmetic or editorial change is recorded and shown in the viewer, but not sent; a change
not classified, such as a first record, is always told). A run with nothing of that kind sends
nothing. Each channel is sent to on its own thread, all within
`[notify] timeout` seconds: a channel that is down or slow is logged, never waited for longer,
and never fails the run. URLs hold secrets: logs show them as Apprise prints them privately.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ota.extras import require
from ota.settings import NOTIFY_SIGNIFICANCE
from ota.store.publish import scrub

log = logging.getLogger("ota.report.notify")

#: Entries listed per kind in a message; the rest are counted.
MAX_LISTED = 50
TITLE_PREFIX = "ota"
_KINDS = {"first": "first record", "changed": "change", "upgraded": "technical upgrade"}


@dataclass
class NotifyResult:
    """Which channels were sent to (by their private form), and which failed and why."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def message(
    summary: Mapping[str, Any],
    on: Collection[str],
    *,
    new_failures: Collection[tuple[str, str | None]] = (),
    failing_since: Mapping[tuple[str, str | None], str] | None = None,
    significance: str = "substantive",
) -> tuple[str, str] | None:
    """The run's notification as (title, body), or None when nothing it should tell happened.

    A change less significant than `significance` (`NOTIFY_SIGNIFICANCE` order) is not told."""
    told = NOTIFY_SIGNIFICANCE[: NOTIFY_SIGNIFICANCE.index(significance) + 1]
    changes = [
        c
        for c in summary.get("changes", [])
        if (
            ("changes" in on and c["status"] in ("first", "changed"))
            or ("upgrades" in on and c["status"] == "upgraded")
        )
        and (c["status"] != "changed" or c.get("significance") in (None, *told))
    ]
    failures = _told_failures(summary, on, new_failures)
    if not changes and not failures and summary.get("outcome") != "error":
        return None
    since = failing_since or {}
    parts = []
    if changes:
        parts.append(f"{len(changes)} terms changed")
    if failures:
        parts.append(f"{len(failures)} {'started failing' if 'failures' not in on else 'failing'}")
    if summary.get("outcome") == "error":
        parts.append("the run could not run")
    title = f"{TITLE_PREFIX}: {', '.join(parts)}"
    lines: list[str] = []
    if summary.get("outcome") == "error":
        lines += [f"The run of {summary['started']} could not run: {summary.get('error', '')}", ""]
    if changes:
        lines.append(f"Changed in the run of {summary['started']}:")
        for change in changes[:MAX_LISTED]:
            url = change.get("diff_url") or change.get("url")
            link = f" {url}" if url else ""
            kind = {"first": "first record", "changed": "change", "upgraded": "technical upgrade"}
            said = kind[change["status"]]
            if change["status"] == "changed" and change.get("significance"):
                said += f", {change['significance']}" + (", minor" if change.get("minor") else "")
            lines.append(f"- {change['service_id']} › {change['terms_type']} ({said}){link}")
            # What changed by section, and the words changed (`ota.diff.sections.account`).
            lines += [f"  {change[key]}" for key in ("summary", "excerpt") if change.get(key)]
        lines += _more(len(changes))
        lines.append("")
    if failures:
        lines.append("Not tracked:")
        for failure in failures[:MAX_LISTED]:
            what = failure["service_id"] + (f" › {failure['terms_type']}" if failure["terms_type"] else "")
            started = since.get(_key(failure))
            when = f" (failing since {started})" if started and started != summary["started"] else ""
            lines.append(f"- {what}{when}: {failure['error']}")
        lines += _more(len(failures))
        lines.append("")
    return title, "\n".join(lines).rstrip() + "\n"


def message_type(
    summary: Mapping[str, Any], on: Collection[str], *, new_failures: Collection[tuple[str, str | None]] = ()
) -> str:
    """Apprise's type of the run's message: "failure" when it tells failures or a run that could
    not run (channels show it as an alert), "info" otherwise."""
    told = _told_failures(summary, on, new_failures)
    return "failure" if told or summary.get("outcome") == "error" else "info"


def _told_failures(
    summary: Mapping[str, Any], on: Collection[str], new_failures: Collection[tuple[str, str | None]]
) -> list[Mapping[str, Any]]:
    """The failures a message tells: every one, or only those that started in this run."""
    failures = list(summary.get("failures", []))
    if "failures" not in on:
        failures = [f for f in failures if "new_failures" in on and _key(f) in new_failures]
    return failures


def _key(failure: Mapping[str, Any]) -> tuple[str, str | None]:
    return failure["service_id"], failure["terms_type"]


def _more(count: int) -> list[str]:
    return [f"… and {count - MAX_LISTED} more"] if count > MAX_LISTED else []


def send(urls: Sequence[str], title: str, body: str, *, timeout: float, kind: str = "info") -> NotifyResult:
    """Send the message to every URL at once, as Apprise's `kind` (info, success, warning,
    failure); wait `timeout` seconds at most in all.

    Raises MissingExtra when apprise is not installed (`ota.tracking.run` checks it before a run)."""
    require("notify")
    import apprise  # imported when there is something to send: loading its plugins takes a second

    result = NotifyResult()
    asset = apprise.AppriseAsset(app_id="ota", app_desc="ota: terms of online services tracked")
    threads: list[tuple[str, threading.Thread, list[tuple[bool, str]]]] = []
    for url in urls:
        channel = apprise.Apprise(asset=asset)
        if not channel.add(url):
            shown = scrub(url.split("?", 1)[0])
            log.warning("notification URL not understood by Apprise, skipped: %s", shown)
            result.failed.append(shown)
            continue
        private = str(channel[0].url(privacy=True))  # type: ignore[no-untyped-call]  # untyped in Apprise
        name = private.split("?", 1)[0]  # the query is Apprise's options, noise in a log
        outcome: list[tuple[bool, str]] = []

        def deliver(channel: apprise.Apprise = channel, outcome: list[tuple[bool, str]] = outcome) -> None:
            try:
                sent = channel.notify(
                    title=title, body=body, body_format="text", notify_type=kind, timeout=timeout
                )
                reasons = [entry.message for entry in sent.logs() if entry.level in ("WARNING", "ERROR")]
                outcome.append((bool(sent), scrub("; ".join(reasons)) or "no reason given"))
            except Exception as error:  # a plugin's bug must not escape a thread unnoticed
                outcome.append((False, f"{type(error).__name__}: {error}"))

        # Daemon threads: a channel still hanging when the run ends never keeps ota alive.
        thread = threading.Thread(target=deliver, name=f"notify {name}", daemon=True)
        thread.start()
        threads.append((name, thread, outcome))
    deadline = time.monotonic() + timeout
    for name, thread, outcome in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive() or not outcome:
            log.warning("notification to %s: no answer within %g s, given up", name, timeout)
            result.failed.append(name)
        elif outcome[0][0]:
            log.info("notification sent to %s", name)
            result.sent.append(name)
        else:
            log.warning("notification to %s failed: %s", name, outcome[0][1])
            result.failed.append(name)
    return result
