"""Declarations: JSON to frozen values, validation messages, history and source document IDs."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ota.declarations import (
    STANDARD_TERMS_TYPES,
    FilterRef,
    RangeSelector,
    SourceDocument,
    declaration_errors,
    parse_history,
    parse_service,
    source_document_id,
    terms_in_force,
)
from ota.declarations.schema import declaration_schema
from ota.errors import DeclarationError

PATH = Path("declarations/Foo.json")

#: The example of OTA-FORMATS §2.
BREVO: dict[str, Any] = {
    "name": "Brevo",
    "terms": {
        "Privacy Policy": {
            "fetch": "https://www.brevo.com/legal/privacypolicy/",
            "select": "main",
            "remove": [".cookie-banner"],
            "filter": ["removeEmptyLinks", {"removeQueryParams": ["utm_source"]}],
        },
        "Terms of Service": {"fetch": "https://example.com/terms.pdf"},
        "Community Guidelines": {
            "select": ["#community-guidelines"],
            "combine": [
                {"fetch": "https://example.com/guidelines/a"},
                {"fetch": "https://example.com/guidelines/b", "select": "article"},
            ],
        },
    },
}


def declaration(**terms: Any) -> dict[str, Any]:
    """A declaration of service Foo whose terms are given by keyword (underscores for spaces)."""
    return {"name": "Foo", "terms": {key.replace("_", " "): value for key, value in terms.items()}}


def error_of(data: Any, **options: Any) -> DeclarationError:
    """The error parse_service raises for `data`."""
    with pytest.raises(DeclarationError) as caught:
        parse_service("Foo", data, path=PATH, **options)
    return caught.value


# -- the example declaration ---------------------------------------------------------------------


def test_the_formats_example_parses_into_frozen_values() -> None:
    """The §2 example gives one Terms per type with its documents, selectors and filters."""
    service = parse_service("Brevo", BREVO, path="declarations/Brevo.json")

    assert service.id == "Brevo" and service.name == "Brevo" and service.warnings == ()
    assert list(service.terms) == ["Privacy Policy", "Terms of Service", "Community Guidelines"]
    privacy = service.terms["Privacy Policy"]
    assert privacy.service_id == "Brevo" and privacy.type == "Privacy Policy" and not privacy.combined
    assert privacy.documents == (
        SourceDocument(
            location="https://www.brevo.com/legal/privacypolicy/",
            select=("main",),
            remove=(".cookie-banner",),
            filters=(
                FilterRef("removeEmptyLinks"),
                FilterRef("removeQueryParams", ("utm_source",), has_parameters=True),
            ),
        ),
    )


def test_a_pdf_needs_only_fetch() -> None:
    """A terms entry with only a PDF URL is valid and has no selectors."""
    (document,) = parse_service("Brevo", BREVO, path=PATH).terms["Terms of Service"].documents

    assert document == SourceDocument(location="https://example.com/terms.pdf")
    assert document.is_pdf_url


@pytest.mark.parametrize(
    "url", ["https://example.com/TERMS.PDF", "http://example.com/a.pdf?version=2", "https://x.org/t.Pdf"]
)
def test_pdf_urls_follow_otas_pattern(url: str) -> None:
    """The PDF pattern ignores case and allows a query string."""
    service = parse_service("Foo", declaration(Imprint={"fetch": url}), path=PATH)

    assert service.terms["Imprint"].documents[0].is_pdf_url


def test_a_pdf_may_also_have_a_select() -> None:
    """A PDF URL with select is an ordinary single document, as in OTA's schema."""
    service = parse_service(
        "Foo", declaration(Imprint={"fetch": "https://x.org/t.pdf", "select": "body"}), path=PATH
    )

    assert service.terms["Imprint"].documents[0].select == ("body",)


def test_optional_fields_are_kept() -> None:
    """importedFrom and executeClientScripts reach the values."""
    data = declaration(Imprint={"fetch": "https://x.org/", "select": "main", "executeClientScripts": True})
    data["importedFrom"] = "https://github.com/tosdr/tosback2/blob/x/rules/foo.xml"

    service = parse_service("Foo", data, path=PATH)

    assert service.imported_from == data["importedFrom"]
    assert service.terms["Imprint"].documents[0].execute_client_scripts is True


