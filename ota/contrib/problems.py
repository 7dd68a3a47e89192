"""What `ota validate` finds: problems with their file, field and a suggestion, and the report.

A problem is an *error* (the terms would not be tracked, or tracked wrong) or a *warning*
(something to fix that does not stop tracking). Suggestions say what to do, in the contributor's
terms; the message says what is wrong, in the words ota uses elsewhere (OTA's words for fetch and
extraction failures, which reports and issue labels match on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning"]

#: The checks, in the order they run for one source document.
CHECKS = (
    "json",  # the file is JSON
    "schema",  # the declaration's structure, terms types, selectors' syntax, filter names
    "history",  # SERVICE_ID.history.json
    "filters",  # SERVICE_ID.filters.py / .filters.js
    "fetch",  # the page can be fetched
    "select",  # the selectors give text
    "remove",  # every `remove` selector matches something
    "length",  # the text is long enough to be the terms
    "stable",  # the same text on a second fetch
    "javascript",  # JavaScript filters, not run by ota's checks yet
)
_DID_YOU_MEAN = re.compile(r"\(did you mean '([^']+)'\?\)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a declaration, where it is and what to do about it."""

    severity: Severity
    file: Path
    #: Keys and `item N` from the file's root to the value at fault; empty for the whole file.
    field: tuple[str, ...]
    message: str
    suggestion: str | None = None
    check: str = "schema"
    service_id: str | None = None
    terms_type: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        where = " › ".join(self.field)
        return f"{self.file}: {where + ': ' if where else ''}{self.message}"

    def as_json(self) -> dict[str, Any]:
        """The problem as the JSON report writes it."""
        return {
            "severity": self.severity,
            "check": self.check,
            "file": str(self.file),
            "field": list(self.field),
            "message": self.message,
            "suggestion": self.suggestion,
            "service": self.service_id,
            "termsType": self.terms_type,
            "url": self.url,
        }


@dataclass
class ValidationReport:
    """Everything one `ota validate` found."""

    problems: list[Problem] = field(default_factory=list)
    #: The services whose files were checked.
    services: list[str] = field(default_factory=list)
    #: Source documents checked live.
    documents: int = 0
    schema_only: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    def summary(self) -> str:
        """One line: what was checked, and how many errors and warnings."""
        services = f"{len(self.services)} service{'' if len(self.services) == 1 else 's'}"
        checked = f"{services} checked" + (
            " (schema only)" if self.schema_only else f", {self.documents} page(s) fetched twice"
        )
        errors, warnings = len(self.errors), len(self.warnings)
        return (
            f"{checked}: {errors} error{'' if errors == 1 else 's'}, "
            f"{warnings} warning{'' if warnings == 1 else 's'}"
        )

    def as_json(self) -> dict[str, Any]:
        """The report for CI (`ota validate --json FILE`)."""
        return {
            "valid": not self.errors,
            "schemaOnly": self.schema_only,
            "services": self.services,
            "documents": self.documents,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [problem.as_json() for problem in self.problems],
        }


def schema_suggestion(field: tuple[str, ...], reason: str, service_id: str) -> str | None:
    """What to do about a problem found in a declaration file, when its message does not say."""
    close = _DID_YOU_MEAN.search(reason)
    last = field[-1] if field else ""
    if reason.startswith("unknown terms type"):
        if close:
            return f"rename it '{close.group(1)}'"
        return (
            "use one of Open Terms Archive's terms types, or allow this one in ota.toml "
            "([collection] terms_types)"
        )
    if reason.startswith("is not allowed here"):
        return f"rename it '{close.group(1)}'" if close else f"delete '{last}'"
    if reason.startswith("is not valid JSON"):
        return "correct the JSON syntax there: a missing or extra comma, quote or bracket is the usual cause"
    if "is not a valid CSS selector" in reason:
        return "correct its syntax; try it in the browser's console with document.querySelectorAll(…)"
    if reason.startswith("unknown filter"):
        return (
            f"correct the filter's name, or define it as a function in {service_id}.filters.py; "
            "built-in filters need no file"
        )
    if reason.startswith("is required") and last == "select":
        return 'add "select": the CSS selector of the element holding the terms (`ota new URL` proposes one)'
    if reason.startswith("is required") and last == "validUntil":
        return 'add "validUntil": the date and time until which this declaration applied'
    if reason.startswith("is required"):
        return f"add '{last}'"
    if "is already combined" in reason:
        return "delete the second copy"
    if "web address" in reason:
        return "write the full address, starting with https://"
    return None
