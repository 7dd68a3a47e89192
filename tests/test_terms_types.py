"""Terms types matched by meaning and spelling, and declaration problems named all at once."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from ota.declarations import STANDARD_TERMS_TYPES, declaration_errors, history_errors
from ota.declarations.schema.terms_types import aliases, suggest_terms_type


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Cookie Policy", "Trackers Policy"),  # OTA's alias "Cookies Policy", singular
        ("Cookies", "Trackers Policy"),  # by subject: cookies are in the topic of Trackers Policy
        ("Policy on cookies", "Trackers Policy"),
        ("Privacy Polcy", "Privacy Policy"),  # a typo
        ("privacy policy", "Privacy Policy"),
        ("Terms & Conditions", "Terms of Service"),  # alias "Terms and Conditions"
        ("Terms of Use", "Terms of Service"),
        ("Legal notice", "Imprint"),
        ("Acceptable Usage Policy", "Acceptable Use Policy"),
        ("Terms of Sale", "General Conditions of Sale"),  # not a typo of "Terms of Use"
        ("Data Processing Agreement", "Data Processor Agreement"),
        ("Privacy Notice", "Privacy Policy"),  # one of ota's own aliases
    ],
)
def test_a_name_suggests_the_type_it_means(name: str, expected: str) -> None:
    """A page's own name for its terms leads to OTA's type for it."""
    assert suggest_terms_type(name, STANDARD_TERMS_TYPES) == expected


@pytest.mark.parametrize("name", ["Foo Policy", "Refund Policy", "Careers"])
def test_a_name_that_means_nothing_known_gets_no_suggestion(name: str) -> None:
    """No suggestion is better than a misleading one such as 'Live Policy' for anything '… Policy'."""
    assert suggest_terms_type(name, STANDARD_TERMS_TYPES) is None


def test_only_allowed_types_are_suggested() -> None:
    """A suggestion is always one of the types the collection allows."""
    assert suggest_terms_type("Cookie Policy", ["Privacy Policy", "Terms of Service"]) is None


def test_the_alias_data_covers_exactly_otas_types() -> None:
    """terms-types.json describes OTA's 44 types, and every alias points to one of them."""
    data = json.loads(files("ota.declarations.schema").joinpath("terms-types.json").read_text("utf-8"))
    assert set(data["types"]) == set(STANDARD_TERMS_TYPES)
    assert "OpenTermsArchive/terms-types" in data["source"]
    assert set(aliases().values()) <= set(STANDARD_TERMS_TYPES)


def test_an_unknown_terms_type_suggests_the_type_it_means_not_the_closest_spelling() -> None:
    """'Cookie Policy' suggests 'Trackers Policy', where spelling alone gave 'Live Policy'."""
    data = {"name": "X", "terms": {"Cookie Policy": {"fetch": "https://x.org/c", "select": "main"}}}
    [error] = declaration_errors("X", data, path="X.json")
    assert error.field == ("terms", "Cookie Policy")
    assert error.reason.startswith("unknown terms type 'Cookie Policy' (did you mean 'Trackers Policy'?)")


def test_every_key_that_is_not_allowed_is_named_with_its_likely_spelling() -> None:
    """Two misspelt keys in one entry give two problems, each suggesting the key meant."""
    entry = {"fetch": "https://x.org/t", "select": "main", "remvoe": ".x", "executeClientScript": True}
    errors = declaration_errors("X", {"name": "X", "terms": {"Terms of Service": entry}}, path="X.json")
    assert [(e.field[-1], e.reason.split(";")[0]) for e in errors] == [
        ("remvoe", "is not allowed here (did you mean 'remove'?)"),
        ("executeClientScript", "is not allowed here (did you mean 'executeClientScripts'?)"),
    ]


def test_an_entry_with_a_schema_problem_still_has_its_selectors_and_filters_checked() -> None:
    """A bad address does not hide the invalid selector and the unknown filter of the same entry."""
    entry = {"fetch": "not an address", "select": "#a[", "filter": ["nope"]}
    errors = declaration_errors(
        "X", {"name": "X", "terms": {"Imprint": entry}}, path="X.json", known_filters=set()
    )
    assert [e.field for e in errors] == [
        ("terms", "Imprint", "fetch"),
        ("terms", "Imprint", "select"),
        ("terms", "Imprint", "filter"),
    ]


def test_a_history_entry_with_a_schema_problem_still_has_its_selectors_checked() -> None:
    """History files, too, get every problem at once."""
    data = {"Imprint": [{"fetch": "https://x.org/i", "select": "#a["}]}
    errors = history_errors("X", data, path="X.history.json")
    assert {e.field for e in errors} == {("Imprint", "item 1", "validUntil"), ("Imprint", "item 1", "select")}