def test_values_are_hashable_even_with_filter_parameters() -> None:
    """Filter parameter arrays become tuples, so Terms can be set members and dict keys."""
    service = parse_service("Brevo", BREVO, path=PATH)

    assert len({*service.terms.values()}) == 3


# -- combined terms ------------------------------------------------------------------------------


def test_combined_documents_get_ids_and_terms_level_defaults() -> None:
    """Each combined document has its source document ID and inherits the terms-level select."""
    terms = parse_service("Brevo", BREVO, path=PATH).terms["Community Guidelines"]

    assert terms.combined
    assert [(d.id, d.select) for d in terms.documents] == [
        ("guidelines-a", ("#community-guidelines",)),
        ("guidelines-b", ("article",)),
    ]


def test_single_documents_have_no_id() -> None:
    """Only combined terms name their snapshots with a document ID."""
    service = parse_service("Brevo", BREVO, path=PATH)

    assert service.terms["Privacy Policy"].documents[0].id is None


def test_an_items_own_value_replaces_the_terms_level_one_without_merging() -> None:
    """select, remove, filter and executeClientScripts of an item replace the defaults entirely."""
    data = declaration(
        Imprint={
            "select": ["main", "aside"],
            "remove": ".ads",
            "filter": ["removeQueryParams"],
            "executeClientScripts": True,
            "combine": [
                {"fetch": "https://x.org/a"},
                {
                    "fetch": "https://x.org/b",
                    "select": "article",
                    "remove": [],
                    "filter": [],
                    "executeClientScripts": False,
                },
            ],
        }
    )

    first, second = parse_service("Foo", data, path=PATH).terms["Imprint"].documents

    assert (first.select, first.remove, first.filters, first.execute_client_scripts) == (
        ("main", "aside"),
        (".ads",),
        (FilterRef("removeQueryParams"),),
        True,
    )
    assert (second.select, second.remove, second.filters, second.execute_client_scripts) == (
        ("article",),
        (),
        (),
        False,
    )


def test_the_same_page_combined_twice_is_an_error() -> None:
    """A fetch repeated in combine names the second occurrence and the first one."""
    data = declaration(
        Imprint={"select": "main", "combine": [{"fetch": "https://x.org/a"}, {"fetch": "https://x.org/a"}]}
    )

    assert str(error_of(data)) == (
        "declarations/Foo.json: terms › Imprint › combine › item 2 › fetch: "
        "'https://x.org/a' is already combined as item 1"
    )


def test_documents_whose_ids_collide_are_a_warning() -> None:
    """Two URLs with the same path would write the same snapshot file: the author is warned."""
    data = declaration(
        Imprint={
            "select": "main",
            "combine": [{"fetch": "https://x.org/a"}, {"fetch": "https://y.org/a.html"}],
        }
    )

    (warning,) = parse_service("Foo", data, path=PATH).warnings

    assert warning.startswith("declarations/Foo.json: terms › Imprint › combine: https://x.org/a and")
    assert "same document ID 'a'" in warning


def test_an_empty_combine_is_an_error() -> None:
    """Combined terms need at least one document."""
    assert error_of(declaration(Imprint={"select": "main", "combine": []})).reason == (
        "must list at least one document"
    )


def test_a_combined_entry_cannot_also_fetch() -> None:
    """fetch belongs to the combined documents, not to the terms entry that combines them."""
    data = declaration(
        Imprint={"fetch": "https://x.org/", "select": "main", "combine": [{"fetch": "https://x.org/a"}]}
    )

    error = error_of(data)

    assert error.field == ("terms", "Imprint", "fetch")
    assert (
        error.reason
        == "is not allowed here; valid keys are: combine, select, remove, filter, executeClientScripts"
    )


def test_a_combined_document_needs_fetch() -> None:
    """Every item of combine needs its own URL."""
    error = error_of(declaration(Imprint={"select": "main", "combine": [{"select": "main"}]}))

    assert (error.field, error.reason) == (("terms", "Imprint", "combine", "item 1", "fetch"), "is required")


# -- selectors -----------------------------------------------------------------------------------


