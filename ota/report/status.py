"""A run as JSON (`ota track --json-summary FILE`), and the status file kept across runs.

The run summary (`run_summary`):

    {"ota_version", "started", "finished", "seconds",
     "outcome": "ok" | "partial" | "failed" (nothing tracked, something failed; or what was
                recorded could not be published: "error" then says why),
     "selection": {"services": [...], "terms_types": [...]},
     "counts": {"terms", "tracked", "failed", "first", "changed", "upgraded", "unchanged",
                "new_snapshots", "new_versions", "first_records", "changes", "technical_upgrades"},
     "changes": [{"service_id", "terms_type", "status": "first" | "changed" | "upgraded",
                  "significance": "cosmetic" | "editorial" | "substantive" | null (not a change),
                  "minor": bool,
                  "summary": "§4A added; §5 reworded; 2 links changed" | null (not a change),
                  "excerpt": "We [-may share-]{+will never sell+} your data …" | null,
                  "versions": [{"kind", "commit", "date", "significance": {…} | null}],
                  "snapshots": [commit…], "url"}],
     "failures": [{"service_id", "terms_type" (null: the whole declaration file), "stage",
                   "error", "url", "status", "errors": [{"message", "type", "url", "status"}]}],
     "warnings": [...]}

The status file (`[status] file`, default `.ota/status.json` beside ota.toml) holds the last run's
summary (`last_run`, without its change and failure lists, which are `changes` and `failing`), the
end of the last run that tracked something (`last_success`), every terms failing with the time
it started failing (`since`) and the number of runs it has failed in a row (`runs`), kept across
runs and cleared when the terms is tracked again, the last publication (`publish`) and when the
scheduler started, and when it stopped (`scheduler`). Times are UTC, ISO 8601, to the second.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ota import __version__
from ota.errors import DeclarationError, FetchError, OtaError
from ota.outcome import Report
from ota.report.links import snapshot_url, viewer_diff_url, viewer_url
from ota.report.summary import error_text
from ota.settings import Settings

FORMAT_VERSION = 1
#: Which of a terms' statuses is said when its versions are of several kinds.
_STATUS_OF = {"first": "first", "change": "changed", "upgrade": "upgraded"}


class StatusError(OtaError):
    """The status file cannot be read or written."""


def iso(moment: datetime) -> str:
    """`2026-11-29T12:30:00Z`."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """The moment an `iso` string names (timezone-aware)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- one run ------------------------------------------------------------------------------------------


def run_summary(
    report: Report,
    settings: Settings,
    *,
    started: datetime,
    finished: datetime,
    services: Iterable[str] = (),
    terms_types: Iterable[str] = (),
) -> dict[str, Any]:
    """The run as a JSON-ready value (the schema is in this module's docstring)."""
    failures = [*_declaration_failures(report.declaration_errors), *_outcome_failures(report)]
    tracked = sum(1 for outcome in report.outcomes if outcome.tracked)
    if report.fatal:  # the run could not publish what it recorded (a full disk…): never "ok"
        outcome = "failed"
    elif not failures:
        outcome = "ok"
    elif tracked == 0:
        outcome = "failed"
    else:
        outcome = "partial"
    fatal = {"error": "; ".join(str(error) for error in report.fatal)} if report.fatal else {}
    return {
        **fatal,
        "ota_version": __version__,
        "started": iso(started),
        "finished": iso(finished),
        "seconds": round(report.seconds, 3),
        "outcome": outcome,
        "selection": {"services": sorted(set(services)), "terms_types": sorted(set(terms_types))},
        "counts": {
            "terms": len(report.outcomes),
            "tracked": tracked,
            "failed": report.failed,
            "first": report.count("first"),
            "changed": report.count("changed"),
            "upgraded": report.count("upgraded"),
            "unchanged": report.count("unchanged"),
            "new_snapshots": report.new_snapshots,
            "new_versions": report.new_versions,
            "first_records": report.versions("first"),
            "changes": report.versions("change"),
            "technical_upgrades": report.versions("upgrade"),
        },
        "changes": _changes(report, settings),
        "failures": failures,
        "warnings": list(report.warnings),
    }


