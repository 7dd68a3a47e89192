"""The checks of a declaration's terms entry that its JSON schema cannot express: CSS selectors
that parse, range selectors with their keys, filters that exist and do not conflict. Each problem
is a place in the file and a message; `ota.declarations` merges them with the schema's, in file
order."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from ota.declarations.schema import item_label


def named(
    place: tuple[str | int, ...],
    found: Iterable[tuple[tuple[str | int, ...], str]],
    entry: tuple[str | int, ...],
) -> bool:
    """Whether the schema already named a problem at `place` or around it, within the entry."""
    return any(len(other) > len(entry) and place[: len(other)] == other for other, _ in found)


def entry_problems(
    entry: Any,
    where: tuple[str | int, ...],
    known_filters: Collection[str] | None,
    filter_conflicts: Mapping[str, str] | None,
    service_id: str,
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Problems of one terms entry that a schema cannot find, at the terms level then in each
    combined document. Parts of the wrong shape are skipped: the schema names them."""
    if not isinstance(entry, dict):
        return
    combined = entry.get("combine")
    parts = [(where, entry)]
    if isinstance(combined, list):
        parts += [
            ((*where, "combine", index), item)
            for index, item in enumerate(combined)
            if isinstance(item, dict)
        ]
    for place, part in parts:
        for key in ("select", "remove"):
            for selector_place, selector in _css_selectors(part.get(key), (*place, key)):
                if not _parses_as_css(selector):
                    yield selector_place, f"'{selector}' is not a valid CSS selector (or one ota cannot read)"
        filters = part.get("filter")
        for name in _filter_names(filters if isinstance(filters, list) else []):
            if filter_conflicts and name in filter_conflicts:
                yield (*place, "filter"), filter_conflicts[name]
            elif known_filters is not None and name not in known_filters:
                valid = ", ".join(sorted(known_filters)) or "none"
                yield (
                    (*place, "filter"),
                    (
                        f"unknown filter '{name}'; valid filters are: {valid} (service filters are the "
                        f"functions of {service_id}.filters.js or {service_id}.filters.py)"
                    ),
                )
    seen: dict[str, int] = {}
    for index, item in enumerate(combined if isinstance(combined, list) else ()):
        if not isinstance(item, dict) or not isinstance(item.get("fetch"), str):
            continue
        if item["fetch"] in seen:
            yield (
                (*where, "combine", index, "fetch"),
                (f"'{item['fetch']}' is already combined as {item_label(seen[item['fetch']])}"),
            )
        seen.setdefault(item["fetch"], index)


def _css_selectors(value: Any, where: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every CSS selector of a `select` or `remove` value, with its place, ranges included."""
    if value is None:
        return
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for index, item in items:
        place = where if index is None else (*where, index)
        if isinstance(item, str):
            yield place, item
        elif isinstance(item, dict):
            yield from (
                ((*place, key), selector)
                for key, selector in item.items()
                if key in RANGE_KEYS and isinstance(selector, str)
            )


#: A range selector's keys in declarations, and the `RangeSelector` fields they fill.
RANGE_KEYS = {
    "startBefore": "start_before",
    "startAfter": "start_after",
    "endBefore": "end_before",
    "endAfter": "end_after",
}
_CSS_PROBE = LexborHTMLParser("<p></p>")


def _parses_as_css(selector: str) -> bool:
    """Whether lexbor, the engine that extraction uses, can parse the selector."""
    try:
        _CSS_PROBE.css(selector)
    except Exception:  # selectolax raises SelectolaxError or ValueError, depending on the version
        return False
    return True


def _filter_names(filters: list[Any]) -> Iterator[str]:
    for item in filters:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict) and len(item) == 1:
            yield next(iter(item))
