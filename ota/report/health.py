"""The status file read for people and health checks: `ota status` and `ota status --check`.

`check_status` says what is unhealthy (no recent run, a run that failed or could not run, pushes
failing); `status_lines` says everything in words; a scheduler the file says started is told
stopped (it noted it) or gone (its process no longer runs on this machine).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ota.report.status import host_name, parse_iso


def scheduler_gone(scheduler: Mapping[str, Any]) -> str | None:
    """Why a scheduler the status file says started no longer runs (stopped, or its process is
    gone from this machine: killed), or None when it may still run."""
    if scheduler.get("stopped"):
        reason = f" by {scheduler['reason']}" if scheduler.get("reason") else ""
        return f"stopped{reason} {_shown_time(parse_iso(scheduler['stopped']))}"
    pid = scheduler.get("pid")
    if isinstance(pid, int) and scheduler.get("host") == host_name():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"not running (its process {pid} is gone: killed?)"
        except PermissionError:  # runs as another user: it exists
            pass
    return None


def default_max_age(schedule: str, now: datetime) -> timedelta:
    """Twice the longest interval between two runs of the cron `schedule`: one missed run is fine."""
    from apscheduler.triggers.cron import CronTrigger  # only for this

    trigger = CronTrigger.from_crontab(schedule, timezone="UTC")
    fires: list[datetime] = []
    previous: datetime | None = None
    moment = now
    for _ in range(50):  # enough to see a weekly pattern of a daily schedule
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        fires.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    gaps = [later - earlier for earlier, later in itertools.pairwise(fires)]
    return 2 * max(gaps, default=timedelta(days=1))


def check_status(status: Mapping[str, Any] | None, *, now: datetime, max_age: timedelta) -> list[str]:
    """What is wrong for a health check: no recent run, or a last run that failed entirely."""
    if status is None:
        return ["no run recorded yet"]
    problems = []
    last_run = status.get("last_run")
    scheduler = status.get("scheduler")
    moments = [parse_iso(last_run["finished"])] if last_run else []
    if scheduler and not scheduler_gone(scheduler):  # one that just started has not run yet
        moments.append(parse_iso(scheduler["started"]))
    if not moments:
        return ["no run recorded yet"]
    age = now - max(moments)
    if age > max_age:
        what = f"the last run finished {ago(age)}" if last_run else "no run since the scheduler started"
        problems.append(f"{what} (more than {duration(max_age)} ago)")
    if last_run and last_run.get("outcome") == "failed" and last_run.get("error"):
        problems.append(f"the last run failed: {last_run['error']}")
    elif last_run and last_run.get("outcome") == "failed":
        counts = last_run.get("counts", {})
        problems.append(f"the last run failed entirely: {counts.get('failed', '?')} failed, none tracked")
    elif last_run and last_run.get("outcome") == "error":
        problems.append(f"the last run could not run: {last_run.get('error', '?')}")
    publish = status.get("publish") or {}
    for repository in publish.get("repositories", []):
        if not repository.get("ok", True):  # the public archive goes stale while pushes fail
            since = repository.get("failing_since") or repository.get("at")
            problems.append(
                f"{repository['name']} not pushed since {since}: the public archive is stale: "
                f"{repository.get('error', '?')}"
            )
    return problems


def duration(delta: timedelta) -> str:
    """`3 days`, `5 h`, `12 min`, `40 s`: a duration at the precision a person needs."""
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} h"
    if seconds >= 120:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def ago(delta: timedelta) -> str:
    return f"{duration(delta)} ago"


def status_lines(status: Mapping[str, Any] | None, *, now: datetime) -> list[str]:
    """The status in words, for `ota status`."""
    if status is None:
        return ["no run recorded yet"]
    lines = []
    last_run = status.get("last_run")
    if last_run:
        finished = parse_iso(last_run["finished"])
        lines.append(
            f"last run: {_shown_time(parse_iso(last_run['started']))} → {_shown_time(finished)} "
            f"({ago(now - finished)}): {last_run['outcome']}"
        )
        if last_run.get("error"):
            lines.append(f"  error: {last_run['error']}")
        counts = last_run.get("counts")
        if counts:
            lines.append(
                f"  {counts['tracked']} tracked, {counts['failed']} failed; {counts['first_records']} first "
                f"records, {counts['changes']} changes, {counts['technical_upgrades']} technical upgrades"
            )
    else:
        lines.append("no run recorded yet")
    if status.get("last_success") and status.get("last_success") != (last_run or {}).get("finished"):
        lines.append(f"last run that tracked something: {_shown_time(parse_iso(status['last_success']))}")
    scheduler = status.get("scheduler")
    if scheduler:
        started = _shown_time(parse_iso(scheduler["started"]))
        gone = scheduler_gone(scheduler)
        lines.append(
            f"scheduler: '{scheduler['schedule']}' (UTC), started {started}" + (f", {gone}" if gone else "")
        )
    changes = status.get("changes") or []
    if changes:
        lines.append(f"changed in the last run ({len(changes)}):")
        for change in changes:
            link = f" {change['url']}" if change.get("url") else ""
            lines.append(f"  {change['service_id']} › {change['terms_type']}: {change['status']}{link}")
    failing = status.get("failing") or []
    if failing:
        lines.append(f"failing ({len(failing)}):")
        for entry in failing:
            since = parse_iso(entry["since"])
            what = (
                f"{entry['service_id']} › {entry['terms_type']}"
                if entry["terms_type"]
                else entry["service_id"]
            )
            runs = entry.get("runs", 1)
            lines.append(
                f"  {what}: failing for {duration(now - since)} ({runs} run{'s' if runs != 1 else ''}, "
                f"since {_shown_time(since)}): {entry['stage']}: {entry['error']}"
            )
    publish = status.get("publish")
    if publish:
        for repository in publish.get("repositories", []):
            state = "pushed" if repository["ok"] else f"not pushed: {repository['error']}"
            lines.append(
                f"publish {repository['name']}: {state} ({_shown_time(parse_iso(repository['at']))})"
            )
    return lines


def _shown_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