def test_selectors_are_normalised_to_tuples_of_strings_and_ranges() -> None:
    """A string, a range or an array of both all become a tuple."""
    data = declaration(
        Imprint={
            "fetch": "https://x.org/",
            "select": [{"startBefore": "#a", "endAfter": "#b"}, "main"],
            "remove": {"startAfter": "#c", "endBefore": "#d"},
        }
    )

    (document,) = parse_service("Foo", data, path=PATH).terms["Imprint"].documents

    assert document.select == (RangeSelector(start_before="#a", end_after="#b"), "main")
    assert document.remove == (RangeSelector(start_after="#c", end_before="#d"),)


@pytest.mark.parametrize(
    ("selector", "field", "reason"),
    [
        ({"startBefore": "#a", "startAfter": "#b", "endBefore": "#c"}, ("select",), "startBefore/startAfter"),
        ({"endBefore": "#c"}, ("select",), "startBefore/startAfter"),
        ({"startBefore": "#a"}, ("select",), "endBefore/endAfter"),
        ({"startBefore": "#a", "endBefore": "#b", "endAfter": "#c"}, ("select",), "endBefore/endAfter"),
        ([{"startBefore": "#a"}], ("select", "item 1"), "endBefore/endAfter"),
    ],
)
def test_a_range_needs_exactly_one_start_and_one_end(
    selector: Any, field: tuple[str, ...], reason: str
) -> None:
    """A range with zero or two starts (or ends) is refused with the rule in words."""
    error = error_of(declaration(Imprint={"fetch": "https://x.org/", "select": selector}))

    assert error.field == ("terms", "Imprint", *field)
    assert error.reason == f"a range needs exactly one of {reason}"


@pytest.mark.parametrize(
    ("selector", "field", "reason"),
    [
        (3, ("select",), "must be a CSS selector, a range object or an array of them"),
        (["main", ["nested"]], ("select", "item 2"), "must be a CSS selector or a range object"),
        ("", ("select",), "must not be empty"),
        ({"startBefore": 1, "endBefore": "#b"}, ("select", "startBefore"), "must be a CSS selector"),
    ],
)
def test_selectors_of_the_wrong_shape_are_explained(
    selector: Any, field: tuple[str, ...], reason: str
) -> None:
    """Wrong types and empty selectors are reported at the selector, in words."""
    error = error_of(declaration(Imprint={"fetch": "https://x.org/", "select": selector}))

    assert (error.field, error.reason) == (("terms", "Imprint", *field), reason)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"fetch": "https://x.org/", "select": "div >"}, ("select",)),
        ({"fetch": "https://x.org/", "select": "main", "remove": ["nav", "a["]}, ("remove", "item 2")),
        (
            {"fetch": "https://x.org/", "select": {"startBefore": "##x", "endBefore": "p"}},
            ("select", "startBefore"),
        ),
        (
            {"select": "main", "combine": [{"fetch": "https://x.org/", "select": "p::"}]},
            ("combine", "item 1", "select"),
        ),
    ],
)
def test_selectors_that_do_not_parse_are_reported_with_their_field(
    entry: Any, field: tuple[str, ...]
) -> None:
    """Invalid CSS is caught when loading, not on the first fetch."""
    error = error_of(declaration(Imprint=entry))

    assert error.field == ("terms", "Imprint", *field)
    assert error.reason.endswith("is not a valid CSS selector (or one ota cannot read)")


# -- root, terms types, other fields -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"terms": {}}, ("name",), "is required"),
        ({"name": "Foo"}, ("terms",), "is required"),
        (
            {"name": "Foo", "terms": {}, "url": "x"},
            ("url",),
            "is not allowed here; valid keys are: name, terms, importedFrom",
        ),
        ({"name": 3, "terms": {}}, ("name",), "must be text in double quotes"),
        (
            {"name": "Foo", "terms": []},
            ("terms",),
            'must be an object whose keys are terms types, such as "Privacy Policy"',
        ),
        ([], (), 'must be a JSON object, such as {"name": …, "terms": {…}}'),
    ],
)
def test_root_problems_are_explained(data: Any, field: tuple[str, ...], reason: str) -> None:
    """name and terms are required, nothing else is allowed beside importedFrom."""
    error = error_of(data)

    assert (error.field, error.reason) == (field, reason)


