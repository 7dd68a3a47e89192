"""Service declarations in Open Terms Archive's format, as frozen values.

This module is pure: it turns already-read JSON into `Service`, `Terms` and `SourceDocument` values
and validates them. Reading files is done by `ota.collection`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_PDF_URL = re.compile(r"^https?://.+.[pP][dD][fF](\?.+)?$")


@dataclass(frozen=True)
class RangeSelector:
    """A DOM range between two CSS selectors: exactly one start and one end are set."""

    start_before: str | None = None
    start_after: str | None = None
    end_before: str | None = None
    end_after: str | None = None

    def as_json(self) -> str:
        """The range as OTA prints it in error messages (`JSON.stringify` of the declared object)."""
        keys = (
            ("startBefore", self.start_before),
            ("startAfter", self.start_after),
            ("endBefore", self.end_before),
            ("endAfter", self.end_after),
        )
        return json.dumps({k: v for k, v in keys if v is not None}, separators=(",", ":"), ensure_ascii=False)


Selector = str | RangeSelector


def selectors_text(selectors: tuple[Selector, ...]) -> str:
    """The selectors as OTA writes them in messages: JavaScript's `String(array)`."""
    return ",".join(s if isinstance(s, str) else "[object Object]" for s in selectors)


@dataclass(frozen=True)
class FilterRef:
    """A filter named in a declaration, with its parameters when it was declared with some."""

    name: str
    parameters: Any = None
    has_parameters: bool = False


@dataclass(frozen=True)
class SourceDocument:
    """One page to fetch and the rules to extract the terms from it."""

    location: str
    select: tuple[Selector, ...] = ()
    remove: tuple[Selector, ...] = ()
    filters: tuple[FilterRef, ...] = ()
    execute_client_scripts: bool | None = None
    #: The source document ID of OTA-FORMATS §2 for combined terms; None for single documents.
    id: str | None = None

    @property
    def is_pdf_url(self) -> bool:
        """Whether the URL names a PDF, the only case where `select` may be absent."""
        return _PDF_URL.match(self.location) is not None


@dataclass(frozen=True)
class Terms:
    """One terms document of a service: one or several (combined) source documents."""

    service_id: str
    type: str
    documents: tuple[SourceDocument, ...]
    combined: bool = False
    #: For an entry of `SERVICE.history.json`: the last moment it was in force (inclusive).
    valid_until: datetime | None = None


@dataclass(frozen=True)
class Service:
    """A declared service: its current terms and, per terms type, its earlier declarations."""

    id: str
    name: str
    terms: dict[str, Terms]
    history: dict[str, tuple[Terms, ...]] = field(default_factory=dict)
    imported_from: str | None = None

