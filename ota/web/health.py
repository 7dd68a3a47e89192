"""Whether each terms is still being tracked, from the status file `ota track` writes at the end of
each run (`[status] file`, `ota.report.status`): when it was last checked, what is failing since
when and why, which new pages are held back as suspect, and whether tracking has stopped (no run
for longer than `[status] max_age`, by default twice the schedule's interval).

The status file says, per run, which services and terms types were selected and which terms failed
(with the run when their failure started); a terms of the last run's selection that is not failing
was checked at the end of that run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ota.report.health import default_max_age, duration
from ota.report.status import StatusError, parse_iso, read_status
from ota.settings import Settings

#: What the stages of a failure mean to a reader.
_STAGES = {
    "fetch": "the page could not be fetched",
    "extract": "the terms could not be extracted from the page",
    "record": "the version could not be recorded",
    "declaration": "the declaration is invalid",
    "internal": "ota failed",
}


@dataclass(frozen=True)
class TermsHealth:
    """A terms' tracking: `state` is ok, failing, suspect (a new page held back), stale or unknown."""

    service_id: str
    terms_type: str
    state: str
    last_checked: datetime | None = None
    since: datetime | None = None
    last_tried: datetime | None = None
    runs: int = 0
    reason: str = ""

    @property
    def label(self) -> str:
        return {
            "ok": "tracked",
            "failing": "failing",
            "suspect": "new page held back",
            "stale": "not checked recently",
            "unknown": "no tracking status",
        }[self.state]


@dataclass(frozen=True)
class Health:
    """The status file as the viewer reads it."""

    known: bool = False
    last_run: datetime | None = None
    last_success: datetime | None = None
    max_age: timedelta = timedelta(days=1)
    stale: bool = False
    #: The terms failing or held back, by (service ID, terms type); terms type None: the whole file.
    failing: dict[tuple[str, str | None], dict[str, Any]] = field(default_factory=dict)
    selection: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    problem: str = ""

    @property
    def max_age_text(self) -> str:
        return duration(self.max_age)

    def of(self, service_id: str, terms_type: str) -> TermsHealth:
        """How the tracking of this terms goes."""
        if not self.known:
            return TermsHealth(service_id, terms_type, "unknown")
        entry = self.failing.get((service_id, terms_type)) or self.failing.get((service_id, None))
        if entry is not None:
            suspect = entry.get("stage") == "confirm"
            stage = _STAGES.get(str(entry.get("stage")), "")
            error = str(entry.get("error") or "")
            return TermsHealth(
                service_id,
                terms_type,
                "suspect" if suspect else "failing",
                since=_moment(entry.get("since")),
                last_tried=_moment(entry.get("last")),
                runs=int(entry.get("runs") or 1),
                reason=error if suspect or not stage else f"{stage}: {error}",
            )
        services, types = self.selection
        selected = (not services or service_id in services) and (not types or terms_type in types)
        checked = self.last_run if selected else None
        return TermsHealth(service_id, terms_type, "stale" if self.stale else "ok", last_checked=checked)

    def problems(self) -> list[TermsHealth]:
        """The terms failing or held back, oldest failure first."""
        found = [self.of(service_id, terms_type or "") for service_id, terms_type in self.failing]
        return sorted(
            found, key=lambda health: (health.since or datetime.max.astimezone(), health.service_id)
        )


def read_health(settings: Settings, now: datetime) -> Health:
    """The status file's content (a missing or unreadable file: `known` is False, `problem` why)."""
    try:
        status = read_status(settings.status.file)
    except StatusError as error:
        return Health(problem=str(error))
    if status is None:
        return Health(problem="no tracking run recorded yet")
    max_age = (
        timedelta(seconds=settings.status.max_age)
        if settings.status.max_age
        else default_max_age(settings.track.schedule, now)
    )
    last_run = status.get("last_run") or {}
    selection = last_run.get("selection") or {}
    failing = {
        (str(entry.get("service_id")), entry.get("terms_type")): entry
        for entry in status.get("failing") or []
        if isinstance(entry, dict)
    }
    finished = _moment(last_run.get("finished"))
    success = _moment(status.get("last_success"))
    return Health(
        known=True,
        last_run=finished,
        last_success=success,
        max_age=max_age,
        stale=success is None or now - success > max_age,
        failing=failing,
        selection=(frozenset(selection.get("services") or ()), frozenset(selection.get("terms_types") or ())),
    )


def status_mtime(path: Path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None