def test_the_message_reads_path_then_field_then_reason() -> None:
    """str(error) is the file, the field joined with ›, and a message for a declaration author."""
    error = error_of(declaration(Privacy_Policy={"fetch": "https://x.org/"}))

    assert str(error) == (
        "declarations/Foo.json: terms › Privacy Policy › select: "
        "is required (only a PDF, whose address ends in .pdf, may go without)"
    )


def test_an_unknown_terms_type_suggests_the_closest_and_lists_the_valid_ones() -> None:
    """A misspelt terms type gets a suggestion and the full list."""
    error = error_of({"name": "Foo", "terms": {"Privacy policy": {"fetch": "https://x.org/", "select": "p"}}})

    assert error.field == ("terms", "Privacy policy")
    assert error.reason.startswith(
        "unknown terms type 'Privacy policy' (did you mean 'Privacy Policy'?); valid types are: "
        "Acceptable Use Policy, Accessibility Statement, "
    )
    assert all(terms_type in error.reason for terms_type in STANDARD_TERMS_TYPES)


def test_a_collection_may_allow_its_own_terms_types() -> None:
    """Extra terms types are accepted when passed in terms_types, and named in messages."""
    data = {"name": "Foo", "terms": {"Cookie Notice": {"fetch": "https://x.org/", "select": "p"}}}
    allowed = STANDARD_TERMS_TYPES | {"Cookie Notice"}

    assert list(parse_service("Foo", data, path=PATH, terms_types=allowed).terms) == ["Cookie Notice"]
    assert "Cookie Notice" in error_of({"name": "Foo", "terms": {"Bar": {}}}, terms_types=allowed).reason


def test_the_standard_list_has_otas_44_types() -> None:
    """The list of OTA-FORMATS §2, spelling included."""
    assert len(STANDARD_TERMS_TYPES) == 44
    assert {
        "Terms of Service",
        "In-App Purchases Policy",
        "Anti-corruption Policy",
        "Single Sign-On Policy",
    } <= STANDARD_TERMS_TYPES


@pytest.mark.parametrize(
    ("entry", "field", "reason"),
    [
        ("https://x.org/", (), "must be an object with fetch and select, or with combine"),
        (
            {"fetch": "ftp://x.org/a", "select": "p"},
            ("fetch",),
            "must be a web address starting with http:// or https://",
        ),
        (
            {"fetch": "x.org/a", "select": "p"},
            ("fetch",),
            "must be a web address starting with http:// or https://",
        ),
        (
            {"fetch": "https://x.org/", "select": "p", "executeClientScripts": "yes"},
            ("executeClientScripts",),
            "must be true or false",
        ),
        (
            {"fetch": "https://x.org/", "select": "p", "filter": "removeQueryParams"},
            ("filter",),
            "must be a list of filter names",
        ),
        (
            {"fetch": "https://x.org/", "select": "p", "filter": [{}]},
            ("filter", "item 1"),
            'a filter with parameters must be written {"filterName": parameters}',
        ),
        (
            {"fetch": "https://x.org/", "select": "p", "filter": [1]},
            ("filter", "item 1"),
            'must be a filter name, or an object {"filterName": parameters}',
        ),
        (
            {"fetch": "https://x.org/", "select": "p", "remvoe": "a"},
            ("remvoe",),
            "is not allowed here (did you mean 'remove'?); valid keys are: fetch, select, remove, filter, "
            "executeClientScripts",
        ),
    ],
)
def test_terms_entry_problems_are_explained(entry: Any, field: tuple[str, ...], reason: str) -> None:
    """Each kind of mistake in a terms entry gets its own plain message at its field."""
    error = error_of(declaration(Imprint=entry))

    assert (error.field, error.reason) == (("terms", "Imprint", *field), reason)


def test_declaration_errors_lists_every_problem_in_file_order() -> None:
    """All problems are available at once, in the order an author reads the file."""
    data = {
        "name": "Foo",
        "terms": {
            "Imprint": {"fetch": "https://x.org/", "selector": "main"},
            "Privacy Policy": {"fetch": "nope", "select": 3},
        },
        "extra": True,
    }

    errors = declaration_errors("Foo", data, path=PATH)

    assert [error.field for error in errors] == [
        ("terms", "Imprint", "select"),
        ("terms", "Imprint", "selector"),
        ("terms", "Privacy Policy", "fetch"),
        ("terms", "Privacy Policy", "select"),
        ("extra",),
    ]
    assert declaration_errors("Brevo", BREVO, path=PATH) == []


