"""The engine's renaming rules for datasets: old service IDs and terms types, as data (`rules/`, see
its README for their provenance and licence), and `rename`, which applies them as the engine's
`applyRules` does (Open Terms Archive 14.1, `scripts/utils/renamer/index.js`).

In that order: a service's new name (or names: one service can become several, as `OpenAI` became
`ChatGPT` and `DALL·E`), then the terms type's new name, then the new name of that terms type for
that service. The engine renames in one pass over the names a service becomes, carrying the terms
type renamed for one to the next; `rename` does too, so that every name is the engine's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Rules:
    """Renaming rules, as the engine's three files hold them."""

    #: Old service ID → new service ID, or the list of the service IDs it became.
    service_names: Mapping[str, str | list[str]]
    #: Old terms type → new terms type, for every service.
    terms_types: Mapping[str, str]
    #: (Renamed) service ID → old terms type → new terms type, for that service only.
    terms_types_by_service: Mapping[str, Mapping[str, str]]


def engine_rules() -> Rules:
    """The rules the engine 14.1 bundles (`ota/dataset/rules/`)."""
    folder = resources.files("ota.dataset").joinpath("rules")

    def load(name: str) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(folder.joinpath(name).read_text("utf-8"))
        return loaded

    return Rules(
        service_names=load("serviceNames.json"),  # type: ignore[arg-type]
        terms_types=load("termsTypes.json"),  # type: ignore[arg-type]
        terms_types_by_service=load("termsTypesByService.json"),  # type: ignore[arg-type]
    )


def rename(service_id: str, terms_type: str, rules: Rules) -> list[tuple[str, str]]:
    """The (service ID, terms type) pairs a version of `service_id`'s `terms_type` is filed under in
    a dataset: one, unless the service became several (then one per service, in the rules' order;
    none for a service renamed into an empty list, as the engine writes none)."""
    renamed = rules.service_names.get(service_id)
    targets = renamed if isinstance(renamed, list) else [renamed]
    names = []
    for target in targets:
        service_id = target or service_id
        terms_type = rules.terms_types.get(terms_type) or terms_type
        terms_type = rules.terms_types_by_service.get(service_id, {}).get(terms_type) or terms_type
        names.append((service_id, terms_type))
    return names
