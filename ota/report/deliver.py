"""What happens after each run, for the people who do not watch it: `deliver(report, settings)`.

In this order, each step on its own (one that fails is logged and the others still run):

1. publish: push the snapshots, then the versions, to `origin` (`[track] publish`), first so
   that the links of the reports below reach commits that are published;
2. the status file (`[status] file`), with the failing terms kept across runs;
3. the run's JSON summary, when a file is asked for (`ota track --json-summary FILE`);
4. failure reports as issues (`[report]`, with a forge token in the environment);
5. one notification (`[notify]`).

Logged under `ota.publish` (step 1) and `ota.report` (the others); nothing here raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ota.errors import RepositoryInUse
from ota.outcome import Report
from ota.report.issues import SyncResult, make_forge, report_issues
from ota.report.notify import NotifyResult, message, message_type, send
from ota.report.status import (
    StatusError,
    declared_in,
    error_status,
    iso,
    note_scheduler_start,
    note_scheduler_stop,
    read_status,
    run_summary,
    tracked_terms,
    updated_status,
    write_json,
)
from ota.settings import Settings
from ota.store.publish import PushResult, publish

log = logging.getLogger("ota.report")
publish_log = logging.getLogger("ota.publish")

_T = TypeVar("_T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Delivery:
    """What `deliver` did; None for a step that was off or failed (its log says which)."""

    summary: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    pushes: list[PushResult] | None = None
    issues: SyncResult | None = None
    notified: NotifyResult | None = None
    #: The steps that failed unexpectedly, by name.
    failed_steps: list[str] = field(default_factory=list)


def deliver(
    report: Report,
    settings: Settings,
    *,
    services: Iterable[str] = (),
    terms_types: Iterable[str] = (),
    json_summary: Path | None = None,
    started: datetime | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> Delivery:
    """Publish, write the status (and the JSON summary), report issues and notify, for one run.

    `services` and `terms_types` are the run's selection (empty: the whole collection);
    `started` when the run started (default: `report.seconds` before now).
    """
    delivery = Delivery()
    finished = now()
    started = started or finished - timedelta(seconds=report.seconds)
    services, terms_types = tuple(services), tuple(terms_types)

    def summarise() -> dict[str, Any]:
        return run_summary(
            report, settings, started=started, finished=finished, services=services, terms_types=terms_types
        )

    delivery.summary = _step(delivery, "summary", log, summarise)
    if delivery.summary is None:
        return delivery
    summary = delivery.summary
    if settings.track.publish:
        delivery.pushes = _step(delivery, "publish", publish_log, lambda: _publish(settings))

    def current_status() -> dict[str, Any]:
        try:
            previous = read_status(settings.status.file)
        except StatusError as error:
            log.warning("%s; a new status file replaces it", error)
            previous = None
        whole_collection = not services and not terms_types
        return updated_status(
            previous,
            summary,
            tracked=tracked_terms(report),
            declared=declared_in(settings.collection.declarations) if whole_collection else None,
            publish=_publish_status(previous, delivery.pushes, finished),
        )

    # Computed even when it cannot be written: reports and notifications need its failing terms.
    status = _step(delivery, "status", log, current_status) or {}

    def write_status() -> dict[str, Any]:
        write_json(settings.status.file, status)
        log.info("status written to %s", settings.status.file)
        return status

    if status:
        delivery.status = _step(delivery, "status", log, write_status)
    failing = {(entry["service_id"], entry["terms_type"]): entry for entry in status.get("failing", [])}
    if json_summary is not None:
        published = status.get("publish") if settings.track.publish else None
        _step(
            delivery, "json summary", log, lambda: write_json(json_summary, {**summary, "publish": published})
        )

    def issues() -> SyncResult | None:
        forge = make_forge(settings)
        if forge is None:
            return None
        with forge:
            return report_issues(
                report,
                settings,
                forge,
                failing_runs={k: e.get("runs", 1) for k, e in failing.items() if k[1] is not None},
                failing_since={k: e["since"] for k, e in failing.items() if k[1] is not None},
                now=started,
            )

    delivery.issues = _step(delivery, "issues", log, issues)
    if settings.notify.urls:
        delivery.notified = _step(delivery, "notify", log, lambda: _notify(settings, summary, failing))
    return delivery


def deliver_run_error(
    error: BaseException,
    settings: Settings,
    *,
    started: datetime,
    now: Callable[[], datetime] = _utc_now,
) -> Delivery:
    """After a run that could not run at all: the status says so, and a notification when asked.

    A run that found the repositories held by another ota process records nothing: the run in
    progress will.
    """
    delivery = Delivery()
    if isinstance(error, RepositoryInUse):
        log.info("not recorded in the status file: %s", error)
        return delivery
    finished = now()

    def write_status() -> dict[str, Any]:
        try:
            previous = read_status(settings.status.file)
        except StatusError as unreadable:
            log.warning("%s; a new status file replaces it", unreadable)
            previous = None
        status = error_status(previous, error, started=started, finished=finished)
        write_json(settings.status.file, status)
        return status

    delivery.status = _step(delivery, "status", log, write_status)
    if settings.notify.urls and {"failures", "new_failures"} & set(settings.notify.on):
        summary = {
            "outcome": "error",
            "error": str(error),
            "started": iso(started),
            "changes": [],
            "failures": [],
        }
        delivery.notified = _step(delivery, "notify", log, lambda: _notify(settings, summary, {}))
    return delivery


def scheduler_started(settings: Settings, schedule: str, now: Callable[[], datetime] = _utc_now) -> None:
    """Note in the status file that a scheduler started (health checks count from then at most)."""
    _step(Delivery(), "status", log, lambda: note_scheduler_start(settings.status.file, schedule, now()))


def scheduler_stopped(settings: Settings, reason: str | None, now: Callable[[], datetime] = _utc_now) -> None:
    """Note in the status file that the scheduler stopped (`ota status` then says so)."""
    _step(Delivery(), "status", log, lambda: note_scheduler_stop(settings.status.file, reason, now()))


def _publish(settings: Settings) -> list[PushResult]:
    results = publish(
        [("snapshots", settings.collection.snapshots), ("versions", settings.collection.versions)],
        timeout=settings.track.publish_timeout,
    )
    for result in results:
        if result.ok:
            publish_log.info("pushed %s (%s)", result.name, result.path)
        else:
            publish_log.warning("%s not pushed (the next run tries again): %s", result.name, result.error)
    return results


def _publish_status(
    previous: dict[str, Any] | None, pushes: list[PushResult] | None, finished: datetime
) -> dict[str, Any] | None:
    if pushes is None:
        return None
    before = {r["name"]: r for r in ((previous or {}).get("publish") or {}).get("repositories", [])}
    repositories = []
    for push in pushes:
        earlier = before.get(push.name)
        failing_since = None
        if not push.ok:
            failing_since = (earlier or {}).get("failing_since") or iso(finished)
        repositories.append(
            {
                "name": push.name,
                "path": str(push.path),
                "ok": push.ok,
                "error": push.error,
                "at": iso(finished),
                "failing_since": failing_since,
            }
        )
    return {"ok": all(push.ok for push in pushes), "repositories": repositories}


def _notify(
    settings: Settings, summary: dict[str, Any], failing: dict[tuple[str, str | None], dict[str, Any]]
) -> NotifyResult | None:
    new_failures = {key for key, entry in failing.items() if entry.get("runs", 1) == 1}
    composed = message(
        summary,
        settings.notify.on,
        new_failures=new_failures,
        failing_since={key: entry["since"] for key, entry in failing.items()},
        significance=settings.notify.significance,
    )
    if composed is None:
        log.info("nothing to notify")
        return None
    title, body = composed
    kind = message_type(summary, settings.notify.on, new_failures=new_failures)
    return send(settings.notify.urls, title, body, timeout=settings.notify.timeout, kind=kind)


def _step(delivery: Delivery, name: str, logger: logging.Logger, action: Callable[[], _T]) -> _T | None:
    """Run one step; an exception is logged (in one line, with its type) and gives None."""
    try:
        return action()
    except Exception as error:
        logger.error("%s failed: %s", name, error if str(error) else type(error).__name__)
        logger.debug("%s failed", name, exc_info=True)
        delivery.failed_steps.append(name)
        return None