def test_parse_service_does_not_modify_its_input() -> None:
    """The parsed JSON can be reused: parsing only reads it."""
    data = copy.deepcopy(BREVO)
    parse_service("Brevo", data, path=PATH)

    assert data == BREVO


# -- filters -------------------------------------------------------------------------------------


def test_filters_with_parameters_keep_them() -> None:
    """{"name": params} gives a FilterRef with has_parameters, even when params is null."""
    data = declaration(
        Imprint={
            "fetch": "https://x.org/",
            "select": "p",
            "filter": ["a", {"b": ["x", "y"]}, {"c": None}, {"d": {"k": 1}}],
        }
    )

    filters = parse_service("Foo", data, path=PATH).terms["Imprint"].documents[0].filters

    assert filters == (
        FilterRef("a"),
        FilterRef("b", ("x", "y"), has_parameters=True),
        FilterRef("c", None, has_parameters=True),
        FilterRef("d", {"k": 1}, has_parameters=True),
    )


def test_unknown_filters_are_errors_when_the_known_ones_are_given() -> None:
    """With known_filters, a filter named nowhere is refused, listing the valid names."""
    data = declaration(
        Imprint={"fetch": "https://x.org/", "select": "p", "filter": ["removeQueryParams", "typo"]}
    )

    error = error_of(data, known_filters={"removeQueryParams", "cleanUp"})

    assert str(error) == (
        "declarations/Foo.json: terms › Imprint › filter: unknown filter 'typo'; valid filters are: "
        "cleanUp, removeQueryParams (service filters are the functions of Foo.filters.js or Foo.filters.py)"
    )
    assert parse_service("Foo", data, path=PATH).terms["Imprint"].documents[0].filters[1].name == "typo"


def test_unknown_filters_of_combined_documents_are_reported_where_declared() -> None:
    """A filter named by one combined document is reported at that document."""
    data = declaration(
        Imprint={"select": "p", "combine": [{"fetch": "https://x.org/a", "filter": [{"nope": 1}]}]}
    )

    assert error_of(data, known_filters=set()).field == ("terms", "Imprint", "combine", "item 1", "filter")


# -- the legacy `documents` key ------------------------------------------------------------------


def test_documents_is_read_as_terms_with_a_deprecation_warning() -> None:
    """Collections older than OTA 5.0 still load, and the author is told to rename the key."""
    data = {"name": "Foo", "documents": {"Imprint": {"fetch": "https://x.org/", "select": "p"}}}

    service = parse_service("Foo", data, path=PATH)

    assert list(service.terms) == ["Imprint"]
    assert service.warnings == (
        "declarations/Foo.json: 'documents' is deprecated since OTA 5.0; rename it to 'terms'",
    )


def test_documents_and_terms_together_is_an_error() -> None:
    """Two spellings of the same key leave it unclear which one is meant."""
    error = error_of({"name": "Foo", "terms": {}, "documents": {}})

    assert (error.field, error.reason) == (
        ("documents",),
        "'documents' is the old name of 'terms': keep only 'terms'",
    )


def test_errors_inside_documents_are_reported_under_terms() -> None:
    """Validation of a legacy file works as for a current one."""
    error = error_of({"name": "Foo", "documents": {"Imprint": {"fetch": "https://x.org/"}}})

    assert error.field == ("terms", "Imprint", "select")


# -- history -------------------------------------------------------------------------------------

HISTORY_PATH = Path("declarations/Foo.history.json")


def entry(url: str, valid_until: str) -> dict[str, Any]:
    """A history entry for a single page."""
    return {"fetch": url, "select": "main", "validUntil": valid_until}


def service_with_history() -> Any:
    """Foo's Imprint: v1 until 2021-01-01 12:00, v2 until 2022-06-01, v3 since."""
    history = {
        "Imprint": [
            entry("https://x.org/v2", "2022-06-01T00:00:00Z"),  # out of order on purpose
            entry("https://x.org/v1", "2021-01-01T12:00:00Z"),
        ]
    }
    data = declaration(Imprint={"fetch": "https://x.org/v3", "select": "main"})
    return parse_service("Foo", data, path=PATH, history=history)


