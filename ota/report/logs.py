"""Logs: one line per event, with its time, level, and the service and terms type it is about.

On a terminal the lines are for people (`2026-11-29T19:40:01Z INFO    X › Terms of Service:
recorded a change`); with `--log-format json` (or `[log] format = "json"`) each line is a JSON
object (`time`, `level`, `logger`, `message`, and `service`, `terms_type`, `status`, `stage`,
`url`, `http_status`, `commit`… when they apply) for log collectors. They go to stderr, or to
`--log-file`. Failures are logged at WARNING (a terms) or ERROR (a run); what libraries say
(APScheduler's job chatter, httpx's requests) is kept to their warnings.

This module only configures logging and turns outcomes into events: the other modules log with
`logging.getLogger("ota.…")` as usual.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ota.errors import FetchError
from ota.outcome import Outcome, Report
from ota.redact import redact
from ota.report.summary import error_text

LogFormat = Literal["text", "json"]

#: Libraries whose informational messages are noise in ota's logs.
QUIET_LIBRARIES = (
    "apscheduler",
    "httpx",
    "httpcore",
    "asyncio",
    "apprise",
    "playwright",
    "urllib3",
    "charset_normalizer",
)
#: The fields an event may carry besides its message, in the order JSON lines show them.
FIELDS = (
    "service",
    "terms_type",
    "status",
    "stage",
    "url",
    "http_status",
    "commit",
    "commits",
    "seconds",
    "counts",
)

log = logging.getLogger("ota.tracking.track")
run_log = logging.getLogger("ota.tracking.run")


def _utc(seconds: float | None) -> time.struct_time:
    return time.gmtime(seconds)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `sys.stderr` as it is when a line is logged (not when the handler was made)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class RedactSecrets(logging.Filter):
    """On ota's handler, so on every line it writes, whichever library logged it (Apprise's errors,
    httpx's, a forge's error body): tokens, `Authorization` values and URL passwords become `***`
    (`ota.redact`). The message is formatted here, once, then redacted; so is an exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        for name in FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    return record.exc_text or (formatter.formatException(record.exc_info) if record.exc_info else "")


class TextFormatter(logging.Formatter):
    """`TIME LEVEL [SERVICE › TERMS TYPE: ]MESSAGE`, the time in UTC to the second."""

    converter = staticmethod(_utc)

    def format(self, record: logging.LogRecord) -> str:
        moment = self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ")
        about = ""
        service, terms_type = getattr(record, "service", None), getattr(record, "terms_type", None)
        if service:
            about = f"{service} › {terms_type}: " if terms_type else f"{service}: "
        line = f"{moment} {record.levelname:<7} {about}{record.getMessage()}"
        if record.exc_info or record.exc_text:
            line += "\n" + _exception(self, record)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time`, `level`, `logger`, `message`, then the event's fields."""

    converter = staticmethod(_utc)

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                event[name] = value
        if record.exc_info or record.exc_text:
            event["exception"] = _exception(self, record)
        return json.dumps(event, ensure_ascii=False, default=str)


def configure_logging(
    *, format: LogFormat = "text", file: Path | None = None, level: int = logging.INFO
) -> None:
    """Send ota's logs to stderr (or `file`, appended to) in `format`, from `level` on.

    Called once by the command line; a second call replaces the first's handler.
    """
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = _Stderr()
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_ota", False):
            root.removeHandler(existing)
            existing.close()
    setattr(handler, "_ota", True)  # noqa: B010 - marks the handler this module owns
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def terms_fields(outcome: Outcome) -> dict[str, Any]:
    """The fields of an event about one terms."""
    fields: dict[str, Any] = {
        "service": outcome.service_id,
        "terms_type": outcome.terms_type,
        "status": outcome.status,
    }
    if outcome.stage is not None:
        fields["stage"] = str(outcome.stage)
    error = outcome.error
    if isinstance(error, FetchError):
        fields["url"] = error.url
        if error.status is not None:
            fields["http_status"] = error.status
    if outcome.versions:
        fields["commits"] = [version.commit_id for version in outcome.versions]
    return fields


_SAID = {
    "first": "first record",
    "changed": "recorded a change",
    "upgraded": "recorded a technical upgrade",
    "unchanged": "unchanged",
    "interrupted": "not finished: the run was interrupted",
}


def log_outcome(outcome: Outcome, *, logger: logging.Logger = log) -> None:
    """Log what tracking a terms gave: changes at INFO, failures at WARNING, the rest at DEBUG."""
    fields = terms_fields(outcome)
    if outcome.status == "suspect":
        for error in outcome.errors:
            logger.warning("suspect: %s", error, extra=fields)
        return
    if outcome.status == "failed":
        for error in outcome.errors:
            logger.warning("failed at %s: %s", outcome.stage, error_text(error, outcome.stage), extra=fields)
        return
    said = _SAID.get(outcome.status, outcome.status)
    if outcome.status == "changed" and len(outcome.versions) > 1:
        said = "recorded a technical upgrade, then a change"
    if outcome.versions:
        said += f" ({', '.join(version.commit_id[:12] for version in outcome.versions)})"
    level = logging.INFO if outcome.versions or outcome.status == "interrupted" else logging.DEBUG
    logger.log(level, "%s", said, extra=fields)


def log_run_start(selection: Mapping[str, Any], *, logger: logging.Logger = run_log) -> None:
    """The dated line a run starts with."""
    chosen = ", ".join(f"{key} {', '.join(values)}" for key, values in selection.items() if values)
    logger.info("run started%s", f" ({chosen})" if chosen else " (the whole collection)")


def log_run_error(error: BaseException, *, logger: logging.Logger = run_log) -> None:
    """The dated line a run ends with when it could not run at all (nothing was tracked)."""
    logger.error("the run could not run: %s", error)


def log_run_end(report: Report, *, logger: logging.Logger = run_log) -> None:
    """The dated line a run ends with, then one line per warning and per fatal error."""
    for warning in report.warnings:
        logger.warning("%s", warning)
    for error in report.declaration_errors:
        logger.warning("not tracked: %s", error)
    counts = {
        "tracked": report.tracked,
        "first": report.versions("first"),
        "changes": report.versions("change"),
        "upgrades": report.versions("upgrade"),
        "unchanged": report.count("unchanged"),
        "failed": report.failed,
        "suspect": report.count("suspect"),
    }
    words = ", ".join(f"{value} {name}" for name, value in counts.items())
    if report.interrupted:
        logger.warning(
            "run interrupted by %s after %.1f s: %s; what was recorded is published, %d terms in "
            "progress were abandoned and the others not started",
            report.interrupted,
            report.seconds,
            words,
            report.count("interrupted"),
            extra={"seconds": round(report.seconds, 3), "counts": counts},
        )
    else:
        logger.info(
            "run finished in %.1f s: %s",
            report.seconds,
            words,
            extra={"seconds": round(report.seconds, 3), "counts": counts},
        )
    for fatal in report.fatal:
        logger.error("%s", fatal)