def _changes(report: Report, settings: Settings) -> list[dict[str, Any]]:
    changes = []
    for outcome in sorted(report.outcomes, key=lambda o: (o.service_id, o.terms_type)):
        if not outcome.versions:
            continue
        kinds = {version.kind for version in outcome.versions}
        # A technical upgrade recorded with a change is still a change of the terms.
        kind = next((k for k in ("change", "first") if k in kinds), "upgrade")
        classified = [v.significance for v in outcome.versions if v.significance is not None]
        most = None
        if classified:  # loads the diff engine, which neither `ota status` nor an unchanged run needs
            from ota.significance import LEVELS

            most = max(classified, key=lambda c: LEVELS.index(c.significance))
        told = next((v.account for v in reversed(outcome.versions) if v.account is not None), None)
        changes.append(
            {
                "service_id": outcome.service_id,
                "terms_type": outcome.terms_type,
                "status": _STATUS_OF[kind],
                "significance": most.significance if most is not None else None,
                "minor": most.minor if most is not None else False,
                "summary": told.summary if told is not None else None,
                "excerpt": told.excerpt_text if told is not None else None,
                "versions": [
                    {
                        "kind": v.kind,
                        "commit": v.commit_id,
                        "date": iso(v.date),
                        "significance": v.significance.to_dict() if v.significance is not None else None,
                    }
                    for v in outcome.versions
                ],
                "snapshots": [s.commit_id for s in outcome.snapshots if s.kind != "unchanged"],
                "url": viewer_url(settings.serve.public_url, outcome.service_id, outcome.terms_type),
                "diff_url": _diff_url(settings, outcome.versions),
                "snapshot_urls": [
                    url
                    for s in outcome.snapshots
                    if (url := snapshot_url(settings.recorder.snapshot_link_template, s.commit_id))
                ],
            }
        )
    return changes


def _diff_url(settings: Settings, versions: Iterable[Any]) -> str | None:
    """The viewer's page of what the run's last version of a terms changed."""
    recorded = list(versions)
    if not recorded:
        return None
    last = recorded[-1]
    return viewer_diff_url(settings.serve.public_url, last.commit_id, first_record=last.kind == "first")


def _outcome_failures(report: Report) -> list[dict[str, Any]]:
    failures = []
    for outcome in sorted(report.outcomes, key=lambda o: (o.service_id, o.terms_type)):
        if outcome.status not in ("failed", "suspect"):
            continue
        errors = [_error(error, outcome.stage) for error in outcome.errors]
        first = errors[0] if errors else {"message": "", "url": None, "status": None}
        failures.append(
            {
                "service_id": outcome.service_id,
                "terms_type": outcome.terms_type,
                "stage": str(outcome.stage) if outcome.stage else "internal",
                "error": first["message"],
                "url": first["url"],
                "status": first["status"],
                "errors": errors,
                "locations": [d.location for d in outcome.terms.documents] if outcome.terms else [],
                "snapshots": [s.commit_id for s in outcome.snapshots],
            }
        )
    return failures


def _error(error: Exception, stage: Any) -> dict[str, Any]:
    fetch = error if isinstance(error, FetchError) else None
    return {
        "message": error_text(error, stage),
        "type": type(error).__name__,
        "url": fetch.url if fetch else None,
        "status": fetch.status if fetch else None,
    }


def _declaration_failures(errors: Iterable[DeclarationError]) -> list[dict[str, Any]]:
    return [
        {
            "service_id": declaration_service_id(error.path),
            "terms_type": None,
            "stage": "declaration",
            "error": str(error),
            "url": None,
            "status": None,
            "errors": [{"message": str(error), "type": "DeclarationError", "url": None, "status": None}],
            "locations": [],
            "snapshots": [],
        }
        for error in errors
    ]