def test_history_entries_are_sorted_by_valid_until() -> None:
    """Entries become Terms with valid_until, earliest first, whatever the file order."""
    imprint = service_with_history().history["Imprint"]

    assert [(t.documents[0].location, t.valid_until) for t in imprint] == [
        ("https://x.org/v1", datetime(2021, 1, 1, 12, tzinfo=UTC)),
        ("https://x.org/v2", datetime(2022, 6, 1, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (datetime(2020, 1, 1, tzinfo=UTC), "https://x.org/v1"),
        (datetime(2021, 1, 1, 12, tzinfo=UTC), "https://x.org/v1"),  # validUntil is inclusive
        (datetime(2021, 1, 1, 12, 0, 1, tzinfo=UTC), "https://x.org/v2"),
        (datetime(2022, 6, 1, tzinfo=UTC), "https://x.org/v2"),
        (datetime(2022, 6, 1, 0, 0, 1, tzinfo=UTC), "https://x.org/v3"),
        (datetime(2021, 1, 1, 12), "https://x.org/v1"),  # a naive date is UTC
    ],
)
def test_the_declaration_in_force_is_the_first_entry_not_yet_expired(date: datetime, expected: str) -> None:
    """date <= validUntil picks the entry (boundary included); after the last one, the current terms."""
    terms = terms_in_force(service_with_history(), "Imprint", date)

    assert terms.documents[0].location == expected


def test_a_terms_type_only_in_history_has_nothing_in_force_after_it() -> None:
    """Terms no longer declared raise KeyError once their last entry has expired."""
    service = parse_service(
        "Foo",
        declaration(Imprint={"fetch": "https://x.org/", "select": "p"}),
        path=PATH,
        history={"Privacy Policy": [entry("https://x.org/old", "2020-01-01T00:00:00Z")]},
    )

    assert (
        terms_in_force(service, "Privacy Policy", datetime(2019, 1, 1, tzinfo=UTC)).type == "Privacy Policy"
    )
    with pytest.raises(KeyError):
        terms_in_force(service, "Privacy Policy", datetime(2021, 1, 1, tzinfo=UTC))


def test_history_accepts_pdf_and_combined_entries() -> None:
    """History entries have the same three forms as current ones, plus validUntil."""
    history = {
        "Imprint": [
            {"fetch": "https://x.org/t.pdf", "validUntil": "2020-01-01T00:00:00.000Z"},
            {
                "combine": [{"fetch": "https://x.org/a"}],
                "select": "p",
                "validUntil": "2021-01-01T00:00:00+02:00",
            },
        ]
    }

    first, second = parse_history("Foo", history, path=HISTORY_PATH)["Imprint"]

    assert first.documents[0].is_pdf_url
    assert second.combined and second.documents[0].id == "a"
    assert second.valid_until == datetime(2020, 12, 31, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("history", "field", "reason"),
    [
        (
            {"Imprint": entry("https://x.org/", "2020-01-01T00:00:00Z")},
            ("Imprint",),
            "must be a list of earlier declarations, each with a validUntil date",
        ),
        (
            {"Imprint": [{"fetch": "https://x.org/", "select": "p"}]},
            ("Imprint", "item 1", "validUntil"),
            "is required",
        ),
        (
            {"Imprint": [entry("https://x.org/", "2020-01-01")]},
            ("Imprint", "item 1", "validUntil"),
            'must be a date and time such as "2024-05-31T12:00:00Z"',
        ),
        (
            {"Imprint": [entry("https://x.org/", "yesterday")]},
            ("Imprint", "item 1", "validUntil"),
            'must be a date and time such as "2024-05-31T12:00:00Z"',
        ),
        (
            {"Imprint": [{"fetch": "https://x.org/", "validUntil": "2020-01-01T00:00:00Z"}]},
            ("Imprint", "item 1", "select"),
            "is required (only a PDF, whose address ends in .pdf, may go without)",
        ),
        (
            {"Imprint": [entry("https://x.org/", "2020-01-01T00:00:00Z") | {"select": ":::"}]},
            ("Imprint", "item 1", "select"),
            "':::' is not a valid CSS selector (or one ota cannot read)",
        ),
    ],
)
def test_history_problems_name_the_history_file_and_field(
    history: Any, field: tuple[str, ...], reason: str
) -> None:
    """A history file is validated like a declaration, and errors name it."""
    with pytest.raises(DeclarationError) as caught:
        parse_history("Foo", history, path=HISTORY_PATH)

    assert caught.value.path == HISTORY_PATH
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_parse_service_names_the_history_file_beside_the_declaration() -> None:
    """History errors found by parse_service point at SERVICE_ID.history.json by default."""
    data = declaration(Imprint={"fetch": "https://x.org/", "select": "p"})

    error = error_of(data, history={"Imprint": {}})

    assert str(error).startswith("declarations/Foo.history.json: Imprint: must be a list")


# -- source document IDs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/legal/terms", "legal-terms"),
        ("https://example.com/en.html", "en"),
        ("https://example.com/terms.backup.html", "terms.backup"),
        ("https://example.com/terms%20of%20service", "terms of service"),
        ("https://example.com/terms%3Aof%3Aservice", "terms_of_service"),
        ("https://openai.com/policies/usage-policies/", "policies-usage-policies"),
        ("https://example.com/", ""),
    ],
)
def test_source_document_ids_of_the_formats_examples(url: str, expected: str) -> None:
    """Every example of OTA-FORMATS §2."""
    assert source_document_id(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com", ""),
        ("https://example.com/a/b.html/", "a-b."),  # OTA slices the extension off the untrimmed path
        ("https://example.com/.html", ".html"),
        ("https://example.com/a/..html", "a-."),
        ("https://example.com/a/..", ""),
        ("https://example.com/a/...", "a-..."),
        ("https://example.com/a.HTML", "a"),
        ("https://example.com/a.aspx", "a.aspx"),  # not a type OTA's mime package knows
        ("https://example.com/a.asp", "a.asp"),
        ("https://example.com/a.jsp", "a.jsp"),
        ("https://example.com/a.php", "a"),
        ("https://example.com/a.xhtml", "a"),
        ("https://example.com/a.md", "a"),
        ("https://example.com/a/../b\\c.php", "b-c"),
        ("https://example.com/a%2Fb.pdf", "a-b"),
        ("https://example.com/é ü.htm?x=1#f", "é ü"),
        ("https://example.com/a.", "a."),
        ("https://example.com/a%3Fb.txt", "a_b"),
        ('https://example.com/a*b|c<d>e"f', "a_b_c_d_e_f"),
        ("https://example.com/x.tar.gz", "x.tar"),
        ("https://example.com/a..html", "a."),
        ("https://example.com/a/.b.html", "a-.b"),
        ("https://example.com/%2e%2e/x", "x"),
        ("https://example.com/a%5Cb.html", "a_b"),
        ("https://example.com/a.b%5Cc", "a.b_c"),
        ("https://example.com//double//slash//", "double-slash"),
        ("https://example.com/a.org", "a"),
        ("https://example.com/privacy.en", "privacy.en"),
        ("https://example.com/policy.html//", "policy.h"),
        ("https://example.com/a.b.c.JSON", "a.b.c"),
        ("https://example.com/legal/privacy-policy.html?lang=fr", "legal-privacy-policy"),
        ("https://example.com/%F0%9F%98%80.html", "😀"),
        ("https://example.com/a%2E.html", "a."),
        ("https://example.com/a.%68tml", "a"),
        ("https://example.com:8080/p/q;r=1", "p-q;r=1"),
        ("http://[::1]/x.html", "x"),
        ("https://example.com/a b/c\td", "a b-cd"),
        ("https://EXAMPLE.com/A/B.Html", "A-B"),
    ],
)
def test_source_document_ids_match_otas_to_the_character(url: str, expected: str) -> None:
    """Expected values were computed by OTA's generateId (Node 20, mime 4.1.2): snapshot names match."""
    assert source_document_id(url) == expected


def test_a_source_document_id_with_invalid_percent_encoding_stays_encoded() -> None:
    """OTA crashes on these; ota keeps the encoded text, which is stable."""
    assert source_document_id("https://example.com/a%E9b") == "a%E9b"


# -- the schema file -----------------------------------------------------------------------------


def test_the_shipped_schema_is_a_valid_2020_12_schema() -> None:
    """Editors and other tools can use ota/declarations/schema/declaration.schema.json as is."""
    schema = declaration_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["termsType"]["enum"]) == STANDARD_TERMS_TYPES


def test_the_schema_accepts_the_example_on_its_own() -> None:
    """Without ota's extra checks, a plain JSON Schema validator accepts valid declarations."""
    validator = jsonschema.Draft202012Validator(declaration_schema())

    assert list(validator.iter_errors(json.loads(json.dumps(BREVO)))) == []
    assert list(validator.iter_errors({"name": "Foo"}))


# -- real declarations ---------------------------------------------------------------------------

COMPAT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "compat-corpus"


@pytest.mark.compat
@pytest.mark.skipif(not COMPAT_CORPUS.is_dir(), reason="needs ../shared/compat-corpus")
def test_real_declarations_parse_and_name_their_snapshots_as_ota_did() -> None:
    """Every declaration of the corpus is valid, and combined documents' IDs match OTA's snapshot files."""
    checked = 0
    for case in sorted(path for path in COMPAT_CORPUS.iterdir() if (path / "case.json").is_file()):
        meta = json.loads((case / "case.json").read_text(encoding="utf-8"))
        data = json.loads((case / "declaration.json").read_text(encoding="utf-8"))
        terms = parse_service(meta["service"], data, path=case / "declaration.json").terms[meta["terms_type"]]
        if meta["multiple_source_documents"]:
            ids = [document.id for document in terms.documents]
            # Snapshot files are named "TERMS TYPE #ID.html" (the " #ID" part absent for an empty ID).
            expected = [Path(name).stem.partition(" #")[2] for name in meta["snapshot_files"]]
            assert ids == expected, case.name
            checked += len(ids)
    assert checked > 0