def declaration_service_id(path: Path) -> str:
    """The service a declaration file belongs to: `Foo.json`, `Foo.history.json`, `Foo.filters.py`."""
    name = path.name
    for suffix in (".history.json", ".filters.py", ".filters.js", ".json"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


# -- across runs --------------------------------------------------------------------------------------

Declared = Callable[[str, str | None], bool]


def updated_status(
    previous: Mapping[str, Any] | None,
    summary: Mapping[str, Any],
    *,
    tracked: Iterable[tuple[str, str]] = (),
    declared: Declared | None = None,
    publish: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The status after the run `summary` describes, from the status before it.

    A terms failing in this run keeps the `since` of its earlier failure and counts one more run;
    a terms tracked in this run is no longer failing; a terms this run did not try stays as it
    was, unless `declared` says it is no longer declared.
    """
    previous = previous or {}
    failing = {_key(entry): dict(entry) for entry in previous.get("failing", [])}
    tried: set[tuple[str, str | None]] = set(tracked)
    for key in tried:
        failing.pop(key, None)
    for failure in summary["failures"]:
        key = _key(failure)
        before = failing.get(key)
        failing[key] = {
            "service_id": failure["service_id"],
            "terms_type": failure["terms_type"],
            "stage": failure["stage"],
            "error": failure["error"],
            "url": failure["url"],
            "status": failure["status"],
            "since": before["since"] if before else summary["started"],
            "last": summary["started"],
            "runs": (before.get("runs", 0) if before else 0) + 1,
        }
    failed_now = {_key(failure) for failure in summary["failures"]}
    if declared is not None:
        for key in [k for k in failing if k not in failed_now and k not in tried]:
            if not declared(*key):
                del failing[key]
    last_run = {
        key: value for key, value in summary.items() if key not in ("changes", "failures", "warnings")
    }
    status: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "last_run": last_run,
        "last_success": previous.get("last_success"),
        "changes": list(summary.get("changes", [])),
        "failing": sorted(failing.values(), key=lambda e: (e["service_id"], e["terms_type"] or "")),
        "publish": publish if publish is not None else previous.get("publish"),
        "scheduler": previous.get("scheduler"),
    }
    if summary["outcome"] not in ("failed", "error"):
        status["last_success"] = summary["finished"]
    return status


def _key(entry: Mapping[str, Any]) -> tuple[str, str | None]:
    return entry["service_id"], entry["terms_type"]


def tracked_terms(report: Report) -> list[tuple[str, str]]:
    """The terms this run tracked (fetched, and recorded or unchanged): they are no longer failing."""
    return [(o.service_id, o.terms_type) for o in report.outcomes if o.tracked]


def error_status(
    previous: Mapping[str, Any] | None, error: BaseException, *, started: datetime, finished: datetime
) -> dict[str, Any]:
    """The status after a run that could not run at all (bad settings, unwritable repository)."""
    summary = {
        "ota_version": __version__,
        "started": iso(started),
        "finished": iso(finished),
        "seconds": round((finished - started).total_seconds(), 3),
        "outcome": "error",
        "error": str(error),
        "failures": [],
        "changes": [],
    }
    return updated_status(previous, summary)


def declared_in(declarations: Path) -> Declared:
    """Whether a service (and terms type) is still declared in `declarations`, read file by file."""

    def declared(service_id: str, terms_type: str | None) -> bool:
        path = declarations / f"{service_id}.json"
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            return True  # unreadable now: not proof that it is gone
        if terms_type is None:
            return True
        terms = data.get("terms") or data.get("documents") if isinstance(data, dict) else None
        return not isinstance(terms, dict) or terms_type in terms

    return declared


# -- the file ---------------------------------------------------------------------------------------


def read_status(path: Path) -> dict[str, Any] | None:
    """The status file's content, None when there is none yet; StatusError when it is unreadable."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StatusError(f"{path}: cannot be read: {error.strerror}") from error
    except ValueError as error:
        raise StatusError(f"{path}: is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise StatusError(f"{path}: is not a status file (a JSON object)")
    return data


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write `data` to `path` atomically (a reader sees the old file or the new one, never half)."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as file:
            temporary = file.name
            json.dump(data, file, ensure_ascii=False, indent=2)
            file.write("\n")
        os.chmod(temporary, 0o644)  # readable by health checks and monitoring, as a file git writes
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise StatusError(f"{path}: cannot be written: {error.strerror or error}") from error


def note_scheduler_start(path: Path, schedule: str, now: datetime) -> None:
    """Record that a scheduler started (the age of the last run is counted from then at most)."""
    status = read_status(path) or {"format": FORMAT_VERSION}
    status["scheduler"] = {"started": iso(now), "schedule": schedule, "pid": os.getpid(), "host": host_name()}
    write_json(path, status)


def note_scheduler_stop(path: Path, reason: str | None, now: datetime) -> None:
    """Record that the scheduler stopped, and why (a signal's name), so that no one reads it as running."""
    status = read_status(path) or {"format": FORMAT_VERSION}
    status["scheduler"] = {**(status.get("scheduler") or {}), "stopped": iso(now), "reason": reason}
    write_json(path, status)


def host_name() -> str:
    """This machine's name, noted with a scheduler's process id."""
    return os.uname().nodename