def test_an_invalid_terms_entry_leaves_the_others_usable() -> None:
    """Not strict: a bad entry (schema or filter) is listed in `invalid`, its neighbours are parsed."""
    data = {
        "name": "Foo",
        "terms": {
            "Imprint": {"fetch": "https://x.org/imprint", "selct": "main"},
            "Privacy Polcy": {"fetch": "https://x.org/privacy", "select": "main"},
            "Terms of Service": {"fetch": "https://x.org/tos", "select": "main", "filter": ["jsOnly"]},
            "Trackers Policy": {"fetch": "https://x.org/cookies", "select": "main", "remvoe": "nav"},
            "Community Guidelines": {"fetch": "https://x.org/rules", "select": "article"},
        },
    }
    service = parse_service("Foo", data, path=PATH, known_filters={"removeQueryParams"}, strict=False)
    assert list(service.terms) == ["Community Guidelines"]
    assert sorted(service.invalid) == ["Imprint", "Privacy Polcy", "Terms of Service", "Trackers Policy"]
    (unknown_type,) = service.invalid["Privacy Polcy"]
    assert "did you mean 'Privacy Policy'?" in str(unknown_type)
    assert [e.field[-1] for e in service.invalid["Imprint"]] == ["select", "selct"]
    (filter_error,) = service.invalid["Terms of Service"]
    assert "unknown filter 'jsOnly'" in str(filter_error)
    with pytest.raises(DeclarationError):  # strict, the default, raises the first problem
        parse_service("Foo", data, path=PATH, known_filters={"removeQueryParams"})


def test_a_problem_of_the_whole_file_still_raises_when_not_strict() -> None:
    """Without a name (or without terms) nothing of the service can be used."""
    with pytest.raises(DeclarationError, match="name"):
        parse_service("Foo", {"terms": {}}, path=PATH, strict=False)
    with pytest.raises(DeclarationError, match="terms"):
        parse_service("Foo", {"name": "Foo", "terms": []}, path=PATH, strict=False)


def test_a_filter_conflict_is_reported_on_the_terms_using_it() -> None:
    """A name defined twice (filters.py and filters.js) is an error where a terms uses it."""
    data = declaration(Imprint={"fetch": "https://x.org/", "select": "p", "filter": ["twice"]})
    service = parse_service(
        "Foo",
        data,
        path=PATH,
        known_filters={"twice"},
        filter_conflicts={"twice": "defined in both Foo.filters.py and Foo.filters.js"},
        strict=False,
    )
    (error,) = service.invalid["Imprint"]
    assert error.field == ("terms", "Imprint", "filter") and "defined in both" in error.reason
